/**
 * The endpoints of Consul's HTTP API the test server speaks, with Consul's query
 * parameters, blocking semantics, status codes and messages.
 */

import { parseDuration } from '../duration.js';
import { isRecord } from '../is-record.js';
import type { Agent } from './agent.js';
import { compileFilter, FilterError, type Predicate } from './filter.js';
import { CHECK_STATUSES, type CheckStatus } from './registration.js';
import {
  agentChecks,
  agentServices,
  catalogEntries,
  catalogServices,
  healthEntries,
} from './shapes.js';

/** What the caller's ACL token allows. */
export type Access = 'anonymous' | 'read' | 'write';

export interface RouteContext {
  readonly agent: Agent;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly body: () => unknown;
  readonly access: Access;
  /** Aborts when the client goes away or the server stops. */
  readonly signal: AbortSignal;
}

export interface Reply {
  readonly status?: number;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Sent as text/plain instead of `body`: Consul's error messages. */
  readonly text?: string;
  /** Sent as is, as JSON, instead of `body` (a malformed body, for fault injection). */
  readonly raw?: string;
  /** `X-Consul-Index` (with `X-Consul-KnownLeader` and `X-Consul-LastContact`). */
  readonly index?: number;
  /** Read answers filtered by ACLs set `X-Consul-Results-Filtered-By-ACLs`. */
  readonly filteredByAcl?: boolean;
  readonly consistency?: string;
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

type Handler = (ctx: RouteContext) => Reply | Promise<Reply>;
export interface Route {
  readonly method: 'GET' | 'PUT';
  readonly pattern: RegExp;
  readonly names: readonly string[];
  /** Reads are filtered for anonymous callers; writes need a write token. */
  readonly kind: 'read' | 'write' | 'open';
  readonly handler: Handler;
}

const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_WAIT_MS = 10 * 60_000;

function route(method: Route['method'], path: string, kind: Route['kind'], handler: Handler) {
  const names: string[] = [];
  const source = path.replace(/:(\w+)/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { method, pattern: new RegExp(`^${source}$`), names, kind, handler };
}

/** Validates `dc`, `stale`/`consistent` and `filter`, as every read endpoint does. */
function readOptions(ctx: RouteContext): { filter: Predicate | undefined; consistency: string } {
  const dc = ctx.query.get('dc');
  if (dc && dc !== ctx.agent.catalog.node.datacenter) {
    throw new HttpError(500, 'No path to datacenter');
  }
  const stale = ctx.query.has('stale');
  const consistent = ctx.query.has('consistent');
  if (stale && consistent) {
    throw new HttpError(400, 'Cannot specify ?stale with ?consistent, conflicting semantics.');
  }
  const expression = ctx.query.get('filter');
  let filter: Predicate | undefined;
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

/** Consul's blocking query: with `?index=N`, wait until the data's index passes N. */
async function block(ctx: RouteContext, currentIndex: () => number): Promise<void> {
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
  await ctx.agent.catalog.waitForChange(currentIndex, minIndex, wait + jitter, ctx.signal);
}

function nodeMetaMatches(ctx: RouteContext): boolean {
  const meta: Readonly<Record<string, string>> = ctx.agent.catalog.node.meta;
  return ctx.query.getAll('node-meta').every((pair) => {
    const colon = pair.indexOf(':');
    const key = colon < 0 ? pair : pair.slice(0, colon);
    return Object.hasOwn(meta, key) && meta[key] === (colon < 0 ? '' : pair.slice(colon + 1));
  });
}

function hasTags(tags: unknown, wanted: readonly string[]): boolean {
  return Array.isArray(tags) && wanted.every((tag) => tags.includes(tag));
}

async function listHealthyNodes(ctx: RouteContext): Promise<Reply> {
  const { filter, consistency } = readOptions(ctx);
  const name = ctx.params.service ?? '';
  const catalog = ctx.agent.catalog;
  await block(ctx, () => catalog.serviceIndex(name));
  const passingOnly = ['', '1', 'true'].includes(ctx.query.get('passing') ?? 'false');
  const tags = ctx.query.getAll('tag');
  const onNode = nodeMetaMatches(ctx);
  const entries = healthEntries(catalog, name)
    .filter(({ entry, passing }) => {
      const service = entry.Service as { Tags: unknown };
      if (!onNode || (passingOnly && !passing) || !hasTags(service.Tags, tags)) return false;
      return filter === undefined || filter(entry);
    })
    .map(({ entry }) => entry);
  return { body: entries, index: catalog.serviceIndex(name), consistency };
}

async function listServiceNodes(ctx: RouteContext): Promise<Reply> {
  const { filter, consistency } = readOptions(ctx);
  const name = ctx.params.service ?? '';
  const catalog = ctx.agent.catalog;
  await block(ctx, () => catalog.serviceIndex(name));
  const tags = ctx.query.getAll('tag');
  const onNode = nodeMetaMatches(ctx);
  const entries = catalogEntries(catalog, name).filter(
    (e) => onNode && hasTags(e.ServiceTags, tags) && (filter === undefined || filter(e)),
  );
  return { body: entries, index: catalog.serviceIndex(name), consistency };
}

async function listServices(ctx: RouteContext): Promise<Reply> {
  const { consistency } = readOptions(ctx);
  const catalog = ctx.agent.catalog;
  await block(ctx, () => catalog.index);
  return {
    body: nodeMetaMatches(ctx) ? catalogServices(catalog) : {},
    index: catalog.index,
    consistency,
  };
}

function checkUpdate(status: CheckStatus): Handler {
  return (ctx) => {
    ctx.agent.updateTtlCheck(ctx.params.id ?? '', status, ctx.query.get('note') ?? '');
    return {};
  };
}

export const ROUTES: readonly Route[] = [
  route('GET', '/v1/health/service/:service', 'read', listHealthyNodes),
  route('GET', '/v1/catalog/service/:service', 'read', listServiceNodes),
  route('GET', '/v1/catalog/services', 'read', listServices),
  route('GET', '/v1/agent/services', 'read', (ctx) => {
    readOptions(ctx);
    return { body: agentServices(ctx.agent.catalog) };
  }),
  route('GET', '/v1/agent/checks', 'read', (ctx) => ({ body: agentChecks(ctx.agent.catalog) })),
  route('GET', '/v1/status/leader', 'open', (ctx) => ({
    body: `${ctx.agent.catalog.node.address}:8300`,
  })),
  route('GET', '/v1/status/peers', 'open', (ctx) => ({
    body: [`${ctx.agent.catalog.node.address}:8300`],
  })),
  route('PUT', '/v1/agent/service/register', 'write', (ctx) => {
    const replace = ['', '1', 'true'].includes(ctx.query.get('replace-existing-checks') ?? 'x');
    ctx.agent.register(ctx.body(), replace);
    return {};
  }),
  route('PUT', '/v1/agent/service/deregister/:id', 'write', (ctx) => {
    ctx.agent.deregister(ctx.params.id ?? '');
    return {};
  }),
  route('PUT', '/v1/agent/check/pass/:id', 'write', checkUpdate('passing')),
  route('PUT', '/v1/agent/check/warn/:id', 'write', checkUpdate('warning')),
  route('PUT', '/v1/agent/check/fail/:id', 'write', checkUpdate('critical')),
  route('PUT', '/v1/agent/check/update/:id', 'write', (ctx) => {
    const body = ctx.body();
    if (!isRecord(body)) throw new HttpError(400, 'Request decode failed: body is not an object');
    const status = body.Status ?? body.status;
    const output = body.Output ?? body.output ?? '';
    if (!CHECK_STATUSES.includes(status as CheckStatus)) {
      throw new HttpError(400, `Invalid check status: "${String(status)}"`);
    }
    if (typeof output !== 'string') throw new HttpError(400, 'Output must be a string');
    ctx.agent.updateTtlCheck(ctx.params.id ?? '', status as CheckStatus, output);
    return {};
  }),
  route('PUT', '/v1/agent/service/maintenance/:id', 'write', (ctx) => {
    const enable = ctx.query.get('enable');
    if (enable === null || enable === '') throw new HttpError(400, 'Missing value for enable');
    if (enable !== 'true' && enable !== 'false') {
      throw new HttpError(400, `Invalid value for enable: "${enable}"`);
    }
    ctx.agent.maintenance(ctx.params.id ?? '', enable === 'true', ctx.query.get('reason') ?? '');
    return {};
  }),
];

/** The empty answer an anonymous caller gets where ACLs hide everything. */
export function emptyLike(body: unknown): unknown {
  return Array.isArray(body) ? [] : isRecord(body) ? {} : body;
}
