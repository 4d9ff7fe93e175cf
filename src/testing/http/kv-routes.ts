/**
 * `/v1/kv/:key`: reads (one key, `recurse`, `keys` with `separator`, `raw`) that block on
 * the KV index as Consul's do, and writes (`flags`, `cas`, delete with `recurse` or `cas`),
 * and locks: `acquire` and `release` with a session, as Consul's sessions hold them.
 */
import { kvJson } from '../model/kv.js';
import {
  block,
  HttpError,
  permissionDenied,
  type Reply,
  type RouteContext,
  readOptions,
  route,
  uintParam,
} from './routes.js';

/** Consul's `kv_max_value_size` default. */
export const MAX_KV_VALUE = 512 * 1024;

/** Go's `url.Values.Encode()`: keys sorted, values escaped. */
function encode(query: URLSearchParams): string {
  const sorted = new URLSearchParams([...query].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return sorted.toString();
}

/** 400 when more than one of `names` is in the query, with Consul's message. */
function refuseConflicting(ctx: RouteContext, ...names: string[]): void {
  if (names.filter((name) => ctx.query.has(name)).length > 1) {
    throw new HttpError(400, `Conflicting flags: ${encode(ctx.query)}`);
  }
}

async function read(ctx: RouteContext): Promise<Reply> {
  const { consistency } = readOptions(ctx);
  const key = ctx.params.key ?? '';
  const kv = ctx.dc.kv;
  const anonymous = ctx.access === 'anonymous';
  if (ctx.query.has('keys')) {
    const separator = ctx.query.get('separator') ?? ctx.query.get('seperator') ?? '';
    await block(ctx, () => kv.prefixIndex(key));
    const keys = anonymous ? [] : kv.keys(key, separator);
    const index = kv.prefixIndex(key);
    // the root lists nothing as []; any other prefix with nothing under it is a 404
    const status = keys.length === 0 && key !== '' ? 404 : 200;
    return status === 404
      ? { status, index, consistency, filteredByAcl: anonymous }
      : { body: keys, index, consistency, filteredByAcl: anonymous };
  }
  if (ctx.query.has('recurse')) {
    await block(ctx, () => kv.prefixIndex(key));
    const entries = anonymous ? [] : kv.list(key);
    const index = kv.prefixIndex(key);
    if (entries.length === 0) return { status: 404, index, consistency, filteredByAcl: anonymous };
    return { body: entries.map((e) => kvJson(e)), index, consistency };
  }
  if (key === '') throw new HttpError(400, 'Missing key name');
  if (anonymous) throw permissionDenied(ctx.access, 'key:read');
  await block(ctx, () => kv.keyIndex(key));
  const entry = kv.get(key);
  const index = kv.keyIndex(key);
  if (!entry) return { status: 404, index, consistency };
  if (ctx.query.has('raw')) {
    return {
      bytes: entry.value ?? Buffer.alloc(0),
      index,
      consistency,
      headers: { 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': 'sandbox' },
    };
  }
  return { body: [kvJson(entry)], index, consistency };
}

function put(ctx: RouteContext): Reply {
  const key = ctx.params.key ?? '';
  if (key === '') throw new HttpError(400, 'Missing key name');
  refuseConflicting(ctx, 'cas', 'acquire', 'release');
  const flags = uintParam(ctx.query, 'flags') ?? 0;
  const cas = uintParam(ctx.query, 'cas');
  if (ctx.raw.length > MAX_KV_VALUE) {
    throw new HttpError(
      413,
      `Request body(${ctx.raw.length} bytes) too large, max size: ${MAX_KV_VALUE} bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.`,
    );
  }
  const acquire = ctx.query.get('acquire');
  const release = ctx.query.get('release');
  if (acquire !== null || release !== null) {
    const session = acquire ?? release ?? '';
    if (session === '') throw new HttpError(500, 'missing session');
    const { kv, sessions } = ctx.dc;
    if (release !== null)
      return { body: kv.write((tx) => tx.unlock(key, ctx.raw, flags, session)) };
    // Consul checks the lock delay before the session, on the leader, before the Raft write
    if (sessions.lockDelayed(key)) return { body: false };
    if (!sessions.get(session)) {
      throw new HttpError(500, `invalid session ${JSON.stringify(session)}`);
    }
    return { body: kv.write((tx) => tx.lock(key, ctx.raw, flags, session)) };
  }
  const done = ctx.dc.kv.write((tx) => {
    if (cas !== undefined) return tx.cas(key, ctx.raw, flags, cas);
    tx.set(key, ctx.raw, flags);
    return true;
  });
  return { body: done };
}

function remove(ctx: RouteContext): Reply {
  refuseConflicting(ctx, 'recurse', 'cas');
  const key = ctx.params.key ?? '';
  const recurse = ctx.query.has('recurse');
  if (!recurse && key === '') throw new HttpError(400, 'Missing key name');
  const cas = uintParam(ctx.query, 'cas');
  const done = ctx.dc.kv.write((tx) => {
    if (recurse) tx.deleteTree(key);
    else if (cas !== undefined) return tx.deleteCas(key, cas);
    else tx.delete(key);
    return true;
  });
  return { body: done };
}

export const KV_ROUTES = [
  // reads decide themselves what an anonymous caller sees
  route('GET', '/v1/kv/*key', { kind: 'open', resource: 'key' }, read),
  route('PUT', '/v1/kv/*key', { kind: 'write', resource: 'key' }, put),
  route('DELETE', '/v1/kv/*key', { kind: 'write', resource: 'key' }, remove),
];
