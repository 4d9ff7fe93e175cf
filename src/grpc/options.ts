import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import { MAX_TIMER_MS } from '../duration.js';
import { isRecord, type OptionReader, readOptions } from '../read-options.js';
import { type Instruments, instruments } from '../telemetry/instruments.js';
import { type MeterProviderLike, readMeterProvider } from '../telemetry/meter.js';
import { channelGrpcJs, type GrpcJs, type GrpcJsChannelModule } from './grpc-js-module.js';
import {
  type EjectionClock,
  type EjectionEvent,
  type FailurePercentageConfig,
  type OutlierDetectionConfig,
  type SuccessRateConfig,
  systemClock,
} from './outlier-detection.js';

/**
 * Options of the balanced channel's outlier detection, by gRFC A50's names (durations in ms,
 * or Go's text: `'30s'`); each says its default.
 *
 * A backend is taken out of picking, even while discovery still lists it, when its calls
 * fail for its sake (a lost, refused or reset connection, or the status UNAVAILABLE,
 * INTERNAL, UNKNOWN or DATA_LOSS, however it came):
 * - `consecutiveFailures` times in a row, at once (on by default: Finagle's and Linkerd's
 *   failure accrual, Envoy's consecutive 5xx);
 * - or, every `interval`, by A50's success-rate or failure-percentage ejection over the calls
 *   it ended in that interval (each only when given).
 * OK and any other status reset its failures in a row: NOT_FOUND, INVALID_ARGUMENT and the
 * like are the caller's errors, which the backend answered. Cancellations, deadlines and
 * RESOURCE_EXHAUSTED count neither way.
 *
 * An ejection lasts `min(baseEjectionTime × n, maxEjectionTime)`, `n` counting its recent
 * ejections. A backend whose connection is lost and made again (a restarted server) returns
 * at once.
 *
 * @example
 * ```ts
 * const channel = createBalancedChannel(picker$, {
 *   name: 'greeter',
 *   outlierDetection: {
 *     consecutiveFailures: 3,
 *     failurePercentageEjection: { threshold: 50, minimumHosts: 3, requestVolume: 20 },
 *     interval: '2s',
 *     onEjection: (event) => console.warn(event),
 *   },
 * });
 * ```
 */
export interface OutlierDetectionOptions {
  /** Failures in a row that eject a backend; `Infinity` turns this rule off. Default 5. */
  readonly consecutiveFailures?: number;
  /** How often success-rate and failure-percentage ejection look at the calls. Default 10 s. */
  readonly interval?: number | string;
  /**
   * How long a first ejection lasts; the `n`th one in a row lasts `n` times as long. `n`
   * drops by one for every `baseEjectionTime` the backend spends in picking. Default 30 s.
   */
  readonly baseEjectionTime?: number | string;
  /** The longest an ejection lasts. Default 5 min (or `baseEjectionTime`, if longer). */
  readonly maxEjectionTime?: number | string;
  /**
   * The largest share of the picker's backends ejected at once, in percent (rounded down to
   * whole backends, so a single backend is never ejected at 50 %). Default 50.
   */
  readonly maxEjectionPercent?: number;
  /**
   * gRFC A50's success-rate ejection: every `interval`, among the backends with at least
   * `requestVolume` calls in it (when there are at least `minimumHosts`), ejects each whose
   * success rate is below the mean by more than `stdevFactor / 1000` standard deviations,
   * with a chance of `enforcementPercentage` %. Default: off; when given, A50's defaults
   * (`stdevFactor` 1900, `enforcementPercentage` 100, `minimumHosts` 5, `requestVolume` 100).
   */
  readonly successRateEjection?: {
    readonly stdevFactor?: number;
    readonly enforcementPercentage?: number;
    readonly minimumHosts?: number;
    readonly requestVolume?: number;
  };
  /**
   * gRFC A50's failure-percentage ejection: every `interval`, among the backends with at least
   * `requestVolume` calls in it (when there are at least `minimumHosts`), ejects each whose
   * calls failed more than `threshold` % of the time, with a chance of
   * `enforcementPercentage` %. Default: off; when given, A50's defaults (`threshold` 85,
   * `enforcementPercentage` 100, `minimumHosts` 5, `requestVolume` 50).
   */
  readonly failurePercentageEjection?: {
    readonly threshold?: number;
    readonly enforcementPercentage?: number;
    readonly minimumHosts?: number;
    readonly requestVolume?: number;
  };
  /** Told of every ejection (with the rule) and every return to picking. Default: nobody. */
  readonly onEjection?: (event: EjectionEvent) => void;
  /** The time source, for tests. Default: `Date.now()` and timers that are unref'd. */
  readonly clock?: EjectionClock;
}

/**
 * Options of {@link createBalancedChannel}; each says its default.
 *
 * @example
 * ```ts
 * import { credentials } from '@grpc/grpc-js';
 *
 * const channel = createBalancedChannel(picker$, {
 *   name: 'greeter',
 *   credentials: credentials.createSsl(),
 *   channelOptions: { 'grpc.keepalive_time_ms': 30_000 },
 * });
 * ```
 */
export interface BalancedChannelOptions {
  /**
   * Credentials of every backend connection. Default: insecure
   * (`credentials.createInsecure()` of `@grpc/grpc-js`). With TLS, the name checked against
   * each backend's certificate is the channel's authority, `name` (as for a grpc-js channel
   * to `dns:///<name>`), unless `channelOptions` sets `'grpc.ssl_target_name_override'`.
   * Credentials of another copy of grpc-js than rxlb's make the channel of that copy (see
   * `grpc`).
   */
  readonly credentials?: ChannelCredentials;
  /**
   * The `@grpc/grpc-js` module the channel is built of (`import * as grpc from
   * '@grpc/grpc-js'`), 1.14.0 or later: that of the clients that call through it, so that
   * their errors are nice-grpc `ClientError`s and `retryOnAnotherInstance()` retries
   * them. Needed only when the app has another copy of grpc-js than rxlb (`npm ls
   * @grpc/grpc-js` lists two, e.g. rxlb installed from a folder) and passes no credentials.
   * Default: the module of `credentials` when given, else the one rxlb imports.
   */
  readonly grpc?: GrpcJsChannelModule;
  /**
   * grpc-js channel options (keepalive, message sizes, `'grpc.default_authority'`, a
   * `'grpc.service_config'` with method configs such as retry policies and timeouts, ...).
   * The channel owns two of them: the service config's load-balancing policy (rxlb's picker
   * is the policy, so setting one is an error) and `'grpc.enable_http_proxy'` (backends are
   * reached directly: setting it to 1 is an error). Default: none.
   */
  readonly channelOptions?: ChannelOptions;
  /**
   * The service's name, as messages and `getTarget()` (`rxlb:///<name>`) show it, e.g.
   * `no healthy instance of "greeter"`, and the channel's default authority (the `:authority`
   * of its calls). Default: for messages, the service `consulInstances$` watches when
   * `picker$` comes from it, else `"unnamed"`; for the target and authority, `"unnamed"`.
   */
  readonly name?: string;
  /**
   * Ejects backends whose calls keep failing for their own sake: see
   * {@link OutlierDetectionOptions}. Default: on, with the defaults there; `false` turns it off.
   */
  readonly outlierDetection?: OutlierDetectionOptions | false;
  /**
   * How fast what the channel measures of each backend fades, in ms: its latency estimate
   * (`Backend.latencyMs`, which `peakEwma()` reads) and its recent successes and failures. A
   * sample taken `decayMs` after the previous one moves the estimate 63 % of the way to it,
   * and a backend that gets no call sees its estimate and counts fall by 63 % in that time.
   * Shorter reacts faster to a backend that got faster again, and retries a slow one sooner.
   * Default 10 s, as Finagle and Linkerd.
   */
  readonly decayMs?: number;
  /**
   * Where the channel's metrics go (see docs/metrics.md): an OpenTelemetry
   * `MeterProvider`. Default: the global one of `@opentelemetry/api`, if the application has
   * it (register yours before creating channels); nothing without it.
   */
  readonly meterProvider?: MeterProviderLike;
}

/** Defaults of {@link BalancedChannelOptions}, in one place. */
export const CHANNEL_DEFAULTS = Object.freeze({
  channelOptions: Object.freeze({}) as ChannelOptions,
  decayMs: 10_000,
  outlierDetection: Object.freeze({
    consecutiveFailures: 5,
    interval: 10_000,
    baseEjectionTime: 30_000,
    maxEjectionTime: 300_000,
    maxEjectionPercent: 50,
    successRateEjection: undefined,
    failurePercentageEjection: undefined,
    clock: systemClock,
    random: Math.random,
  }),
  /** gRFC A50's defaults of each rule over intervals, when it is given. */
  successRateEjection: Object.freeze({
    stdevFactor: 1900,
    enforcementPercentage: 100,
    minimumHosts: 5,
    requestVolume: 100,
  }),
  failurePercentageEjection: Object.freeze({
    threshold: 85,
    enforcementPercentage: 100,
    minimumHosts: 5,
    requestVolume: 50,
  }),
});

/** {@link BalancedChannelOptions}, validated and with defaults applied. */
export interface ChannelConfig {
  /** The grpc-js the channel is built of: the `grpc` option's, the credentials', or rxlb's. */
  readonly grpc: GrpcJs;
  readonly credentials: ChannelCredentials;
  readonly channelOptions: ChannelOptions;
  /** Undefined when not given. */
  readonly name: string | undefined;
  readonly decayMs: number;
  /** Undefined when turned off. */
  readonly outlierDetection: OutlierDetectionConfig | undefined;
  readonly metrics: Instruments;
}

const CALLER = 'createBalancedChannel()';
const KNOWN = [
  'credentials',
  'grpc',
  'channelOptions',
  'name',
  'decayMs',
  'outlierDetection',
  'meterProvider',
];
const KNOWN_OUTLIER = [
  'consecutiveFailures',
  'interval',
  'baseEjectionTime',
  'maxEjectionTime',
  'maxEjectionPercent',
  'successRateEjection',
  'failurePercentageEjection',
  'onEjection',
  'clock',
];
const KNOWN_RULE = ['enforcementPercentage', 'minimumHosts', 'requestVolume'];
/** The names of rxlb 0.1, and A50's that took their place. */
const RENAMED: Readonly<Record<string, string>> = {
  baseEjectionMs: 'baseEjectionTime',
  maxEjectionMs: 'maxEjectionTime',
};

/** Validates the options of {@link createBalancedChannel} once, with a `TypeError` naming the option. */
export function resolveChannelConfig(options?: unknown): ChannelConfig {
  const o: OptionReader = readOptions(CALLER, options, KNOWN);
  const { grpc, credentials } = channelGrpcJs(o.raw('grpc'), o.raw('credentials'), (key, what) =>
    o.fail(key, what),
  );
  const channelOptions = o.raw('channelOptions');
  if (channelOptions !== undefined) {
    if (!isRecord(channelOptions)) o.fail('channelOptions', 'an object of grpc-js channel options');
    checkOwnedOptions(o, channelOptions);
  }
  return {
    grpc,
    credentials,
    channelOptions:
      (channelOptions as ChannelOptions | undefined) ?? CHANNEL_DEFAULTS.channelOptions,
    name: o.string('name'),
    decayMs: o.ms('decayMs', { min: 1 }) ?? CHANNEL_DEFAULTS.decayMs,
    outlierDetection: resolveOutlierDetection(o),
    metrics: instruments(readMeterProvider(o)),
  };
}

/** Refuses the channel options that the balanced channel sets itself. */
function checkOwnedOptions(o: OptionReader, channelOptions: Record<string, unknown>): void {
  const proxy = channelOptions['grpc.enable_http_proxy'];
  if (proxy !== undefined && proxy !== 0) {
    o.fail(
      'channelOptions',
      'free of "grpc.enable_http_proxy" (or 0): backends are reached directly',
    );
  }
  const json = channelOptions['grpc.service_config'];
  if (json === undefined) return;
  let config: unknown;
  try {
    config = typeof json === 'string' ? JSON.parse(json) : undefined;
  } catch {
    // reported below
  }
  if (!isRecord(config))
    o.fail('channelOptions', 'with a "grpc.service_config" that is JSON of an object');
  if ('loadBalancingConfig' in config || 'loadBalancingPolicy' in config) {
    o.fail(
      'channelOptions',
      'with a "grpc.service_config" free of loadBalancingConfig and loadBalancingPolicy: the picker is the policy',
    );
  }
}

function resolveOutlierDetection(o: OptionReader): OutlierDetectionConfig | undefined {
  const given = o.raw('outlierDetection');
  if (given === false) return undefined;
  if (given !== undefined && !isRecord(given)) {
    o.fail('outlierDetection', 'an object of options, or false');
  }
  const defaults = CHANNEL_DEFAULTS.outlierDetection;
  if (isRecord(given)) {
    for (const [old, name] of Object.entries(RENAMED)) {
      if (old in given)
        o.unknown(`outlierDetection.${old}`, `(it is "${name}" now, gRFC A50's name)`);
    }
  }
  const d: OptionReader | undefined = o.nested('outlierDetection', KNOWN_OUTLIER);
  if (d === undefined) return { ...defaults, onEjection: undefined };
  const base =
    d.duration('baseEjectionTime', { min: 1, max: MAX_TIMER_MS }) ?? defaults.baseEjectionTime;
  const clock = d.raw('clock');
  if (clock !== undefined && !isClock(clock)) {
    d.fail('clock', 'an object with the functions now() and setTimer()');
  }
  const consecutive = d.raw('consecutiveFailures');
  return {
    consecutiveFailures:
      consecutive === Number.POSITIVE_INFINITY
        ? consecutive
        : (d.number('consecutiveFailures', { min: 1, integer: true }) ??
          defaults.consecutiveFailures),
    interval: d.duration('interval', { min: 1, max: MAX_TIMER_MS }) ?? defaults.interval,
    baseEjectionTime: base,
    maxEjectionTime:
      d.duration('maxEjectionTime', { min: base, max: MAX_TIMER_MS }) ??
      Math.max(defaults.maxEjectionTime, base),
    maxEjectionPercent:
      d.number('maxEjectionPercent', { min: 0, max: 100 }) ?? defaults.maxEjectionPercent,
    successRateEjection: successRateRule(d),
    failurePercentageEjection: failurePercentageRule(d),
    onEjection: d.function<(event: EjectionEvent) => void>('onEjection'),
    clock: isClock(clock) ? clock : defaults.clock,
    random: defaults.random,
  };
}

function successRateRule(d: OptionReader): SuccessRateConfig | undefined {
  const r = d.nested('successRateEjection', ['stdevFactor', ...KNOWN_RULE]);
  if (r === undefined) return undefined;
  const defaults = CHANNEL_DEFAULTS.successRateEjection;
  return {
    stdevFactor: r.number('stdevFactor', { min: 0 }) ?? defaults.stdevFactor,
    ...ruleVolumes(r, defaults),
  };
}

function failurePercentageRule(d: OptionReader): FailurePercentageConfig | undefined {
  const r = d.nested('failurePercentageEjection', ['threshold', ...KNOWN_RULE]);
  if (r === undefined) return undefined;
  const defaults = CHANNEL_DEFAULTS.failurePercentageEjection;
  return {
    threshold: r.number('threshold', { min: 0, max: 100 }) ?? defaults.threshold,
    ...ruleVolumes(r, defaults),
  };
}

/** What both rules over intervals share. */
function ruleVolumes(
  r: OptionReader,
  defaults: { enforcementPercentage: number; minimumHosts: number; requestVolume: number },
) {
  return {
    enforcementPercentage:
      r.number('enforcementPercentage', { min: 0, max: 100 }) ?? defaults.enforcementPercentage,
    minimumHosts: r.number('minimumHosts', { min: 1, integer: true }) ?? defaults.minimumHosts,
    requestVolume: r.number('requestVolume', { min: 1, integer: true }) ?? defaults.requestVolume,
  };
}

function isClock(value: unknown): value is EjectionClock {
  return isRecord(value) && typeof value.now === 'function' && typeof value.setTimer === 'function';
}
