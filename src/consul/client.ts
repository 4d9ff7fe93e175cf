/**
 * The one place that talks to the `consul` npm client. It cancels requests through an
 * EventEmitter `ctx` (`ctx.emit('cancel')`) that its type declarations omit, and reports
 * failures as papi errors; this module turns both into `AbortSignal` and {@link ConsulError}
 * so the rest of rxlb never sees them.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import Consul from 'consul';
import { isRecord } from '../read-options.js';
import type { ConsulEndpoint } from './connection.js';
import { ConsulError, notConsulError, type PapiError, toConsulError } from './errors.js';

/** Query parameters of `/v1/health/service/:service`, as the `consul` client takes them. */
export interface HealthServiceQuery {
  readonly service: string;
  readonly passing: boolean;
  readonly tags: readonly string[];
  readonly dc: string | undefined;
  /** `key:value` pairs. */
  readonly nodeMeta: readonly string[];
  readonly filter: string | undefined;
  readonly near: string | undefined;
  readonly consistency: 'default' | 'stale' | 'consistent';
  /** Cluster peer whose imported instances to ask for (`peer=`). */
  readonly peer: string | undefined;
  /** Enterprise namespace (`ns=`). */
  readonly namespace: string | undefined;
  /** Enterprise admin partition (`partition=`). */
  readonly partition: string | undefined;
  /** Blocking: the last index seen (omitted when 0) and the wait in ms. */
  readonly index: number;
  readonly waitMs: number;
}

/** What Consul said besides the body (`X-Consul-*` headers). */
interface QueryMeta {
  /** `X-Consul-Index`; undefined when missing or not a number. */
  readonly index: number | undefined;
  readonly knownLeader: boolean | undefined;
  readonly lastContactMs: number | undefined;
}

interface ConsulAnswer {
  readonly body: unknown;
  readonly meta: QueryMeta;
}

/** papi's per-request context: cancelled by `emit('cancel')`, and asked to return headers. */
interface PapiContext extends EventEmitter {
  includeResponse: boolean;
  /** Set before `emit('cancel')`: a request papi has not sent yet is then refused at once. */
  canceled?: boolean;
}

/** `consul`'s `agent.self()`, with the options it really accepts. */
interface TypedAgent {
  self(options: { token?: string; ctx: PapiContext }): Promise<[http.IncomingMessage, unknown]>;
}

/** A request as papi (the HTTP layer under `consul`) takes it. */
interface PapiRequest {
  name: string;
  path: string;
  params?: Record<string, string>;
  query?: Record<string, string | readonly string[]>;
  type?: 'json';
  body?: unknown;
  headers: Record<string, string>;
  ctx: PapiContext;
}

/** papi's middleware: sees the finished request, passes on its error or its result. */
type PapiMiddleware = (
  request: { err?: PapiError; res?: PapiError['response'] },
  next: (retry: false, error?: unknown, result?: unknown) => void,
) => void;

/**
 * papi's request methods, which `consul` is built on and its .d.ts omits. Used where the
 * `consul` helpers drop fields: `agent.service.register` does not send `Weights`, and
 * `health.service` sends neither `ns` nor `peer`.
 */
interface Papi {
  _put(request: PapiRequest, ...middleware: PapiMiddleware[]): Promise<unknown>;
  _get(request: PapiRequest, ...middleware: PapiMiddleware[]): Promise<unknown>;
}

/** `consul`'s `utils.body` with `includeResponse`: `[response, body]`, or the error. */
const withBody: PapiMiddleware = (request, next) => {
  if (request.err) {
    if (request.res) request.err.response = request.res;
    next(false, request.err);
  } else {
    next(false, undefined, [request.res, request.res?.body]);
  }
};

/**
 * The query string of a health query, as `consul`'s `health.service()` builds it, with what
 * it leaves out (`ns`, `peer`).
 */
function healthQueryParameters(query: HealthServiceQuery): Record<string, string | string[]> {
  return {
    ...(query.tags.length > 0 && { tag: [...query.tags] }),
    ...(query.passing && { passing: 'true' }),
    ...(query.dc !== undefined && { dc: query.dc }),
    ...(query.peer !== undefined && { peer: query.peer }),
    ...(query.namespace !== undefined && { ns: query.namespace }),
    ...(query.partition !== undefined && { partition: query.partition }),
    ...(query.consistency === 'stale' && { stale: '1' }),
    ...(query.consistency === 'consistent' && { consistent: '1' }),
    ...(query.index > 0 && { index: String(query.index), wait: `${query.waitMs}ms` }),
    ...(query.near !== undefined && { near: query.near }),
    ...(query.nodeMeta.length > 0 && { 'node-meta': [...query.nodeMeta] }),
    ...(query.filter !== undefined && { filter: query.filter }),
  };
}

/**
 * Keeps the response on errors, as `consul`'s own helpers do, so statuses can be read; a
 * success resolves with the response, so that who answered can be checked.
 */
const emptyResult: PapiMiddleware = (request, next) => {
  if (request.err) {
    if (request.res) request.err.response = request.res;
    next(false, request.err);
  } else {
    next(false, undefined, request.res);
  }
};

/** A service registration, in the JSON shape of `PUT /v1/agent/service/register`. */
export interface AgentServiceRegistration {
  readonly Name: string;
  readonly ID: string;
  readonly Address?: string;
  readonly Port: number;
  readonly Tags: readonly string[];
  readonly Meta: Readonly<Record<string, string>>;
  readonly Weights: { readonly Passing: number; readonly Warning: number };
  readonly Check?: {
    readonly CheckID: string;
    readonly Name: string;
    readonly GRPC: string;
    readonly GRPCUseTLS: boolean;
    readonly Interval: string;
    readonly Timeout: string;
    readonly DeregisterCriticalServiceAfter: string;
  };
}

/** How a client's requests weigh on the process. */
export interface ClientOptions {
  /**
   * `false`: its sockets and timers never keep the process alive, as those of grpc-js's own
   * resolvers do not (the watches of `consul:` channels). Default `true`: a request in flight
   * keeps it alive, as any Node request does.
   */
  readonly keepsProcessAlive?: boolean;
}

/** What Node's agents hand over as a `stream.Duplex`: a `net.Socket` or a `tls.TLSSocket`. */
const unref = (socket: unknown) => (socket as { unref(): void } | undefined)?.unref();

/**
 * Makes `agent`'s sockets leave the process free to exit: new ones, and kept-alive ones taken
 * again, which Node refs for their request.
 */
function unrefSockets(agent: http.Agent): http.Agent {
  const create = agent.createConnection;
  const reuse = agent.reuseSocket;
  agent.createConnection = function (this: http.Agent, ...args) {
    const socket = create.apply(this, args);
    unref(socket);
    return socket;
  };
  agent.reuseSocket = function (this: http.Agent, socket, request) {
    reuse.call(this, socket, request);
    unref(socket);
  };
  return agent;
}

/**
 * A `consul` client bound to one endpoint, with its own keep-alive agent. Each request's
 * timeout is the client's own timer, not papi's, so that it can be unref'd with the sockets.
 */
export class ConsulClient {
  readonly #endpoint: ConsulEndpoint;
  readonly #consul: Consul;
  readonly #agent: http.Agent;
  readonly #keepsProcessAlive: boolean;

  constructor(endpoint: ConsulEndpoint, options: ClientOptions = {}) {
    this.#endpoint = endpoint;
    this.#keepsProcessAlive = options.keepsProcessAlive ?? true;
    const agent = endpoint.secure
      ? new https.Agent({ keepAlive: true, ...endpoint.tls })
      : new http.Agent({ keepAlive: true });
    this.#agent = this.#keepsProcessAlive ? agent : unrefSockets(agent);
    this.#consul = new Consul({
      host: endpoint.host,
      port: endpoint.port,
      secure: endpoint.secure,
      agent: this.#agent,
    });
  }

  /** `http(s)://host:port` of Consul, for messages. */
  get origin(): string {
    return this.#endpoint.origin;
  }

  /**
   * One health query. Rejects with a {@link ConsulError}, or with the signal's reason when
   * aborted (the socket is destroyed at once, so the server sees the request end).
   */
  async healthService(
    query: HealthServiceQuery,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<ConsulAnswer> {
    const ctx = newContext();
    const request: PapiRequest = {
      name: 'health.service',
      path: '/health/service/{service}',
      params: { service: query.service },
      query: healthQueryParameters(query),
      headers: this.#headers(),
      ctx,
    };
    const papi = this.#consul as unknown as Papi;
    const where = query.dc === undefined ? '' : ` in ${query.dc}`;
    const peer = query.peer === undefined ? '' : ` from peer ${query.peer}`;
    const what = `health query for "${query.service}"${peer}${where}`;
    const [res, body] = (await this.#withSignal(ctx, signal, what, timeoutMs, () =>
      papi._get(request, withBody),
    )) as [http.IncomingMessage, unknown];
    this.#checkConsul(res, body, what, true);
    return { body, meta: queryMeta(res.headers) };
  }

  /**
   * The agent's datacenter: `Config.Datacenter` of `GET /v1/agent/self` (ACL: `agent:read`).
   * Rejects as {@link healthService} does.
   */
  async agentDatacenter(timeoutMs: number, signal: AbortSignal): Promise<string> {
    const ctx = newContext();
    const token = this.#endpoint.token;
    const agent = this.#consul.agent as unknown as TypedAgent;
    const what = 'GET /v1/agent/self';
    const [res, body] = await this.#withSignal(ctx, signal, what, timeoutMs, () =>
      agent.self({ ctx, ...(token !== undefined && { token }) }),
    );
    this.#checkConsul(res, body, what, true);
    const config = isRecord(body) ? body.Config : undefined;
    const datacenter = isRecord(config) ? config.Datacenter : undefined;
    if (typeof datacenter !== 'string' || datacenter === '') {
      throw new ConsulError(
        'ERR_CONSUL_BAD_RESPONSE',
        `${what} at ${this.origin} returned no Config.Datacenter`,
      );
    }
    return datacenter;
  }

  /** `PUT /v1/agent/service/register`. */
  async registerService(
    registration: AgentServiceRegistration,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    await this.#put(
      {
        name: 'agent.service.register',
        path: '/agent/service/register',
        type: 'json',
        body: registration,
      },
      `registration of "${registration.ID}"`,
      timeoutMs,
      signal,
    );
  }

  /** `PUT /v1/agent/service/deregister/:id`. */
  async deregisterService(id: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    await this.#put(
      { name: 'agent.service.deregister', path: '/agent/service/deregister/{id}', params: { id } },
      `deregistration of "${id}"`,
      timeoutMs,
      signal,
    );
  }

  async #put(
    request: Pick<PapiRequest, 'name' | 'path' | 'params' | 'type' | 'body'>,
    what: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    const ctx = newContext();
    const headers = this.#headers();
    const papi = this.#consul as unknown as Papi;
    const res = (await this.#withSignal(ctx, signal, what, timeoutMs, () =>
      papi._put({ ...request, headers, ctx }, emptyResult),
    )) as (http.IncomingMessage & { body?: unknown }) | undefined;
    if (res) this.#checkConsul(res, res.body, what, false);
  }

  /** Throws when the answer to `what` cannot have come from Consul: see `notConsulError`. */
  #checkConsul(res: http.IncomingMessage, body: unknown, what: string, expectsBody: boolean): void {
    const { origin, token } = this.#endpoint;
    const error = notConsulError(res, body, { what, origin, token, expectsBody });
    if (error) throw error;
  }

  /** The token travels only in this header. */
  #headers(): Record<string, string> {
    const token = this.#endpoint.token;
    return token === undefined ? {} : { 'x-consul-token': token };
  }

  /** Closes the keep-alive sockets. Requests in flight are aborted by their signals. */
  close(): void {
    this.#consul.destroy();
  }

  /** Runs one request: cancelled by `signal` or after `timeoutMs`, its failure a ConsulError. */
  async #withSignal<T>(
    ctx: PapiContext,
    signal: AbortSignal,
    what: string,
    timeoutMs: number,
    run: () => Promise<T>,
  ): Promise<T> {
    signal.throwIfAborted();
    const cancel = () => {
      ctx.canceled = true;
      ctx.emit('cancel');
    };
    signal.addEventListener('abort', cancel, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      cancel();
    }, timeoutMs);
    if (!this.#keepsProcessAlive) timer.unref();
    const { origin, token } = this.#endpoint;
    try {
      return await run();
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (timedOut) throw new ConsulError('ERR_CONSUL_TIMEOUT', `${what} at ${origin} timed out`);
      throw toConsulError(error, `${what} at ${origin}`, token);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', cancel);
    }
  }
}

function newContext(): PapiContext {
  return Object.assign(new EventEmitter(), { includeResponse: true });
}

function header(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function queryMeta(headers: http.IncomingHttpHeaders): QueryMeta {
  const indexText = header(headers, 'x-consul-index');
  const index = indexText !== undefined && /^\d+$/.test(indexText) ? Number(indexText) : undefined;
  const leader = header(headers, 'x-consul-knownleader');
  const contact = header(headers, 'x-consul-lastcontact');
  return {
    index: index !== undefined && Number.isSafeInteger(index) ? index : undefined,
    knownLeader: leader === undefined ? undefined : leader === 'true',
    lastContactMs: contact !== undefined && /^\d+$/.test(contact) ? Number(contact) : undefined,
  };
}
