/**
 * A `consul:` target → the service and the query of `sharedConsulInstances$`. The query string
 * uses the names of Consul's own health API (`/v1/health/service/:service`), so a target reads
 * like the request it makes: `consul://10.0.0.5:8500/greeter?tag=v2&dc=dc1&stale`. Beyond the
 * health API's own, `translate-wan-addrs` is Consul's `translate_wan_addrs`, for a `dc` reached
 * over the WAN.
 */

import { parseConsulAddress } from '../consul/connection.js';
import { readLabel, WATCH_DEFAULTS } from '../consul/options.js';
import { type OptionReader, readParameters } from '../read-options.js';

/** A channel target as grpc-js parses it (`GrpcUri`): `scheme:[//authority/]path`. */
export interface ResolverTarget {
  readonly scheme?: string;
  readonly authority?: string;
  readonly path: string;
}

/** What a target asks of Consul, as `sharedConsulInstances$` takes it. */
export interface ConsulTarget {
  readonly service: string;
  /** Consul's address from the authority; undefined for `consul:///greeter`. */
  readonly address: string | undefined;
  readonly query: TargetQuery;
}

/** The query options a target may set; absent ones keep rxlb's defaults. */
export interface TargetQuery {
  readonly tags?: readonly string[];
  readonly dc?: string;
  readonly passing?: boolean;
  readonly nodeMeta?: Readonly<Record<string, string>>;
  readonly filter?: string;
  readonly near?: string;
  readonly consistency?: 'stale' | 'consistent';
  /** In ms. */
  readonly wait?: number;
  readonly peer?: string;
  readonly namespace?: string;
  readonly partition?: string;
  readonly translateWanAddresses?: boolean;
}

/** The query parameters a target may carry; of these, `tag` and `node-meta` may repeat. */
const PARAMETERS = [
  'tag',
  'dc',
  'passing',
  'node-meta',
  'filter',
  'near',
  'stale',
  'consistent',
  'wait',
  'peer',
  'ns',
  'partition',
  'translate-wan-addrs',
];
const REPEATABLE = ['tag', 'node-meta'];

/** A target that names no usable query; the message never repeats a token. */
export class TargetError extends Error {
  override readonly name = 'TargetError';
}

function readNodeMeta(p: OptionReader): Record<string, string> | undefined {
  const pairs = p.strings('node-meta');
  if (pairs.length === 0) return undefined;
  const meta: Record<string, string> = {};
  for (const pair of pairs) {
    const colon = pair.indexOf(':');
    if (colon < 1) p.fail('node-meta', 'key:value', { got: pair });
    meta[pair.slice(0, colon)] = pair.slice(colon + 1);
  }
  return meta;
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TargetError(`${what} is not valid percent-encoding`);
  }
}

/**
 * The ports a target may end with and rxlb ignores: the defaults that nice-grpc's
 * `createChannel()` appends to a target without `scheme://` (80, or 443 with TLS
 * credentials), as gRPC's naming doc gives `dns:` targets without a port.
 */
const DEFAULT_PORTS = new Set(['80', '443']);
const TRAILING_PORT = /:(\d+)$/;

/**
 * A target's path split in its service and its query, the default port nice-grpc appended
 * dropped: `greeter:80` → `greeter`; `greeter?tag=v2:80` (nice-grpc appends after the query)
 * → `greeter`, `tag=v2`, the latter only for a target without `//`, the one form nice-grpc
 * appends to. `port` is what remains of a port after the service name (`greeter:50051`).
 */
function splitPath(target: ResolverTarget): {
  path: string;
  search: string;
  port?: string | undefined;
} {
  const question = target.path.indexOf('?');
  let path = question < 0 ? target.path : target.path.slice(0, question);
  let search = question < 0 ? '' : target.path.slice(question + 1);
  const appended = TRAILING_PORT.exec(search);
  if (target.authority === undefined && appended && DEFAULT_PORTS.has(appended[1] ?? '')) {
    search = search.slice(0, appended.index);
  }
  const port = TRAILING_PORT.exec(path);
  if (!port) return { path, search };
  path = path.slice(0, port.index);
  return DEFAULT_PORTS.has(port[1] ?? '') ? { path, search } : { path, search, port: port[1] };
}

/** The service name of a target, as best as it can be read: the default `:authority`. */
export function targetService(target: ResolverTarget): string {
  const { path } = splitPath(target);
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * Reads the query parameters as Consul's health API does (a flag without a value is true),
 * each checked by name: an unknown, repeated or empty one is an error.
 */
function parseQuery(search: string): TargetQuery {
  const parameters = new URLSearchParams(search);
  if (parameters.has('token')) {
    throw new TargetError(
      'a target never carries an ACL token: pass registerConsulResolver({ token }) or set CONSUL_HTTP_TOKEN',
    );
  }
  const p = readParameters(parameters, {
    known: PARAMETERS,
    repeatable: REPEATABLE,
    where: `(known: ${PARAMETERS.join(', ')})`,
    error: TargetError,
  });
  const stale = p.boolean('stale') ?? false;
  const consistent = p.boolean('consistent') ?? false;
  if (stale && consistent) p.complain('stale', 'and "consistent" exclude each other');
  const tags = p.strings('tag');
  const nodeMeta = readNodeMeta(p);
  const passing = p.boolean('passing');
  const dc = p.string('dc');
  const filter = p.string('filter');
  const near = p.string('near');
  const wait = p.duration('wait', { min: 1, max: WATCH_DEFAULTS.maxWaitMs });
  const peer = readLabel(p, 'peer');
  const namespace = readLabel(p, 'ns');
  const partition = readLabel(p, 'partition');
  const translateWanAddresses = p.boolean('translate-wan-addrs');
  if (peer !== undefined && translateWanAddresses) {
    p.complain(
      'peer',
      'and "translate-wan-addrs" exclude each other: a peer\'s addresses are those it exports',
    );
  }
  return {
    ...(tags.length > 0 && { tags }),
    ...(nodeMeta !== undefined && { nodeMeta }),
    ...(stale && { consistency: 'stale' as const }),
    ...(consistent && { consistency: 'consistent' as const }),
    ...(passing !== undefined && { passing }),
    ...(dc !== undefined && { dc }),
    ...(filter !== undefined && { filter }),
    ...(near !== undefined && { near }),
    ...(wait !== undefined && { wait }),
    ...(peer !== undefined && { peer }),
    ...(namespace !== undefined && { namespace }),
    ...(partition !== undefined && { partition }),
    ...(translateWanAddresses !== undefined && { translateWanAddresses }),
  };
}

/** Consul's address in the authority, in the grammar of the `address` option but no scheme. */
function parseAuthority(authority: string | undefined): string | undefined {
  if (authority === undefined || authority === '') return undefined;
  // user info could be a token: refuse it without repeating it
  if (authority.includes('@')) {
    throw new TargetError(
      "the authority must be Consul's host:port, without user info: pass a token with registerConsulResolver({ token }) or CONSUL_HTTP_TOKEN",
    );
  }
  const address = parseConsulAddress(authority);
  if (address === undefined || address.scheme !== undefined || authority.endsWith('/')) {
    throw new TargetError(
      `the authority must be Consul's host:port, with a port from 1 to 65535, got "${authority}"`,
    );
  }
  return authority;
}

/**
 * Reads `consul://[consul-host:port]/service[?query]`, or throws a {@link TargetError} saying
 * which part is wrong. The instances' ports come from Consul, so a port after the service is
 * not the service's: `:80` and `:443`, which nice-grpc's `createChannel('consul:greeter')`
 * appends, are ignored (at the end of the query too, for a target without `//`), and any
 * other is refused.
 */
export function parseConsulTarget(target: ResolverTarget): ConsulTarget {
  const address = parseAuthority(target.authority);
  const { path, search, port } = splitPath(target);
  if (port !== undefined) {
    throw new TargetError(
      `a consul: target names a service, whose instances' ports come from Consul: ":${port}" ` +
        "after the service name is not one (Consul's own address goes in the authority, " +
        'consul://127.0.0.1:8500/greeter)',
    );
  }
  const query = parseQuery(search);
  const service = decode(path, 'the service name');
  if (service.trim() === '' || service.includes('/')) {
    throw new TargetError(`the path must be one service name, like consul:///greeter`);
  }
  return { service, address, query };
}
