import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import { MAX_TIMER_MS } from '../duration.js';
import { describe, isRecord, OptionReader, readOptions } from '../read-options.js';
import { type Instruments, instruments } from '../telemetry/instruments.js';
import { type MeterProviderLike, readMeterProvider } from '../telemetry/meter.js';
import { channelGrpcJs, type GrpcJs, type GrpcJsChannelModule } from './grpc-js-module.js';
import type { HealthCheckConfig, HealthEvent } from './health-watch.js';
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
 * Options of the balanced channel's client-side health checking (gRFC A17): one
 * `grpc.health.v1.Health/Watch` stream on each backend's connection, and calls only to the
 * backends that answer `SERVING` (see {@link BackendHealth}). gRPC's own switch is the service
 * config's `healthCheckConfig: { serviceName }`, which the channel reads too.
 *
 * @example
 * ```ts
 * const channel = createBalancedChannel(picker$, {
 *   name: 'greeter',
 *   healthCheck: { serviceName: 'greeter.v1.Greeter', onHealthChange: (e) => console.info(e) },
 * });
 * ```
 */
export interface HealthCheckOptions {
  /**
   * The service name the Watch asks about (`HealthCheckRequest.service`). Default: the service
   * config's `healthCheckConfig.serviceName` if it has one, else `''`, the whole server (what
   * `registerInstance()`'s Consul check asks by default).
   */
  readonly serviceName?: string;
  /** Told of every change of a backend's health (see {@link HealthEvent}). Default: nobody. */
  readonly onHealthChange?: (event: HealthEvent) => void;
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
   * `'grpc.service_config'` with method configs such as retry policies and timeouts, or
   * `healthCheckConfig: { serviceName }`, which turns on health checking as in gRPC: see
   * `healthCheck`, ...).
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
   * Client-side health checking (gRFC A17): a backend takes calls only while its health
   * service says `SERVING`. See {@link HealthCheckOptions}. Default: off, as in gRPC, unless
   * the service config in `channelOptions['grpc.service_config']` has a `healthCheckConfig`;
   * `false` turns it off even then (A17's switch on the client's side).
   */
  readonly healthCheck?: HealthCheckOptions | false;
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
  /** Health checking, when on: gRPC's connection backoff between Watch attempts (A17). */
  healthCheck: Object.freeze({
    serviceName: '',
    backoff: Object.freeze({ initialMs: 1_000, multiplier: 1.6, jitter: 0.2, maxMs: 120_000 }),
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
  /** Undefined when off (the default). */
  readonly healthCheck: HealthCheckConfig | undefined;
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
  'healthCheck',
  'meterProvider',
];
const KNOWN_HEALTH = ['serviceName', 'onHealthChange'];
/** Where the service config's health checking sits, as messages name it. */
const SERVICE_CONFIG_HEALTH = "channelOptions['grpc.service_config'].healthCheckConfig";
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
  let serviceConfig: Record<string, unknown> | undefined;
  if (channelOptions !== undefined) {
    if (!isRecord(channelOptions)) o.fail('channelOptions', 'an object of grpc-js channel options');
    serviceConfig = checkOwnedOptions(o, channelOptions);
  }
  return {
    grpc,
    credentials,
    channelOptions:
      (channelOptions as ChannelOptions | undefined) ?? CHANNEL_DEFAULTS.channelOptions,
    name: o.string('name'),
    decayMs: o.ms('decayMs', { min: 1 }) ?? CHANNEL_DEFAULTS.decayMs,
    outlierDetection: resolveOutlierDetection(o),
    healthCheck: resolveHealthCheck(o, serviceConfig),
    metrics: instruments(readMeterProvider(o)),
  };
}

/**
 * The config of a plain grpc-js channel whose service config chose one of rxlb's policies
 * (see `registerLoadBalancingPolicies()`): the balanced channel's defaults (outlier detection
 * on, `decayMs`, no metrics), and health checking when the channel's service config (its
 * `grpc.service_config` option, `serviceConfig` here) has a `healthCheckConfig`, read as gRPC
 * reads it: unknown fields ignored. Throws a `TypeError` for a `healthCheckConfig` that is not
 * an object or whose `serviceName` is not a string.
 */
export function policyChannelConfig(grpc: GrpcJs, serviceConfig: unknown): ChannelConfig {
  const base = resolveChannelConfig({ grpc });
  let parsed: unknown;
  try {
    parsed = typeof serviceConfig === 'string' ? JSON.parse(serviceConfig) : undefined;
  } catch {
    // grpc-js refuses the channel before any policy is made
  }
  const health = isRecord(parsed) ? parsed.healthCheckConfig : undefined;
  if (health === undefined || health === null) return base;
  if (!isRecord(health)) {
    throw new TypeError(
      `service config healthCheckConfig must be an object, got ${describe(health)}`,
    );
  }
  const { serviceName } = health;
  if (serviceName !== undefined && typeof serviceName !== 'string') {
    throw new TypeError(
      `service config healthCheckConfig "serviceName" must be a string, got ${describe(serviceName)}`,
    );
  }
  const defaults = CHANNEL_DEFAULTS.healthCheck;
  return {
    ...base,
    healthCheck: {
      serviceName: serviceName ?? defaults.serviceName,
      onHealthChange: undefined,
      backoff: defaults.backoff,
      clock: systemClock,
      random: Math.random,
    },
  };
}

/**
 * Refuses the channel options that the balanced channel sets itself; returns the service
 * config, parsed, when there is one.
 */
function checkOwnedOptions(
  o: OptionReader,
  channelOptions: Record<string, unknown>,
): Record<string, unknown> | undefined {
  const proxy = channelOptions['grpc.enable_http_proxy'];
  if (proxy !== undefined && proxy !== 0) {
    o.complain(
      'channelOptions',
      `sets "grpc.enable_http_proxy" to ${describe(proxy)}: backends are reached directly, leave it out (or 0)`,
    );
  }
  const json = channelOptions['grpc.service_config'];
  if (json === undefined) return undefined;
  let config: unknown;
  try {
    config = typeof json === 'string' ? JSON.parse(json) : undefined;
  } catch {
    // reported below
  }
  if (!isRecord(config)) {
    o.complain(
      'channelOptions',
      typeof json === 'string'
        ? 'has a "grpc.service_config" that is not JSON of an object'
        : `has a "grpc.service_config" of type ${typeof json}: it must be a string, JSON of an object`,
    );
  }
  for (const key of ['loadBalancingConfig', 'loadBalancingPolicy']) {
    if (key in config) {
      o.complain(
        'channelOptions',
        `has a "grpc.service_config" with ${key}: leave it out, the picker is the policy`,
      );
    }
  }
  return config;
}

/**
 * Health checking: on when the service config has a `healthCheckConfig` (gRPC's switch) or
 * `healthCheck` is an object; `healthCheck: false` turns it off whatever the service config
 * says. A service name given both ways must be the same.
 */
function resolveHealthCheck(
  o: OptionReader,
  serviceConfig: Record<string, unknown> | undefined,
): HealthCheckConfig | undefined {
  const fromConfig = serviceConfigHealth(o.caller, serviceConfig);
  const given = o.raw('healthCheck');
  if (given === false) return undefined;
  if (given !== undefined && !isRecord(given)) {
    o.fail('healthCheck', 'an object of options, or false');
  }
  const h = o.nested('healthCheck', KNOWN_HEALTH);
  if (h === undefined && fromConfig === undefined) return undefined;
  const serviceName = h === undefined ? undefined : serviceNameOf(h);
  if (serviceName !== undefined && fromConfig !== undefined && serviceName !== fromConfig) {
    h?.complain(
      'serviceName',
      `is ${JSON.stringify(serviceName)} but ${SERVICE_CONFIG_HEALTH}.serviceName is ${JSON.stringify(fromConfig)}: give it once`,
    );
  }
  const defaults = CHANNEL_DEFAULTS.healthCheck;
  return {
    serviceName: serviceName ?? fromConfig ?? defaults.serviceName,
    onHealthChange: h?.function<(event: HealthEvent) => void>('onHealthChange'),
    backoff: defaults.backoff,
    clock: systemClock,
    random: Math.random,
  };
}

/**
 * The service name of the service config's `healthCheckConfig`, `''` when it has none;
 * undefined when there is no `healthCheckConfig`.
 */
function serviceConfigHealth(
  caller: string,
  serviceConfig: Record<string, unknown> | undefined,
): string | undefined {
  const config = serviceConfig?.healthCheckConfig;
  if (config === undefined) return undefined;
  const prefix = `${SERVICE_CONFIG_HEALTH}.`;
  const reader = OptionReader.read(caller, config, ['serviceName'], prefix);
  return serviceNameOf(reader) ?? '';
}

function serviceNameOf(reader: OptionReader): string | undefined {
  return reader.parse('serviceName', "a string ('' for the whole server)", (value) =>
    typeof value === 'string' ? value : undefined,
  );
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
