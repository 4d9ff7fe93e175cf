import { MAX_TIMER_MS, parseDuration } from '../duration.js';
import { formatAddress, parseAddress } from '../instance.js';
import { isRecord } from '../is-record.js';
import { type AgentServiceRegistration, ConsulClient } from './client.js';
import { type ConsulConnectionOptions, resolveEndpoint } from './connection.js';

/** The gRPC health check Consul runs against a registered instance. */
export interface GrpcCheckOptions {
  /** How often Consul calls `grpc.health.v1.Health/Check`: ms or `"10s"`. Default 10 s. */
  readonly interval?: number | string;
  /** How long one check may take. Default 5 s. */
  readonly timeout?: number | string;
  /** Consul removes the instance once critical for this long. Default 1 minute. */
  readonly deregisterCriticalServiceAfter?: number | string;
  /** The service name to ask the health service about. Default `''` (the whole server). */
  readonly service?: string;
  /** Check over TLS. Default `false`. */
  readonly tls?: boolean;
}

/** Options of {@link registerInstance}. */
export interface RegisterInstanceOptions {
  /** The service name clients watch, e.g. `'greeter'`. */
  readonly name: string;
  /** The port the gRPC server listens on. */
  readonly port: number;
  /**
   * The host clients connect to. Default: none, so Consul serves the node's address; the
   * health check then dials `127.0.0.1`.
   */
  readonly address?: string;
  /** Unique per instance. Default `"<name>-<address or node>-<port>"`. */
  readonly id?: string;
  readonly tags?: readonly string[];
  readonly meta?: Readonly<Record<string, string>>;
  /** Relative weights while passing / warning. Default `{ passing: 1, warning: 1 }`. */
  readonly weights?: { readonly passing?: number; readonly warning?: number };
  /** The gRPC health check; `false` registers none (the instance then always passes). */
  readonly check?: GrpcCheckOptions | false;
  /** Where the Consul agent is; defaults to Consul's environment variables. */
  readonly consul?: ConsulConnectionOptions;
  /** Aborts the registration request. */
  readonly signal?: AbortSignal;
  /** How long one request to the agent may take: ms or `"10s"`. Default 10 s. */
  readonly requestTimeout?: number | string;
}

/** A registered instance. Deregister it on shutdown; `await using` does it for you. */
export interface RegisteredInstance extends AsyncDisposable {
  /** The service id Consul knows the instance by. */
  readonly id: string;
  readonly name: string;
  /**
   * Removes the instance from Consul and releases the connection to the agent. Calling it
   * again does nothing.
   */
  deregister(): Promise<void>;
}

/** Defaults of {@link RegisterInstanceOptions}, in one place. */
export const REGISTRATION_DEFAULTS = Object.freeze({
  interval: '10s',
  timeout: '5s',
  deregisterCriticalServiceAfter: '1m',
  /** Per HTTP request to the agent. */
  requestTimeout: '10s',
} as const);

const CALLER = 'registerInstance()';
const KNOWN = new Set([
  'name',
  'port',
  'address',
  'id',
  'tags',
  'meta',
  'weights',
  'check',
  'consul',
  'signal',
  'requestTimeout',
]);
const CHECK_KEYS = new Set([
  'interval',
  'timeout',
  'deregisterCriticalServiceAfter',
  'service',
  'tls',
]);
const WEIGHT_KEYS = new Set(['passing', 'warning']);

function fail(option: string, expected: string, value: unknown): never {
  const got = typeof value === 'object' && value !== null ? typeof value : JSON.stringify(value);
  throw new TypeError(`${CALLER}: option "${option}" must be ${expected}, got ${got}`);
}

function milliseconds(value: unknown, option: string, fallback: string): number {
  if (value === undefined) return parseDuration(fallback) ?? 0;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0 || ms > MAX_TIMER_MS) {
    fail(option, 'a positive duration (ms or "10s") of at most 24 days', value);
  }
  return Math.round(ms);
}

function duration(value: unknown, option: string, fallback: string): string {
  return value === undefined ? fallback : `${milliseconds(value, option, fallback)}ms`;
}

function knownKeys(value: Record<string, unknown>, known: Set<string>, option: string): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw new TypeError(`${CALLER}: unknown option "${option}.${key}"`);
  }
}

function weight(value: unknown, option: string): number {
  if (value === undefined) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    fail(option, 'an integer >= 1', value);
  }
  return value;
}

function registration(o: RegisterInstanceOptions): AgentServiceRegistration {
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new TypeError(`${CALLER}: unknown option "${key}"`);
  }
  if (typeof o.name !== 'string' || o.name.trim() === '')
    fail('name', 'a non-empty string', o.name);
  if (o.address !== undefined && (typeof o.address !== 'string' || !formatAddress(o.address, 1))) {
    fail('address', 'a host name or IP address', o.address);
  }
  // what the health check dials; formatAddress checks the port too
  const target =
    typeof o.port === 'number' ? formatAddress(o.address ?? '127.0.0.1', o.port) : undefined;
  if (target === undefined) fail('port', 'an integer from 1 to 65535', o.port);
  // Consul wants a bare host: "::1", not "[::1]"
  const host = o.address === undefined ? undefined : parseAddress(target)?.host;
  const id = o.id ?? `${o.name}-${host ?? 'node'}-${o.port}`;
  if (typeof id !== 'string' || id === '') fail('id', 'a non-empty string', id);
  const tags = o.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) {
    fail('tags', 'an array of strings', tags);
  }
  const meta = o.meta ?? {};
  if (!isRecord(meta) || !Object.values(meta).every((v) => typeof v === 'string')) {
    fail('meta', 'an object of strings', meta);
  }
  if (o.weights !== undefined) {
    if (!isRecord(o.weights)) fail('weights', 'an object', o.weights);
    knownKeys(o.weights, WEIGHT_KEYS, 'weights');
  }
  const check = o.check ?? {};
  if (check !== false) {
    if (!isRecord(check)) fail('check', 'an object or false', check);
    knownKeys(check, CHECK_KEYS, 'check');
    if (check.service !== undefined && typeof check.service !== 'string') {
      fail('check.service', 'a string', check.service);
    }
    if (check.tls !== undefined && typeof check.tls !== 'boolean') {
      fail('check.tls', 'a boolean', check.tls);
    }
  }
  return {
    Name: o.name,
    ID: id,
    ...(host !== undefined && { Address: host }),
    Port: o.port,
    Tags: [...tags],
    Meta: { ...meta },
    Weights: {
      Passing: weight(o.weights?.passing, 'weights.passing'),
      Warning: weight(o.weights?.warning, 'weights.warning'),
    },
    ...(check !== false && {
      Check: {
        CheckID: `service:${id}`,
        Name: `gRPC health of ${o.name} at ${target}`,
        GRPC: check.service ? `${target}/${check.service}` : `${target}`,
        GRPCUseTLS: check.tls === true,
        Interval: duration(check.interval, 'check.interval', REGISTRATION_DEFAULTS.interval),
        Timeout: duration(check.timeout, 'check.timeout', REGISTRATION_DEFAULTS.timeout),
        DeregisterCriticalServiceAfter: duration(
          check.deregisterCriticalServiceAfter,
          'check.deregisterCriticalServiceAfter',
          REGISTRATION_DEFAULTS.deregisterCriticalServiceAfter,
        ),
      },
    }),
  };
}

/**
 * Registers a gRPC server with the local Consul agent, with a gRPC health check that Consul
 * runs against it (`grpc.health.v1`, e.g. from `nice-grpc-server-health`), and returns a
 * handle whose `deregister()` removes it.
 *
 * Options are validated at once: a bad one is a synchronous `TypeError` naming it. A
 * failed registration rejects with a {@link ConsulError}.
 *
 * @example
 * ```ts
 * import { createServer } from 'nice-grpc';
 * import { HealthDefinition, HealthServiceImpl } from 'nice-grpc-server-health';
 * import { registerInstance } from 'rxlb';
 *
 * const server = createServer();
 * server.add(HealthDefinition, HealthServiceImpl());
 * server.add(GreeterDefinition, greeterImpl);
 * const port = await server.listen('0.0.0.0:50051');
 *
 * await using registration = await registerInstance({
 *   name: 'greeter',
 *   address: '10.0.0.7',
 *   port,
 *   tags: ['v2'],
 *   check: { interval: '5s', deregisterCriticalServiceAfter: '1m' },
 * });
 * // ... serve; leaving the scope deregisters
 * ```
 */
export function registerInstance(options: RegisterInstanceOptions): Promise<RegisteredInstance> {
  if (!isRecord(options)) throw new TypeError(`${CALLER}: options must be an object`);
  const body = registration(options);
  const endpoint = resolveEndpoint(options.consul ?? {}, CALLER);
  const signal = options.signal ?? new AbortController().signal;
  if (!(signal instanceof AbortSignal)) fail('signal', 'an AbortSignal', signal);
  const timeoutMs = milliseconds(
    options.requestTimeout,
    'requestTimeout',
    REGISTRATION_DEFAULTS.requestTimeout,
  );
  return register(new ConsulClient(endpoint), body, signal, timeoutMs);
}

async function register(
  client: ConsulClient,
  body: AgentServiceRegistration,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<RegisteredInstance> {
  try {
    await client.registerService(body, timeoutMs, signal);
  } catch (error) {
    client.close();
    throw error;
  }
  let done: Promise<void> | undefined;
  const deregister = () => {
    done ??= client
      .deregisterService(body.ID, timeoutMs, new AbortController().signal)
      .finally(() => client.close());
    return done;
  };
  return { id: body.ID, name: body.Name, deregister, [Symbol.asyncDispose]: deregister };
}
