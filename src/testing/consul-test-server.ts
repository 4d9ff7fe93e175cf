import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from './agent.js';
import { dispatch } from './dispatch.js';
import { type Fault, FaultQueue, STATUS_TEXT } from './faults.js';
import {
  type ConsulTestServerTls,
  createListener,
  type Listener,
  validateTls,
} from './listener.js';
import {
  CHECK_STATUSES,
  type CheckStatus,
  RegistrationError,
  type ServiceDefinition,
} from './registration.js';
import type { Reply } from './routes.js';

/** Options of {@link ConsulTestServer}. */
export interface ConsulTestServerOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** Default `dc1`. */
  readonly datacenter?: string;
  /** The one node's name. Default `rxlb-test-node`. */
  readonly nodeName?: string;
  /** The node's address, used for services registered without one. Default `127.0.0.1`. */
  readonly nodeAddress?: string;
  /** The node's metadata, for `node-meta` queries. */
  readonly nodeMeta?: Readonly<Record<string, string>>;
  /**
   * Turns ACLs on with a default-deny policy: requests need an `X-Consul-Token` (or
   * `Authorization: Bearer`) listed here; an unknown token gets `403 ACL not found`, an
   * anonymous read gets empty results and an anonymous or read-only write gets 403.
   */
  readonly acl?: { readonly tokens: Readonly<Record<string, 'read' | 'write'>> };
  /**
   * Serves HTTPS instead of HTTP, with this key and certificate (PEM). With `requestCert`,
   * clients must present a certificate signed by `ca` (mutual TLS); others are refused.
   * {@link ConsulTestServer.address} then starts with `https://`.
   *
   * @example
   * ```ts
   * const consul = await new ConsulTestServer({ tls: { key, cert, ca, requestCert: true } }).start();
   * consulInstances$('greeter', { address: consul.address, tls: { ca, cert: clientCert, key: clientKey } });
   * ```
   */
  readonly tls?: ConsulTestServerTls;
}

/** A request the server received, for assertions. Never holds more than the request did. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** The raw query string, without `?`. */
  readonly query: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** `performance.now()` when it arrived. */
  readonly receivedAt: number;
  /**
   * `pending` while open; `answered` once the response was sent; `closed-by-client` when the
   * client went away first; `dropped` when a `drop` fault cut it; `stopped` when the server
   * stopped with it open.
   */
  readonly outcome: 'pending' | 'answered' | 'closed-by-client' | 'dropped' | 'stopped';
  /** The status sent, when answered. */
  readonly status: number | undefined;
}

type MutableRecord = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] };

/**
 * A Consul-compatible HTTP server for tests, examples and demos: agent registration with
 * TTL, TCP, HTTP and gRPC checks it really runs, health and catalog queries with Raft-like
 * indexes and real blocking, ACL tokens, and fault injection.
 *
 * @example
 * ```ts
 * import { ConsulTestServer } from 'rxlb/testing';
 *
 * const consul = await new ConsulTestServer().start();
 * consul.registerService({ Name: 'greeter', ID: 'greeter-1', Address: '127.0.0.1', Port: 50051 });
 * consul.inject({ kind: 'status', status: 500, count: 3 }); // the next 3 requests fail
 * const picker$ = consulInstances$('greeter', { address: consul.address }).pipe(diff(), roundRobin());
 * // ...
 * await consul.stop();
 * ```
 */
export class ConsulTestServer {
  readonly #options: ConsulTestServerOptions;
  readonly #agent: Agent;
  readonly #faults = new FaultQueue();
  readonly #requests: MutableRecord[] = [];
  readonly #open = new Set<{ record: MutableRecord; abort: AbortController }>();
  #server: Listener | undefined;
  #port = 0;

  constructor(options: ConsulTestServerOptions = {}) {
    const tokens = options.acl?.tokens;
    if (
      tokens !== undefined &&
      !Object.values(tokens).every((v) => v === 'read' || v === 'write')
    ) {
      throw new TypeError(
        'ConsulTestServer: option "acl.tokens" must map tokens to "read" or "write"',
      );
    }
    if (options.tls !== undefined) validateTls(options.tls);
    this.#options = options;
    this.#agent = new Agent({
      id: randomUUID(),
      name: options.nodeName ?? 'rxlb-test-node',
      address: options.nodeAddress ?? '127.0.0.1',
      datacenter: options.datacenter ?? 'dc1',
      meta: { ...options.nodeMeta },
    });
  }

  /** Starts listening; resolves with the server itself once it accepts connections. */
  async start(): Promise<this> {
    if (this.#server) throw new Error('ConsulTestServer: already started');
    const server = createListener(this.#options.tls, (req, res) => void this.#handle(req, res));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port ?? 0, this.#options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Stops checks, ends open requests and closes every connection. */
  async stop(): Promise<void> {
    this.#agent.close();
    const server = this.#server;
    if (!server) return;
    for (const open of this.#open) {
      open.record.outcome = 'stopped';
      open.abort.abort();
    }
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /**
   * `host:port` (`https://host:port` with `tls`) to give `consulInstances$`'s `address`
   * option or `CONSUL_HTTP_ADDR`.
   */
  get address(): string {
    if (!this.#server) throw new Error('ConsulTestServer: not started');
    const host = this.#options.host ?? '127.0.0.1';
    const hostPort = host.includes(':') ? `[${host}]:${this.#port}` : `${host}:${this.#port}`;
    return this.#options.tls ? `https://${hostPort}` : hostPort;
  }

  /** The last Raft index handed out. */
  get index(): number {
    return this.#agent.catalog.index;
  }

  /** Every request received, in order. */
  get requests(): readonly RecordedRequest[] {
    return this.#requests;
  }

  /** Requests received and not yet answered or closed. */
  get activeRequests(): number {
    return this.#open.size;
  }

  /** Forgets the recorded requests. */
  clearRequests(): void {
    this.#requests.length = 0;
  }

  /** Registers a service as `PUT /v1/agent/service/register` would; returns its id. */
  registerService(definition: ServiceDefinition): string {
    try {
      return this.#agent.register(definition);
    } catch (error) {
      if (error instanceof RegistrationError)
        throw new TypeError(`registerService(): ${error.message}`);
      throw error;
    }
  }

  /** Removes a service and its checks, as `PUT /v1/agent/service/deregister/:id` would. */
  deregisterService(id: string): void {
    this.#agent.deregister(id);
  }

  /** Sets any check's status, as if it had run (TTL checks also restart their TTL). */
  setCheckStatus(checkId: string, status: CheckStatus, output = ''): void {
    if (!CHECK_STATUSES.includes(status)) {
      throw new TypeError(`setCheckStatus(): status must be passing, warning or critical`);
    }
    this.#agent.setCheckStatus(checkId, status, output);
  }

  /** Puts a service in (or out of) maintenance mode. */
  setMaintenance(serviceId: string, enable: boolean, reason = ''): void {
    this.#agent.maintenance(serviceId, enable, reason);
  }

  /** Arms a fault for the next matching requests; see {@link Fault}. */
  inject(fault: Fault): void {
    this.#faults.add(fault);
  }

  /** Disarms every fault. */
  clearFaults(): void {
    this.#faults.clear();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://consul');
    const record: MutableRecord = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search.slice(1),
      headers: { ...req.headers },
      receivedAt: performance.now(),
      outcome: 'pending',
      status: undefined,
    };
    this.#requests.push(record);
    const open = { record, abort: new AbortController() };
    this.#open.add(open);
    res.once('close', () => {
      this.#open.delete(open);
      if (record.outcome === 'pending') {
        record.outcome = res.writableFinished ? 'answered' : 'closed-by-client';
      }
      open.abort.abort();
    });
    let reply = await dispatch(
      { agent: this.#agent, tokens: this.#options.acl?.tokens },
      req,
      url,
      open.abort.signal,
    );
    if (open.abort.signal.aborted) return;
    // Faults strike the answer, so a blocking query in flight counts when it returns.
    const fault = this.#faults.take(record.method, record.path, false);
    switch (fault?.kind) {
      case 'drop':
        record.outcome = 'dropped';
        req.socket.destroy();
        return;
      case 'hang':
        return; // until the client or stop() ends it
      case 'delay':
        // node's own sleep: rejects at once when the request goes away, leaving nothing behind
        await sleep(fault.ms, undefined, { signal: open.abort.signal }).catch(() => {});
        if (open.abort.signal.aborted) return;
        break;
      case 'status':
        reply = { status: fault.status, text: fault.body ?? STATUS_TEXT[fault.status] ?? 'error' };
        break;
      case 'body':
        reply = okWith(reply, JSON.stringify(fault.body));
        break;
      case 'malformed':
        reply = okWith(reply, '[{"Node": {"Node": "rxlb-test-node", "Addr');
        break;
    }
    this.#reply(res, record, reply);
  }

  #consulHeaders(
    index: number | undefined,
    consistency: string | undefined,
  ): Record<string, string> {
    const headers: Record<string, string> = {};
    if (index !== undefined) {
      headers['X-Consul-Index'] = String(Math.max(1, index));
      headers['X-Consul-KnownLeader'] = 'true';
      headers['X-Consul-LastContact'] = '0';
    }
    if (consistency) headers['X-Consul-Effective-Consistency'] = consistency;
    if (this.#options.acl) headers['X-Consul-Default-ACL-Policy'] = 'deny';
    return headers;
  }

  #reply(res: ServerResponse, record: MutableRecord, reply: Reply): void {
    const headers = this.#consulHeaders(reply.index, reply.consistency);
    if (reply.filteredByAcl) headers['X-Consul-Results-Filtered-By-ACLs'] = 'true';
    if (reply.index !== undefined) {
      const fault = this.#faults.take(record.method, record.path, true);
      if (fault?.kind === 'index') {
        if (fault.index === null) delete headers['X-Consul-Index'];
        else headers['X-Consul-Index'] = String(fault.index);
      }
    }
    const status = reply.status ?? 200;
    if (reply.text !== undefined) this.#send(res, record, status, reply.text, headers);
    else {
      const json = reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
      this.#send(res, record, status, json, headers, json !== '');
    }
  }

  #send(
    res: ServerResponse,
    record: MutableRecord,
    status: number,
    body: string,
    headers: Record<string, string> = {},
    json = false,
  ): void {
    record.status = status;
    res.writeHead(status, {
      ...headers,
      'Content-Type': json ? 'application/json' : 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      Vary: 'Accept-Encoding',
    });
    res.end(body);
  }
}

/** A 200 answer with this raw JSON instead of the reply's own body or error text. */
function okWith({ text: _text, ...reply }: Reply, raw: string): Reply {
  return { ...reply, status: 200, raw };
}
