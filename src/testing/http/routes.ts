/**
 * What every endpoint of the test server shares: the route table's shape, the request context,
 * the reply, and Consul's common query handling (`stale`/`consistent`, `filter`, `node-meta`,
 * blocking with `index` and `wait`). The endpoints themselves live in `*-routes.ts`.
 */

import type { IncomingHttpHeaders } from 'node:http';
import { parseDuration } from '../../duration.js';
import { isRecord } from '../../read-options.js';
import type { Agent } from '../model/agent.js';
import type { NodeRecord } from '../model/catalog.js';
import { compileFilter, FilterError, type Predicate } from '../model/filter.js';

/** What the caller's ACL token allows. */
export type Access = 'anonymous' | 'read' | 'write';

export interface RouteContext {
  /** The agent that received the request. */
  readonly agent: Agent;
  /** The server of the datacenter the request is for: `?dc=`, else the agent's own. */
  readonly dc: Agent;
  /** The servers of every datacenter joined over the WAN, nearest first (this one first). */
  readonly wan: readonly Agent[];
  /** The WAN pool's first datacenter, Consul's `primary_datacenter`. */
  readonly primaryDatacenter: string;
  readonly aclEnabled: boolean;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** The body parsed as JSON (400 when it is not). */
  readonly body: () => unknown;
  /** The body as received. */
  readonly raw: Buffer;
  readonly access: Access;
  /** Aborts when the client goes away, the server stops or the datacenter asked leaves. */
  readonly signal: AbortSignal;
}

export interface Reply {
  readonly status?: number;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Sent as text/plain instead of `body`: Consul's error messages. */
  readonly text?: string;
  /** Sent as is, as text/plain, instead of `body` (a raw KV value). */
  readonly bytes?: Buffer;
  /** Sent as is, as JSON, instead of `body` (a malformed body, for fault injection). */
  readonly raw?: string;
  /** `X-Consul-Index` (with `X-Consul-KnownLeader` and `X-Consul-LastContact`). */
  readonly index?: number;
  /** Read answers filtered by ACLs set `X-Consul-Results-Filtered-By-ACLs`. */
  readonly filteredByAcl?: boolean;
  readonly consistency?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** An answer with a non-2xx status and a plain-text body, as Consul sends them. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Consul's 403 for a token without `permission` (e.g. `key:write`). */
export function permissionDenied(access: Access, permission: string): HttpError {
  const who = access === 'anonymous' ? 'anonymous token' : 'token';
  return new HttpError(403, `Permission denied: ${who} lacks permission '${permission}'`);
}

/**
 * An unsigned integer query parameter (`flags`, `cas`), or undefined when absent. Consul
 * answers a malformed one with its Go parse error and 500; above 2^53 - 1 the test server
 * refuses with 400, as JavaScript numbers cannot hold it exactly.
 */
export function uintParam(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  if (!/^\d+$/.test(text)) {
    throw new HttpError(500, `strconv.ParseUint: parsing ${JSON.stringify(text)}: invalid syntax`);
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new HttpError(400, `${name} above 2^53-1 is not supported by ConsulTestServer`);
  }
  return value;
}

export type Handler = (ctx: RouteContext) => Reply | Promise<Reply>;

/**
 * Who may call a route: `open` anyone; `list` anyone, but an anonymous caller gets empty
 * results (default-deny ACLs filter lists); `read` a read or write token; `write` a write
 * token. `resource` names the permission in Consul's 403 message.
 */
export interface RouteAcl {
  readonly kind: 'open' | 'list' | 'read' | 'write';
  readonly resource: 'service' | 'node' | 'agent' | 'key' | 'operator' | 'session' | 'event';
}

export interface Route {
  readonly method: 'GET' | 'PUT' | 'DELETE';
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly acl: RouteAcl;
  /** Answers for the datacenter in `?dc=` (forwarded over the WAN), not only this one. */
  readonly forwards: boolean;
  /**
   * A write that goes through Raft: it waits the datacenter's `commitDelayMs` before it is
   * applied. Every PUT and DELETE but those {@link noCommit} marks.
   */
  readonly commits: boolean;
  readonly handler: Handler;
}

/**
 * A route: `:name` matches one path segment, `*name` the rest of the path (a KV key).
 * `forwards` routes answer `?dc=` for another datacenter; agent routes do not.
 */
export function route(
  method: Route['method'],
  path: string,
  acl: RouteAcl,
  handler: Handler,
  forwards = true,
): Route {
  const names: string[] = [];
  const source = path.replace(/([:*])(\w+)/g, (_, kind: string, name: string) => {
    names.push(name);
    return kind === ':' ? '([^/]+)' : '(.*)';
  });
  const commits = method !== 'GET';
  return { method, pattern: new RegExp(`^${source}$`), names, acl, forwards, commits, handler };
}

/** A PUT that is no Raft write (gossip, a session renewal, a reload): it never waits. */
export function noCommit(r: Route): Route {
  return { ...r, commits: false };
}

/** Go's `strconv.ParseBool`, as Consul reads `enable` and friends; undefined when invalid. */
export function parseBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/** True when the query has `name` and it is empty or true (`?passing`, `?recurse=true`). */
export function flag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value !== null && (value === '' || parseBool(value) === true);
}

/** Validates `stale`/`consistent` and `filter`, as every catalog, health and KV read does. */
export function readOptions(ctx: RouteContext): { filter: Predicate; consistency: string } {
  const stale = ctx.query.has('stale');
  const consistent = ctx.query.has('consistent');
  if (stale && consistent) {
    throw new HttpError(400, 'Cannot specify ?stale with ?consistent, conflicting semantics.');
  }
  const expression = ctx.query.get('filter');
  let filter: Predicate = () => true;
  if (expression) {
    try {
      filter = compileFilter(expression);
    } catch (error) {
      const message = error instanceof FilterError ? error.message : String(error);
      throw new HttpError(400, `Failed to create boolean expression evaluator: ${message}`);
    }
  }
  return { filter, consistency: stale ? 'stale' : consistent ? 'consistent' : 'leader' };
}

const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_WAIT_MS = 10 * 60_000;

/**
 * Consul's blocking query: with `?index=N`, waits until `currentIndex()` (the index of the
 * data the endpoint reads, in the datacenter asked) passes N, or `wait` runs out.
 */
export async function block(ctx: RouteContext, currentIndex: () => number): Promise<void> {
  const text = ctx.query.get('index');
  if (text === null || text === '') return;
  if (!/^\d+$/.test(text)) throw new HttpError(400, 'Invalid index');
  const minIndex = Number(text);
  if (minIndex === 0) return;
  const waitText = ctx.query.get('wait');
  const requested = waitText ? parseDuration(waitText) : DEFAULT_WAIT_MS;
  if (requested === undefined) throw new HttpError(400, 'Invalid wait time');
  const wait = Math.min(requested || DEFAULT_WAIT_MS, MAX_WAIT_MS);
  // Consul adds up to wait/16 of jitter so that many watchers don't return at once
  const jitter = Math.random() * (wait / 16);
  await ctx.dc.raft.waitForChange(currentIndex, minIndex, wait + jitter, ctx.signal);
}

/** Whether `tags` (a list) has every tag of `wanted`, as repeated `?tag=` filters ask. */
export function hasTags(tags: unknown, wanted: readonly string[]): boolean {
  return Array.isArray(tags) && wanted.every((tag) => tags.includes(tag));
}

/** Whether `node` has every `node-meta=key:value` of the query. */
export function nodeMetaMatches(ctx: RouteContext, node: NodeRecord | undefined): boolean {
  const meta = node?.meta ?? {};
  return ctx.query.getAll('node-meta').every((pair) => {
    const colon = pair.indexOf(':');
    const key = colon < 0 ? pair : pair.slice(0, colon);
    return Object.hasOwn(meta, key) && meta[key] === (colon < 0 ? '' : pair.slice(colon + 1));
  });
}

/** The empty answer an anonymous caller gets where ACLs hide everything. */
export function emptyLike(body: unknown): unknown {
  return Array.isArray(body) ? [] : isRecord(body) ? {} : body;
}

/** A namespace and admin partition (Consul Enterprise); `default` on Consul CE. */
export interface Tenancy {
  readonly namespace: string;
  readonly partition: string;
}

/**
 * The namespace and partition a read asks for (`ns=` or `X-Consul-Namespace`, `partition=` or
 * `X-Consul-Partition`). Consul CE refuses either with 400 and its own text (the header first,
 * then the parameter, the namespace before the partition); Enterprise defaults both to
 * `default`.
 */
export function tenancy(ctx: RouteContext): Tenancy {
  const header = (name: string) => {
    const value = ctx.headers[name];
    return (Array.isArray(value) ? value[0] : value) || undefined;
  };
  const asked = [
    ['Namespaces', 'X-Consul-Namespace', 'ns'],
    ['Partitions', 'X-Consul-Partition', 'partition'],
  ].map(([what, headerName = '', parameter = '']) => {
    const fromHeader = header(headerName.toLowerCase());
    const fromQuery = ctx.query.get(parameter) || undefined;
    if (!ctx.dc.enterprise && fromHeader !== undefined) {
      throw new HttpError(
        400,
        `Bad request: Invalid header: "${headerName}" - ${what} are a Consul Enterprise feature`,
      );
    }
    if (!ctx.dc.enterprise && fromQuery !== undefined) {
      throw new HttpError(
        400,
        `Bad request: Invalid query parameter: "${parameter}" - ${what} are a Consul Enterprise feature`,
      );
    }
    return fromQuery ?? fromHeader ?? 'default';
  });
  return { namespace: asked[0] ?? 'default', partition: asked[1] ?? 'default' };
}
