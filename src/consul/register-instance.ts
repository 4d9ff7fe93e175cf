import { hostname } from 'node:os';
import { MAX_TIMER_MS } from '../duration.js';
import { formatAddress, parseAddress } from '../instance.js';
import { isRecord, type OptionReader, readOptions } from '../read-options.js';
import { type AgentServiceRegistration, ConsulClient } from './client.js';
import { CONNECTION_KEYS, type ConsulConnectionOptions, resolveEndpoint } from './connection.js';
import { ConsulError } from './errors.js';

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
  /**
   * Unique per instance. Default `"<name>-<address>-<port>"`, or without `address`
   * `"<name>-<host>-<port>"`, `<host>` being this machine's name (`os.hostname()`), which
   * Consul's agent also takes as its node name by default.
   */
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
   * Removes the instance from Consul and releases the connection to the agent. An instance
   * Consul has removed already (404, `Unknown service ID`) counts as removed. Calling it
   * again does nothing.
   */
  deregister(): Promise<void>;
}

/** Defaults of {@link RegisterInstanceOptions}, in one place. */
const REGISTRATION_DEFAULTS = Object.freeze({
  interval: 10_000,
  timeout: 5_000,
  deregisterCriticalServiceAfter: 60_000,
  /** Per HTTP request to the agent. */
  requestTimeout: 10_000,
} as const);

const CALLER = 'registerInstance()';
const KNOWN = [
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
];
const CHECK_KEYS = ['interval', 'timeout', 'deregisterCriticalServiceAfter', 'service', 'tls'];
const WEIGHT_KEYS = ['passing', 'warning'];
/** A duration Consul takes and a timer honours: from 1 ms to about 24 days. */
const DURATION = { min: 1, max: MAX_TIMER_MS } as const;

/** This machine's name, as an id may hold it (no `/`, which Consul's URLs would split on). */
function thisHost(): string {
  return hostname().replace(/[^A-Za-z0-9._-]+/g, '-');
}

/** A duration as Consul's agent takes it: whole milliseconds, `"1500ms"`. */
function consulDuration(ms: number): string {
  return `${Math.round(ms)}ms`;
}

function registration(o: OptionReader): AgentServiceRegistration {
  const name = o.string('name') ?? o.missing('name', 'a non-empty string');
  const address = o.string('address');
  if (address !== undefined && !formatAddress(address, 1)) {
    o.fail('address', 'a host name or IP address');
  }
  const port = o.raw('port') ?? o.missing('port', 'an integer from 1 to 65535');
  // what the health check dials; formatAddress checks the port too
  const target = typeof port === 'number' ? formatAddress(address ?? '127.0.0.1', port) : undefined;
  if (target === undefined) o.fail('port', 'an integer from 1 to 65535');
  // Consul wants a bare host: "::1", not "[::1]"
  const host = address === undefined ? undefined : parseAddress(target)?.host;
  const id = o.string('id') ?? [name, host ?? thisHost(), port].filter(Boolean).join('-');
  const tags = o.raw('tags') ?? [];
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) {
    o.fail('tags', 'an array of strings');
  }
  const meta = o.raw('meta') ?? {};
  if (!isRecord(meta) || !Object.values(meta).every((v) => typeof v === 'string')) {
    o.fail('meta', 'an object of strings');
  }
  const weights = o.nested('weights', WEIGHT_KEYS);
  const weight = (key: string) => weights?.number(key, { min: 1, integer: true }) ?? 1;
  if (o.has('check') && o.raw('check') !== false && !isRecord(o.raw('check'))) {
    o.fail('check', 'an object or false');
  }
  const check = o.raw('check') === false ? undefined : (o.nested('check', CHECK_KEYS) ?? noOptions);
  const service = check?.raw('service');
  if (service !== undefined && typeof service !== 'string') check?.fail('service', 'a string');
  const ms = (key: string, fallback: number) =>
    consulDuration(check?.duration(key, DURATION) ?? fallback);
  return {
    Name: name,
    ID: id,
    ...(host !== undefined && { Address: host }),
    Port: port as number,
    Tags: [...tags],
    Meta: { ...(meta as Record<string, string>) },
    Weights: { Passing: weight('passing'), Warning: weight('warning') },
    ...(check && {
      Check: {
        CheckID: `service:${id}`,
        Name: `gRPC health of ${name} at ${target}`,
        GRPC: service ? `${target}/${service}` : `${target}`,
        GRPCUseTLS: check.boolean('tls') === true,
        Interval: ms('interval', REGISTRATION_DEFAULTS.interval),
        Timeout: ms('timeout', REGISTRATION_DEFAULTS.timeout),
        DeregisterCriticalServiceAfter: ms(
          'deregisterCriticalServiceAfter',
          REGISTRATION_DEFAULTS.deregisterCriticalServiceAfter,
        ),
      },
    }),
  };
}

const noOptions: OptionReader = readOptions(CALLER, {}, []);

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
  if (options === undefined) throw new TypeError(`${CALLER}: options must be an object`);
  const o: OptionReader = readOptions(CALLER, options, KNOWN);
  const body = registration(o);
  const endpoint = resolveEndpoint(o.nested('consul', CONNECTION_KEYS) ?? noOptions);
  const signal = o.raw('signal') ?? new AbortController().signal;
  if (!(signal instanceof AbortSignal)) o.fail('signal', 'an AbortSignal');
  const timeoutMs = Math.round(
    o.duration('requestTimeout', DURATION) ?? REGISTRATION_DEFAULTS.requestTimeout,
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
      .catch((error: unknown) => {
        // Consul already reaped it (deregisterCriticalServiceAfter, an agent restart): gone
        // is what deregister() asks for, so that a shutdown never fails on it.
        if (error instanceof ConsulError && error.statusCode === 404) return;
        throw error;
      })
      .finally(() => client.close());
    return done;
  };
  return { id: body.ID, name: body.Name, deregister, [Symbol.asyncDispose]: deregister };
}
