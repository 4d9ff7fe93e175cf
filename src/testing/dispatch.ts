/**
 * One request to the test server, from URL to reply: route matching (404, 405), the ACL
 * check, path parameters, and what an anonymous reader may see. Errors become Consul's
 * status codes and texts, so this never throws.
 */
import type { IncomingMessage } from 'node:http';
import { type Agent, CheckUpdateError, UnknownIdError } from './agent.js';
import { readBody } from './listener.js';
import { RegistrationError } from './registration.js';
import {
  type Access,
  emptyLike,
  HttpError,
  type Reply,
  ROUTES,
  type RouteContext,
} from './routes.js';

export interface Server {
  readonly agent: Agent;
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
  body: string,
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
  if (found.kind === 'write' && access !== 'write') {
    const who = access === 'anonymous' ? 'anonymous token' : 'token';
    throw new HttpError(403, `Permission denied: ${who} lacks permission 'service:write'`);
  }
  const values = found.pattern.exec(url.pathname)?.slice(1) ?? [];
  const params: Record<string, string> = {};
  found.names.forEach((name, i) => {
    params[name] = decodeURIComponent(values[i] ?? '');
  });
  const ctx: RouteContext = {
    agent: server.agent,
    params,
    query: url.searchParams,
    body: () => parseJson(body),
    access,
    signal,
  };
  const reply = await found.handler(ctx);
  if (found.kind === 'read' && access === 'anonymous') {
    return { ...reply, body: emptyLike(reply.body), filteredByAcl: true };
  }
  return reply;
}

/** What the request's token allows; throws 403 `ACL not found` for an unknown token. */
function accessOf(tokens: Server['tokens'], req: IncomingMessage, url: URL): Access {
  if (!tokens) return 'write';
  const header = req.headers['x-consul-token'];
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const token =
    (Array.isArray(header) ? header[0] : header) || bearer || url.searchParams.get('token');
  if (!token) return 'anonymous';
  const access = Object.hasOwn(tokens, token) ? tokens[token] : undefined;
  if (!access) throw new HttpError(403, 'ACL not found');
  return access;
}

function errorStatus(error: unknown): [number, string] {
  if (error instanceof HttpError) return [error.status, error.message];
  if (error instanceof RegistrationError) return [400, error.message];
  if (error instanceof UnknownIdError) return [404, error.message];
  if (error instanceof CheckUpdateError) return [500, error.message];
  return [500, error instanceof Error ? error.message : String(error)];
}

function parseJson(body: string): unknown {
  if (body.trim() === '') throw new HttpError(400, 'Request decode failed: EOF');
  try {
    return JSON.parse(body);
  } catch (error) {
    throw new HttpError(400, `Request decode failed: ${(error as Error).message}`);
  }
}
