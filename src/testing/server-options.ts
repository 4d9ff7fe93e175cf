/** The options of `ConsulTestServer`, their defaults and their checks. */
import { isRecord, type OptionReader, readOptions } from '../read-options.js';
import type { ConsulTestServer } from './consul-test-server.js';
import { type ConsulTestServerTls, TLS_KEYS, validateTls } from './http/listener.js';

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
}

/** Throws a `TypeError` naming the first option that cannot make a server. */
const KNOWN = [
  'host',
  'port',
  'datacenter',
  'nodeName',
  'nodeAddress',
  'nodeMeta',
  'acl',
  'tls',
  'enableScriptChecks',
  'requestLogSize',
  'wanJoin',
  'wanRttMs',
];

/** Checks a {@link ConsulTestServer}'s options, with a `TypeError` naming the bad one. */
export function validateOptions(options: unknown): void {
  const o: OptionReader = readOptions('ConsulTestServer', options, KNOWN);
  o.string('host');
  o.number('port', { min: 0, max: 65_535, integer: true });
  const datacenter = o.string('datacenter');
  if (datacenter !== undefined && !/^[a-zA-Z0-9_-]+$/.test(datacenter)) {
    o.fail('datacenter', 'letters, digits, "_" and "-" only');
  }
  o.string('nodeName');
  o.string('nodeAddress');
  const nodeMeta = o.raw('nodeMeta');
  if (
    nodeMeta !== undefined &&
    !(isRecord(nodeMeta) && Object.values(nodeMeta).every((v) => typeof v === 'string'))
  ) {
    o.fail('nodeMeta', 'an object of strings');
  }
  const acl = o.nested('acl', ['tokens']);
  const tokens = acl?.raw('tokens');
  const ok = isRecord(tokens) && Object.values(tokens).every((v) => v === 'read' || v === 'write');
  if (acl && !ok)
    acl.fail('tokens', 'an object mapping tokens to "read" or "write"', { secret: true });
  const tls = o.nested('tls', TLS_KEYS);
  if (tls) validateTls(tls);
  o.boolean('enableScriptChecks');
  o.number('requestLogSize', { min: 0, integer: true });
  const rtt = o.raw('wanRttMs');
  if (
    rtt !== undefined &&
    !(isRecord(rtt) && Object.values(rtt).every((ms) => Number.isFinite(ms) && (ms as number) >= 0))
  ) {
    o.fail('wanRttMs', 'an object mapping datacenter names to round trip times >= 0 (ms)');
  }
}
