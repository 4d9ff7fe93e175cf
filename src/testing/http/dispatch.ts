/**
 * One request to the test server, from URL to reply: route matching (404, 405), the ACL
 * check, path parameters, the datacenter asked (`?dc=`, answered by that datacenter's server
 * over the WAN), and what an anonymous reader may see. Errors become Consul's status codes
 * and texts, so this never throws.
 */
import type { IncomingMessage } from 'node:http';
import { UnknownIdError } from '../model/agent.js';
import { RegistrationError } from '../model/registration.js';
import type { WanMember } from '../model/wan.js';
import { AGENT_ROUTES } from './agent-routes.js';
import { CATALOG_ROUTES } from './catalog-routes.js';
import { EVENT_ROUTES } from './event-routes.js';
import { HEALTH_ROUTES } from './health-routes.js';
import { KV_ROUTES } from './kv-routes.js';
import { readBody } from './listener.js';
import {
  type Access,
  emptyLike,
  HttpError,
  permissionDenied,
  type Reply,
  type Route,
  type RouteContext,
} from './routes.js';
import { SESSION_ROUTES } from './session-routes.js';
import { TXN_ROUTES } from './txn-routes.js';

const ROUTES: readonly Route[] = [
  ...AGENT_ROUTES,
  ...CATALOG_ROUTES,
  ...HEALTH_ROUTES,
  ...KV_ROUTES,
  ...TXN_ROUTES,
  ...SESSION_ROUTES,
  ...EVENT_ROUTES,
];

export interface Server {
  /** This server, a member of its WAN pool. */
  readonly wan: WanMember;
  /** ACL tokens and what they allow; undefined when ACLs are off. */
  readonly tokens: Readonly<Record<string, 'read' | 'write'>> | undefined;
}

/** The reply to one request, before faults strike it. */
export async function dispatch(
  server: Server,
  req: IncomingMessage,
  url: URL,
  signal: AbortSignal,
): Promise<Reply> {
  try {
    return await route(server, req, url, await readBody(req), signal);
  } catch (error) {
    const [status, text] = errorStatus(error);
    return { status, text };
  }
}

async function route(
  server: Server,
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  signal: AbortSignal,
): Promise<Reply> {
  const method = req.method ?? 'GET';
  const matches = ROUTES.filter((r) => r.pattern.test(url.pathname));
  const found = matches.find((r) => r.method === method);
  if (!found) {
    if (matches.length > 0) throw new HttpError(405, `method ${method} not allowed`);
    throw new HttpError(404, '404 page not found');
  }
  const access = accessOf(server.tokens, req, url);
  const { kind, resource } = found.acl;
  if ((kind === 'write' && access !== 'write') || (kind === 'read' && access === 'anonymous')) {
    throw permissionDenied(access, `${resource}:${kind}`);
  }
  const asked = found.forwards ? url.searchParams.get('dc') || undefined : undefined;
  const target = asked === undefined ? server.wan : server.wan.find(asked);
  if (!target) throw new HttpError(500, 'No path to datacenter');
  // a query for another datacenter also ends when that datacenter's server stops
  const linked = anyOf(target === server.wan ? [signal] : [signal, target.left]);
  const values = found.pattern.exec(url.pathname)?.slice(1) ?? [];
  const params: Record<string, string> = {};
  found.names.forEach((name, i) => {
    params[name] = decodeURIComponent(values[i] ?? '');
  });
  const ctx: RouteContext = {
    agent: server.wan.agent,
    dc: target.agent,
    wan: server.wan.members().map((member) => member.agent),
    primaryDatacenter: server.wan.primary,
    aclEnabled: server.tokens !== undefined,
    params,
    query: url.searchParams,
    headers: req.headers,
    body: () => parseJson(body),
    raw: body,
    access,
    signal: linked.signal,
  };
  let reply: Reply;
  try {
    // a write is applied once Raft commits it, and answered then (commitDelayMs)
    if (found.commits) await target.agent.commitDelay();
    reply = await found.handler(ctx);
  } finally {
    linked.unlink();
  }
  // the datacenter asked left the WAN (its server stopped) while a query waited on it
  if (target.left.aborted) throw new HttpError(500, 'No path to datacenter');
  if (kind === 'list' && access === 'anonymous') {
    return { ...reply, body: emptyLike(reply.body), filteredByAcl: true };
  }
  return reply;
}

/**
 * A signal that aborts with any of `sources`; `unlink` removes its listeners, so a
 * long-lived source (a server's WAN membership) keeps nothing of a request that ended.
 */
function anyOf(sources: readonly AbortSignal[]): { signal: AbortSignal; unlink: () => void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  for (const source of sources) source.addEventListener('abort', abort, { once: true });
  if (sources.some((source) => source.aborted)) abort();
  const unlink = () => {
    for (const source of sources) source.removeEventListener('abort', abort);
  };
  return { signal: controller.signal, unlink };
}

/**
 * The request's ACL token, as Consul reads it: `?token=` first, then `X-Consul-Token`, then
 * `Authorization: Bearer <token>` (the scheme in any case, the first word after it).
 */
function tokenOf(req: IncomingMessage, url: URL): string {
  const query = url.searchParams.get('token');
  if (query) return query;
  const header = req.headers['x-consul-token'];
  const value = Array.isArray(header) ? header[0] : header;
  if (value) return value;
  const [scheme, ...rest] = (req.headers.authorization ?? '').split(' ');
  if (rest.length === 0 || scheme?.toLowerCase() !== 'bearer') return '';
  return rest.join(' ').trim().split(' ')[0] ?? '';
}

/** What the request's token allows; throws 403 `ACL not found` for an unknown token. */
function accessOf(tokens: Server['tokens'], req: IncomingMessage, url: URL): Access {
  if (!tokens) return 'write';
  const token = tokenOf(req, url);
  if (!token) return 'anonymous';
  const access = Object.hasOwn(tokens, token) ? tokens[token] : undefined;
  if (!access) throw new HttpError(403, 'ACL not found');
  return access;
}

function errorStatus(error: unknown): [number, string] {
  if (error instanceof HttpError) return [error.status, error.message];
  if (error instanceof RegistrationError) return [400, error.message];
  if (error instanceof UnknownIdError) return [404, error.message];
  // the rest is a 500, as for Consul's RPC errors (CheckUpdateError, ScriptChecksDisabledError,
  // CatalogRpcError)
  return [500, error instanceof Error ? error.message : String(error)];
}

function parseJson(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'Request decode failed: EOF');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `Request decode failed: ${(error as Error).message}`);
  }
}
