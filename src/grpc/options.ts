import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import { isRecord, type OptionReader, readOptions } from '../read-options.js';
import { type Instruments, instruments } from '../telemetry/instruments.js';
import { type MeterProviderLike, readMeterProvider } from '../telemetry/meter.js';
import { channelGrpcJs, type GrpcJs, type GrpcJsChannelModule } from './grpc-js-module.js';
import {
  type EjectionClock,
  type EjectionEvent,
  type OutlierDetectionConfig,
  systemClock,
} from './outlier-detection.js';

/**
 * Options of the balanced channel's outlier detection; each says its default.
 *
 * A backend whose calls fail with connection errors `consecutiveFailures` times in a row is
 * taken out of picking for `min(baseEjectionMs × n, maxEjectionMs)`, `n` counting its recent
 * ejections, even while discovery still lists it. A connection error is an UNAVAILABLE that
 * is not a gRPC server's Trailers-Only status, while the backend's connection is READY: a
 * refused stream, a reset or dropped connection, a proxy's HTTP 502/503/504. OK and any other
 * status a server sent reset the count; deadlines and cancellations do neither. A backend
 * whose connection is lost and made again (a restarted server) returns at once.
 *
 * @example
 * ```ts
 * const channel = createBalancedChannel(picker$, {
 *   name: 'greeter',
 *   outlierDetection: {
 *     consecutiveFailures: 3,
 *     baseEjectionMs: 10_000,
 *     onEjection: (event) => console.warn(event),
 *   },
 * });
 * ```
 */
export interface OutlierDetectionOptions {
  /** Connection failures in a row that eject a backend. Default 5. */
  readonly consecutiveFailures?: number;
  /**
   * How long a first ejection lasts, in ms; the `n`th one in a row lasts `n` times as long.
   * `n` drops by one for every `baseEjectionMs` the backend spends in picking. Default 30 s.
   */
  readonly baseEjectionMs?: number;
  /** The longest an ejection lasts, in ms. Default 5 min (or `baseEjectionMs`, if longer). */
  readonly maxEjectionMs?: number;
  /**
   * The largest share of the picker's backends ejected at once, in percent (rounded down to
   * whole backends, so a single backend is never ejected at 50 %). Default 50.
   */
  readonly maxEjectionPercent?: number;
  /** Told of every ejection and every return to picking. Default: nobody. */
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
   * Ejects backends whose calls keep failing with connection errors: see
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
   * Where the channel's metrics go (see README's "Metrics"): an OpenTelemetry
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
    baseEjectionMs: 30_000,
    maxEjectionMs: 300_000,
    maxEjectionPercent: 50,
    clock: systemClock,
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
  'baseEjectionMs',
  'maxEjectionMs',
  'maxEjectionPercent',
  'onEjection',
  'clock',
];

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
  const d: OptionReader | undefined = o.nested('outlierDetection', KNOWN_OUTLIER);
  if (d === undefined) return { ...defaults, onEjection: undefined };
  const base = d.ms('baseEjectionMs', { min: 1 }) ?? defaults.baseEjectionMs;
  const clock = d.raw('clock');
  if (clock !== undefined && !isClock(clock)) {
    d.fail('clock', 'an object with the functions now() and setTimer()');
  }
  return {
    consecutiveFailures:
      d.number('consecutiveFailures', { min: 1, integer: true }) ?? defaults.consecutiveFailures,
    baseEjectionMs: base,
    maxEjectionMs: d.ms('maxEjectionMs', { min: base }) ?? Math.max(defaults.maxEjectionMs, base),
    maxEjectionPercent:
      d.number('maxEjectionPercent', { min: 0, max: 100 }) ?? defaults.maxEjectionPercent,
    onEjection: d.function<(event: EjectionEvent) => void>('onEjection'),
    clock: isClock(clock) ? clock : defaults.clock,
  };
}

function isClock(value: unknown): value is EjectionClock {
  return isRecord(value) && typeof value.now === 'function' && typeof value.setTimer === 'function';
}
