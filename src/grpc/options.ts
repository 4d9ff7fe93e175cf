import { ChannelCredentials, type ChannelOptions, credentials } from '@grpc/grpc-js';
import { MAX_TIMER_MS } from '../duration.js';
import { isRecord } from '../is-record.js';
import {
  type EjectionClock,
  type EjectionEvent,
  type OutlierDetectionConfig,
  systemClock,
} from './outlier-detection.js';

/**
 * Options of the balanced channel's outlier detection. Defaults are in {@link DEFAULTS}.
 *
 * A backend whose calls fail with connection errors `consecutiveFailures` times in a row is
 * taken out of picking for `min(baseEjectionMs × n, maxEjectionMs)`, `n` counting its recent
 * ejections, even while discovery still lists it. Connection errors are UNAVAILABLE statuses
 * that grpc-js made up before any gRPC server answered the call: a refused or reset
 * connection, a dropped one, a refused stream, a proxy's HTTP 502/503/504. A status a
 * server sent, UNAVAILABLE included, never counts; any other answer resets the count.
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
 * Options of {@link createBalancedChannel}. Defaults are in {@link DEFAULTS}.
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
   */
  readonly credentials?: ChannelCredentials;
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
}

/** Defaults of {@link BalancedChannelOptions}, in one place. */
export const DEFAULTS = Object.freeze({
  credentials: () => credentials.createInsecure(),
  channelOptions: Object.freeze({}) as ChannelOptions,
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
  readonly credentials: ChannelCredentials;
  readonly channelOptions: ChannelOptions;
  /** Undefined when not given. */
  readonly name: string | undefined;
  /** Undefined when turned off. */
  readonly outlierDetection: OutlierDetectionConfig | undefined;
}

const CALLER = 'createBalancedChannel()';
const KNOWN = new Set(['credentials', 'channelOptions', 'name', 'outlierDetection']);
const KNOWN_OUTLIER = new Set([
  'consecutiveFailures',
  'baseEjectionMs',
  'maxEjectionMs',
  'maxEjectionPercent',
  'onEjection',
  'clock',
]);

function fail(option: string, expected: string): never {
  throw new TypeError(`${CALLER}: option "${option}" must be ${expected}`);
}

/** Validates the options of {@link createBalancedChannel} once, with a `TypeError` naming the option. */
export function resolveChannelConfig(options: unknown = {}): ChannelConfig {
  if (!isRecord(options)) throw new TypeError(`${CALLER}: options must be an object`);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`${CALLER}: unknown option "${key}"`);
  }
  const { credentials: creds, channelOptions, name, outlierDetection } = options;
  if (creds !== undefined && !(creds instanceof ChannelCredentials)) {
    fail('credentials', 'a ChannelCredentials of @grpc/grpc-js, e.g. credentials.createSsl()');
  }
  if (channelOptions !== undefined && !isRecord(channelOptions)) {
    fail('channelOptions', 'an object of grpc-js channel options');
  }
  if (channelOptions !== undefined) checkOwnedOptions(channelOptions);
  if (name !== undefined && (typeof name !== 'string' || name.trim() === '')) {
    fail('name', 'a non-empty string');
  }
  return {
    credentials: creds ?? DEFAULTS.credentials(),
    channelOptions: (channelOptions as ChannelOptions | undefined) ?? DEFAULTS.channelOptions,
    name: name as string | undefined,
    outlierDetection: resolveOutlierDetection(outlierDetection),
  };
}

/** Refuses the channel options that the balanced channel sets itself. */
function checkOwnedOptions(channelOptions: Record<string, unknown>): void {
  const proxy = channelOptions['grpc.enable_http_proxy'];
  if (proxy !== undefined && proxy !== 0) {
    fail('channelOptions["grpc.enable_http_proxy"]', '0 or absent: backends are reached directly');
  }
  const json = channelOptions['grpc.service_config'];
  if (json === undefined) return;
  let config: unknown;
  try {
    config = typeof json === 'string' ? JSON.parse(json) : undefined;
  } catch {
    // reported below
  }
  if (!isRecord(config)) fail('channelOptions["grpc.service_config"]', 'a JSON object');
  if ('loadBalancingConfig' in config || 'loadBalancingPolicy' in config) {
    fail(
      'channelOptions["grpc.service_config"]',
      'free of loadBalancingConfig and loadBalancingPolicy: the picker is the policy',
    );
  }
}

function number(value: unknown, option: string, fallback: number, min: number, max: number) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    fail(`outlierDetection.${option}`, `a number from ${min} to ${max}`);
  }
  return value;
}

function resolveOutlierDetection(value: unknown): OutlierDetectionConfig | undefined {
  if (value === false) return undefined;
  if (value === undefined) return { ...DEFAULTS.outlierDetection, onEjection: undefined };
  if (!isRecord(value)) fail('outlierDetection', 'an object of options, or false');
  for (const key of Object.keys(value)) {
    if (!KNOWN_OUTLIER.has(key))
      throw new TypeError(`${CALLER}: unknown option "outlierDetection.${key}"`);
  }
  const defaults = DEFAULTS.outlierDetection;
  const failures = value.consecutiveFailures ?? defaults.consecutiveFailures;
  if (!Number.isInteger(failures) || Number(failures) < 1) {
    fail('outlierDetection.consecutiveFailures', 'an integer >= 1');
  }
  const base = number(
    value.baseEjectionMs,
    'baseEjectionMs',
    defaults.baseEjectionMs,
    1,
    MAX_TIMER_MS,
  );
  const max = number(
    value.maxEjectionMs,
    'maxEjectionMs',
    Math.max(defaults.maxEjectionMs, base),
    base,
    MAX_TIMER_MS,
  );
  const percent = number(
    value.maxEjectionPercent,
    'maxEjectionPercent',
    defaults.maxEjectionPercent,
    0,
    100,
  );
  const { onEjection, clock } = value;
  if (onEjection !== undefined && typeof onEjection !== 'function') {
    fail('outlierDetection.onEjection', 'a function');
  }
  if (clock !== undefined && !isClock(clock)) {
    fail('outlierDetection.clock', 'an object with the functions now() and setTimer()');
  }
  return {
    consecutiveFailures: Number(failures),
    baseEjectionMs: base,
    maxEjectionMs: max,
    maxEjectionPercent: percent,
    onEjection: onEjection as OutlierDetectionConfig['onEjection'],
    clock: clock ?? defaults.clock,
  };
}

function isClock(value: unknown): value is EjectionClock {
  return isRecord(value) && typeof value.now === 'function' && typeof value.setTimer === 'function';
}
