/**
 * `ConsulTestServer` and its options: one datacenter's Consul (`model/`) served over HTTP
 * (`http/`), with its request log and faults.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readOptions } from '../read-options.js';
import { dispatch } from './http/dispatch.js';
import { type Fault, FaultQueue, strike } from './http/faults.js';
import { GOSSIP_PREFIX, gossipReply, HttpTransport } from './http/gossip.js';
import {
  type ConsulTestServerTls,
  createListener,
  type Listener,
  readBody,
} from './http/listener.js';
import {
  DEFAULT_REQUEST_LOG_SIZE,
  type MutableRecord,
  type RecordedRequest,
  RequestLog,
} from './http/request-log.js';
import { sendReply } from './http/respond.js';
import { Agent, ScriptChecksDisabledError } from './model/agent.js';
import {
  CHECK_STATUSES,
  type CheckStatus,
  RegistrationError,
  type ServiceDefinition,
} from './model/registration.js';
import { WanMember } from './model/wan.js';
import { validateOptions } from './server-options.js';

export type { RecordedRequest } from './http/request-log.js';

/**
 * Options of {@link ConsulTestServer}; all optional.
 *
 * @example
 * ```ts
 * const consul = await new ConsulTestServer({
 *   datacenter: 'dc1',
 *   acl: { tokens: { 'reader-token': 'read', 'writer-token': 'write' } },
 *   requestLogSize: 1_000,
 * }).start();
 * ```
 */
export interface ConsulTestServerOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** Letters, digits, `_` and `-`, as Consul allows. Default `dc1`. */
  readonly datacenter?: string;
  /** The one node's name. Default `rxlb-test-node`. */
  readonly nodeName?: string;
  /** The node's address, used for services registered without one. Default `127.0.0.1`. */
  readonly nodeAddress?: string;
  /**
   * The node's WAN address, as Consul's `advertise_addr_wan`: its `TaggedAddresses.wan`, which
   * a client in another datacenter uses when it translates WAN addresses. Default: the
   * node's address.
   */
  readonly nodeWanAddress?: string;
  /** The node's metadata, for `node-meta` queries. */
  readonly nodeMeta?: Readonly<Record<string, string>>;
  /**
   * Turns ACLs on with a default-deny policy: requests need an `X-Consul-Token` (or
   * `Authorization: Bearer`) listed here; an unknown token gets `403 ACL not found`, an
   * anonymous read gets empty results (403 where Consul denies it: `/v1/agent/self`, a KV
   * key) and an anonymous or read-only write gets 403.
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
  /**
   * Accepts script checks (`Args`) and runs them, as Consul's `enable_script_checks`: each
   * run is bounded by the check's `Timeout` (default 30 s) and its process group is killed at
   * the timeout and on {@link ConsulTestServer.stop}. Default `false`: a script check is
   * refused with Consul's own 500. Only enable it for definitions you trust.
   */
  readonly enableScriptChecks?: boolean;
  /**
   * How many requests {@link ConsulTestServer.requests} keeps, the most recent ones
   * (`Infinity`: all; 0: none). {@link ConsulTestServer.requestCount} counts them all.
   * Default 10 000.
   */
  readonly requestLogSize?: number;
  /**
   * Joins this server's datacenter to another test server's over the WAN, as Consul servers
   * federate: every server of the pool then answers `?dc=` for every datacenter in it (from
   * that datacenter's own server, with its indexes and blocking), lists them all in
   * `/v1/catalog/datacenters` and `/v1/agent/members?wan=1`. Each datacenter appears once.
   *
   * @example
   * ```ts
   * const dc1 = await new ConsulTestServer({ datacenter: 'dc1' }).start();
   * const dc2 = await new ConsulTestServer({ datacenter: 'dc2', wanJoin: dc1 }).start();
   * dc2.registerService({ Name: 'greeter', Port: 50052 });
   * // GET http://${dc1.address}/v1/health/service/greeter?dc=dc2 answers dc2's instance
   * ```
   */
  readonly wanJoin?: ConsulTestServer;
  /**
   * Estimated round trip times from this datacenter to others, by name, in ms: the order of
   * `/v1/catalog/datacenters` (this datacenter first, then nearest first; a pair without an
   * estimate from either side comes last, by name). Default: none.
   */
  readonly wanRttMs?: Readonly<Record<string, number>>;
  /**
   * Answers as Consul Enterprise does for namespaces and admin partitions: registrations keep
   * their `Namespace` and `Partition`, reads honour `ns=` and `partition=` (or the
   * `X-Consul-Namespace` and `X-Consul-Partition` headers), both `default` when not given,
   * and entries show them. Default `false`: Consul CE, which refuses them with `400 Bad
   * request: Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature`.
   *
   * @example
   * ```ts
   * const consul = await new ConsulTestServer({ enterprise: true }).start();
   * consul.registerService({ Name: 'greeter', Port: 50051, Namespace: 'team-a' });
   * // GET /v1/health/service/greeter?ns=team-a answers it; without ns=, the default namespace's
   * ```
   */
  readonly enterprise?: boolean;
  /**
   * How long a write through the HTTP API (a KV or transaction write, a registration, a
   * session's creation or destruction) takes to commit, in ms: it is applied, made visible to
   * reads and wakes blocking queries only then, and answered right after, as a Consul server
   * answers a write once Raft has applied it. A read sent while a write is in flight sees the
   * state before it. 0 applies writes at once.
   *
   * Default 1: a dev agent (`consul agent -dev`) is a single voter with an in-memory Raft log,
   * so a commit needs neither a quorum round trip nor an fsync and takes well under a
   * millisecond; 1 ms is the shortest wait a Node timer gives. A server of a real cluster
   * takes a round trip to a quorum plus a disk sync: give that here (a few ms) to test code
   * against it. The server's own methods (`registerService()` ...) apply at once.
   *
   * @example
   * ```ts
   * const consul = await new ConsulTestServer({ commitDelayMs: 20 }).start();
   * // a GET sent while a PUT /v1/kv/x is in flight answers the old value for 20 ms
   * ```
   */
  readonly commitDelayMs?: number;
}

/** The default {@link ConsulTestServerOptions.commitDelayMs}: a dev agent's commit. */
const DEFAULT_COMMIT_DELAY_MS = 1;

interface OpenRequest {
  readonly record: MutableRecord;
  readonly abort: AbortController;
}

/**
 * A Consul-compatible HTTP server for tests, examples and demos: the agent, catalog, health,
 * status, KV, transaction, session and event endpoints a Consul client touches, with Consul's
 * shapes, status codes, Raft-like indexes, real blocking and a commit delay for writes
 * (`commitDelayMs`); KV locks held by sessions; LAN membership (join, force-leave, members)
 * with other test servers, in this process or another; TTL, TCP, HTTP, gRPC (and, when enabled,
 * script) checks it really runs; ACL tokens; fault injection; several datacenters joined
 * over the WAN, with WAN tagged addresses; services imported from cluster peers; and Consul
 * Enterprise's namespaces and partitions (refused as Consul CE refuses them by default).
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
  readonly #wan: WanMember;
  readonly #faults = new FaultQueue();
  readonly #log: RequestLog;
  readonly #open = new Set<OpenRequest>();
  readonly #gossip = new HttpTransport();
  #server: Listener | undefined;
  #port = 0;

  constructor(options: ConsulTestServerOptions = {}) {
    validateOptions(options);
    if (options.wanJoin !== undefined && !(options.wanJoin instanceof ConsulTestServer)) {
      readOptions('ConsulTestServer', options, ['wanJoin']).fail('wanJoin', 'a ConsulTestServer');
    }
    this.#options = options;
    this.#log = new RequestLog(options.requestLogSize ?? DEFAULT_REQUEST_LOG_SIZE);
    this.#agent = new Agent(
      {
        id: randomUUID(),
        name: options.nodeName ?? 'rxlb-test-node',
        address: options.nodeAddress ?? '127.0.0.1',
        wanAddress: options.nodeWanAddress ?? options.nodeAddress ?? '127.0.0.1',
        datacenter: options.datacenter ?? 'dc1',
        meta: { ...options.nodeMeta },
      },
      {
        enableScriptChecks: options.enableScriptChecks === true,
        enterprise: options.enterprise === true,
        commitDelayMs: options.commitDelayMs ?? DEFAULT_COMMIT_DELAY_MS,
      },
    );
    this.#wan = new WanMember(this.#agent, options.wanRttMs);
    if (options.wanJoin) this.#wan.join(options.wanJoin.#wan);
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
    this.#agent.lan.start(this.#hostPort, this.#gossip);
    return this;
  }

  /**
   * Stops checks (killing running scripts), leaves the WAN (other datacenters then answer
   * `?dc=` for this one with `500 No path to datacenter`), ends open requests and closes every
   * connection.
   */
  async stop(): Promise<void> {
    this.#agent.close();
    this.#gossip.close();
    this.#wan.leave();
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
    return this.#options.tls ? `https://${this.#hostPort}` : this.#hostPort;
  }

  get #hostPort(): string {
    const host = this.#options.host ?? '127.0.0.1';
    return host.includes(':') ? `[${host}]:${this.#port}` : `${host}:${this.#port}`;
  }

  /** This server's datacenter. */
  get datacenter(): string {
    return this.#agent.node.datacenter;
  }

  /** The last Raft index of this datacenter (catalog and KV writes share it). */
  get index(): number {
    return this.#agent.raft.index;
  }

  /** The most recent requests received, in order; at most `requestLogSize` of them. */
  get requests(): readonly RecordedRequest[] {
    return this.#log.entries;
  }

  /** How many requests were received since the start (or `clearRequests()`), kept or not. */
  get requestCount(): number {
    return this.#log.count;
  }

  /** Requests received and not yet answered or closed. */
  get activeRequests(): number {
    return this.#open.size;
  }

  /** Forgets the recorded requests and resets {@link ConsulTestServer.requestCount}. */
  clearRequests(): void {
    this.#log.clear();
  }

  /** Registers a service as `PUT /v1/agent/service/register` would; returns its id. */
  registerService(definition: ServiceDefinition): string {
    const { Namespace, Partition } = definition;
    if (!this.#agent.enterprise && (Namespace !== undefined || Partition !== undefined)) {
      throw new TypeError(
        'registerService(): Namespace and Partition need new ConsulTestServer({ enterprise: true }) (Consul CE has neither)',
      );
    }
    try {
      return this.#agent.register(definition);
    } catch (error) {
      if (error instanceof ScriptChecksDisabledError) {
        throw new TypeError(
          'registerService(): a script check (Args) needs new ConsulTestServer({ enableScriptChecks: true })',
        );
      }
      if (error instanceof RegistrationError) {
        throw new TypeError(`registerService(): ${error.message}`);
      }
      throw error;
    }
  }

  /**
   * Imports a service instance from cluster peer `peer`, as Consul cluster peering replicates
   * a service the peer exports: `GET /v1/health/service/:name?peer=<peer>` then answers it,
   * with `PeerName` on its node and service, and blocks until the peer's instances change.
   * Its checks keep the status given (default `critical`, as for a registration): a peer's
   * checks run in the peer. The node is `node` (default `<peer>-node`) at `address` (default
   * `127.0.0.1`). A peer nothing was imported from is answered with no instances, as Consul
   * answers it. Returns the instance's id.
   *
   * @example
   * ```ts
   * consul.importService('cluster-02', {
   *   Name: 'greeter',
   *   Port: 50051,
   *   Check: { TTL: '1m', Status: 'passing' },
   * });
   * consulInstances$('greeter', { address: consul.address, peer: 'cluster-02' });
   * ```
   */
  importService(
    peer: string,
    definition: ServiceDefinition,
    node: { readonly name?: string; readonly address?: string } = {},
  ): string {
    if (typeof peer !== 'string' || !/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(peer)) {
      throw new TypeError('importService(): peer must be a DNS label, as Consul names peers');
    }
    try {
      return this.#agent.importService(
        peer,
        definition,
        node.name ?? `${peer}-node`,
        node.address ?? '127.0.0.1',
      );
    } catch (error) {
      if (error instanceof RegistrationError) {
        throw new TypeError(`importService(): ${error.message}`);
      }
      throw error;
    }
  }

  /** Removes an instance imported from `peer`, as when the peer stops exporting it. */
  removeImportedService(peer: string, id: string): void {
    if (!this.#agent.removeImported(peer, id)) {
      throw new TypeError(`removeImportedService(): no instance "${id}" imported from "${peer}"`);
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

  /**
   * Puts the node in (or out of) maintenance mode, as `PUT /v1/agent/maintenance` would:
   * every service of this datacenter's node turns critical.
   */
  setNodeMaintenance(enable: boolean, reason = ''): void {
    this.#agent.nodeMaintenance(enable, reason);
  }

  /** Arms a fault for the next matching requests this server receives; see {@link Fault}. */
  inject(fault: Fault): void {
    this.#faults.add(fault);
  }

  /** Disarms every fault. */
  clearFaults(): void {
    this.#faults.clear();
  }

  /** Another test server's gossip: neither logged nor struck by faults. */
  async #handleGossip(req: IncomingMessage, res: ServerResponse, kind: string): Promise<void> {
    let body: unknown = null;
    try {
      body = JSON.parse((await readBody(req)).toString('utf8'));
    } catch {
      // a malformed message is ignored, as gossip drops it
    }
    const reply = gossipReply(this.#agent.lan, kind, body);
    const record: MutableRecord = {
      method: 'POST',
      path: req.url ?? '',
      query: '',
      headers: {},
      receivedAt: performance.now(),
      outcome: 'answered',
      status: undefined,
    };
    sendReply(res, record, reply, { aclEnabled: false, takeIndexFault: () => undefined });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://consul');
    if (url.pathname.startsWith(GOSSIP_PREFIX) && req.method === 'POST') {
      await this.#handleGossip(req, res, url.pathname.slice(GOSSIP_PREFIX.length));
      return;
    }
    const record: MutableRecord = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search.slice(1),
      headers: { ...req.headers },
      receivedAt: performance.now(),
      outcome: 'pending',
      status: undefined,
    };
    this.#log.add(record);
    const open = { record, abort: new AbortController() };
    this.#open.add(open);
    res.once('close', () => {
      this.#open.delete(open);
      if (record.outcome === 'pending') {
        record.outcome = res.writableFinished ? 'answered' : 'closed-by-client';
      }
      open.abort.abort();
    });
    const tokens = this.#options.acl?.tokens;
    const reply = await dispatch({ wan: this.#wan, tokens }, req, url, open.abort.signal);
    if (open.abort.signal.aborted) return;
    const target = {
      method: record.method,
      path: record.path,
      datacenter: url.searchParams.get('dc') || this.datacenter,
    };
    // Faults strike the answer, so a blocking query in flight counts when it returns.
    const struck = await strike(this.#faults.take(target, false), reply, {
      record,
      socket: req.socket,
      signal: open.abort.signal,
    });
    if (struck === undefined) return;
    sendReply(res, record, struck, {
      aclEnabled: tokens !== undefined,
      takeIndexFault: () => this.#faults.take(target, true),
    });
  }
}
