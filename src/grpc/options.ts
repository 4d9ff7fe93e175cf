import { ChannelCredentials, type ChannelOptions, credentials } from '@grpc/grpc-js';

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
   * (`credentials.createInsecure()` of `@grpc/grpc-js`).
   */
  readonly credentials?: ChannelCredentials;
  /** grpc-js channel options applied to every backend's channel. Default: none. */
  readonly channelOptions?: ChannelOptions;
  /**
   * The service's name, as errors and `getTarget()` (`rxlb:///<name>`) show it, e.g.
   * `no healthy instance of "greeter"`. Default `"unnamed"`.
   */
  readonly name?: string;
}

/** Defaults of {@link BalancedChannelOptions}, in one place. */
export const DEFAULTS = Object.freeze({
  credentials: () => credentials.createInsecure(),
  channelOptions: Object.freeze({}) as ChannelOptions,
  name: 'unnamed',
});

/** {@link BalancedChannelOptions}, validated and with defaults applied. */
export interface ChannelConfig {
  readonly credentials: ChannelCredentials;
  readonly channelOptions: ChannelOptions;
  readonly name: string;
}

const CALLER = 'createBalancedChannel()';
const KNOWN = new Set(['credentials', 'channelOptions', 'name']);

function fail(option: string, expected: string): never {
  throw new TypeError(`${CALLER}: option "${option}" must be ${expected}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates the options of {@link createBalancedChannel} once, with a `TypeError` naming the option. */
export function resolveChannelConfig(options: unknown = {}): ChannelConfig {
  if (!isPlainObject(options)) throw new TypeError(`${CALLER}: options must be an object`);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`${CALLER}: unknown option "${key}"`);
  }
  const { credentials: creds, channelOptions, name } = options;
  if (creds !== undefined && !(creds instanceof ChannelCredentials)) {
    fail('credentials', 'a ChannelCredentials of @grpc/grpc-js, e.g. credentials.createSsl()');
  }
  if (channelOptions !== undefined && !isPlainObject(channelOptions)) {
    fail('channelOptions', 'an object of grpc-js channel options');
  }
  if (name !== undefined && (typeof name !== 'string' || name.trim() === '')) {
    fail('name', 'a non-empty string');
  }
  return {
    credentials: creds ?? DEFAULTS.credentials(),
    channelOptions: (channelOptions as ChannelOptions | undefined) ?? DEFAULTS.channelOptions,
    name: name ?? DEFAULTS.name,
  };
}
