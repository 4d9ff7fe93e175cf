/**
 * A `consul:` target → the service and the query of `sharedConsulInstances$`. The query string
 * uses the names of Consul's own health API (`/v1/health/service/:service`), so a target reads
 * like the request it makes: `consul://10.0.0.5:8500/greeter?tag=v2&dc=dc1&stale`.
 */

import { WATCH_DEFAULTS } from '../consul/options.js';
import { parseDuration } from '../duration.js';

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
  readonly wait?: string;
}

/** The query parameters a target may carry, each with whether it may repeat. */
const PARAMETERS: ReadonlyMap<string, 'once' | 'repeatable'> = new Map([
  ['tag', 'repeatable'],
  ['dc', 'once'],
  ['passing', 'once'],
  ['node-meta', 'repeatable'],
  ['filter', 'once'],
  ['near', 'once'],
  ['stale', 'once'],
  ['consistent', 'once'],
  ['wait', 'once'],
]);

/** A target that names no usable query; the message never repeats a token. */
export class TargetError extends Error {
  override readonly name = 'TargetError';
}

// Go's strconv.ParseBool, which Consul uses for these parameters.
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);
// host, host:port or [ipv6]:port: no scheme, no user info, no path
const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::\d{1,5})?$/;

/** A flag as Consul reads it: present with no value means true. */
function flag(name: string, value: string): boolean {
  if (value === '' || TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw new TargetError(`parameter "${name}" must be true or false, got "${value}"`);
}

function nonEmpty(name: string, value: string): string {
  if (value.trim() === '') throw new TargetError(`parameter "${name}" must not be empty`);
  return value;
}

function parseWait(value: string): string {
  const ms = parseDuration(value);
  if (typeof ms !== 'number' || ms < 1 || ms > WATCH_DEFAULTS.maxWaitMs || /^\d+$/.test(value)) {
    throw new TargetError(`parameter "wait" must be a duration from 1ms to 10m, like "30s"`);
  }
  return value;
}

function parseNodeMeta(pairs: readonly string[]): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const pair of pairs) {
    const colon = pair.indexOf(':');
    if (colon < 1) {
      throw new TargetError(`parameter "node-meta" must be key:value, got "${pair}"`);
    }
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

/** The service name of a target, as best as it can be read: the default `:authority`. */
export function targetService(target: ResolverTarget): string {
  const path = target.path.split('?', 1)[0] ?? '';
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Reads the parameters, each checked by name: unknown, repeated or empty ones are errors. */
function readParameters(search: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(search)) {
    if (name === 'token') {
      throw new TargetError(
        'a target never carries an ACL token: pass registerConsulResolver({ token }) or set CONSUL_HTTP_TOKEN',
      );
    }
    const arity = PARAMETERS.get(name);
    if (arity === undefined) {
      const known = [...PARAMETERS.keys()].join(', ');
      throw new TargetError(`unknown parameter "${name}" (known: ${known})`);
    }
    const seen = values.get(name) ?? [];
    if (arity === 'once' && seen.length > 0) {
      throw new TargetError(`parameter "${name}" is given more than once`);
    }
    values.set(name, [...seen, value]);
  }
  return values;
}

function parseQuery(values: ReadonlyMap<string, readonly string[]>): TargetQuery {
  const one = (name: string): string | undefined => values.get(name)?.[0];
  const many = (name: string): readonly string[] => values.get(name) ?? [];
  const present = <T>(name: string, parse: (value: string) => T): T | undefined => {
    const value = one(name);
    return value === undefined ? undefined : parse(value);
  };
  const stale = present('stale', (value) => flag('stale', value)) ?? false;
  const consistent = present('consistent', (value) => flag('consistent', value)) ?? false;
  if (stale && consistent)
    throw new TargetError('parameters "stale" and "consistent" exclude each other');
  const tags = many('tag').map((tag) => nonEmpty('tag', tag));
  const nodeMeta = many('node-meta');
  const query: TargetQuery = {
    ...(tags.length > 0 && { tags }),
    ...(nodeMeta.length > 0 && { nodeMeta: parseNodeMeta(nodeMeta) }),
    ...(stale && { consistency: 'stale' as const }),
    ...(consistent && { consistency: 'consistent' as const }),
  };
  const passing = present('passing', (value) => flag('passing', value));
  const dc = present('dc', (value) => nonEmpty('dc', value));
  const filter = present('filter', (value) => nonEmpty('filter', value));
  const near = present('near', (value) => nonEmpty('near', value));
  const wait = present('wait', parseWait);
  return {
    ...query,
    ...(passing !== undefined && { passing }),
    ...(dc !== undefined && { dc }),
    ...(filter !== undefined && { filter }),
    ...(near !== undefined && { near }),
    ...(wait !== undefined && { wait }),
  };
}

function parseAuthority(authority: string | undefined): string | undefined {
  if (authority === undefined || authority === '') return undefined;
  // user info could be a token: refuse it without repeating it
  if (authority.includes('@')) {
    throw new TargetError(
      "the authority must be Consul's host:port, without user info: pass a token with registerConsulResolver({ token }) or CONSUL_HTTP_TOKEN",
    );
  }
  if (!AUTHORITY.test(authority)) {
    throw new TargetError(`the authority must be Consul's host:port, got "${authority}"`);
  }
  return authority;
}

/**
 * Reads `consul://[consul-host:port]/service[?query]`, or throws a {@link TargetError} saying
 * which part is wrong.
 */
export function parseConsulTarget(target: ResolverTarget): ConsulTarget {
  const address = parseAuthority(target.authority);
  const question = target.path.indexOf('?');
  const path = question < 0 ? target.path : target.path.slice(0, question);
  const search = question < 0 ? '' : target.path.slice(question + 1);
  const query = parseQuery(readParameters(search));
  const service = decode(path, 'the service name');
  if (service.trim() === '' || service.includes('/')) {
    throw new TargetError(`the path must be one service name, like consul:///greeter`);
  }
  return { service, address, query };
}
