/**
 * `/v1/session/*`: sessions created, destroyed and renewed as Consul's servers do them, and
 * read (`info`, `node`, `list`) with blocking on the sessions' index.
 */
import { parseSessionDefinition, SessionError, sessionJson } from '../model/sessions.js';
import {
  block,
  HttpError,
  noCommit,
  type Reply,
  type RouteAcl,
  type RouteContext,
  readOptions,
  route,
} from './routes.js';

const WRITE: RouteAcl = { kind: 'write', resource: 'session' };
const LIST: RouteAcl = { kind: 'list', resource: 'session' };

function create(ctx: RouteContext): Reply {
  let definition: ReturnType<typeof parseSessionDefinition>;
  try {
    const body = ctx.raw.length > 0 ? ctx.body() : undefined;
    definition = parseSessionDefinition(body, ctx.dc.node.name);
  } catch (error) {
    if (error instanceof SessionError) throw new HttpError(400, error.message);
    throw error;
  }
  return { body: { ID: ctx.dc.sessions.create(definition).id } };
}

/** A read of the sessions that `select` picks, blocking on the sessions' index. */
async function read(
  ctx: RouteContext,
  select: () => ReturnType<RouteContext['dc']['sessions']['list']>,
): Promise<Reply> {
  const { consistency } = readOptions(ctx);
  const sessions = ctx.dc.sessions;
  await block(ctx, () => sessions.index);
  return { body: select().map(sessionJson), index: sessions.index, consistency };
}

export const SESSION_ROUTES = [
  route('PUT', '/v1/session/create', WRITE, create),
  route('PUT', '/v1/session/destroy/:id', WRITE, (ctx) => {
    ctx.dc.sessions.destroy(ctx.params.id ?? '');
    return { body: true };
  }),
  // a renewal resets the leader's timer; it is no Raft write
  noCommit(
    route('PUT', '/v1/session/renew/:id', WRITE, (ctx) => {
      const id = ctx.params.id ?? '';
      const session = ctx.dc.sessions.renew(id);
      if (!session) throw new HttpError(404, `Session id '${id}' not found`);
      return { body: [sessionJson(session)], index: ctx.dc.sessions.index };
    }),
  ),
  route('GET', '/v1/session/info/:id', LIST, (ctx) =>
    read(ctx, () => {
      const session = ctx.dc.sessions.get(ctx.params.id ?? '');
      return session ? [session] : [];
    }),
  ),
  route('GET', '/v1/session/node/:node', LIST, (ctx) =>
    read(ctx, () => ctx.dc.sessions.list().filter((s) => s.node === ctx.params.node)),
  ),
  route('GET', '/v1/session/list', LIST, (ctx) => read(ctx, () => ctx.dc.sessions.list())),
];
