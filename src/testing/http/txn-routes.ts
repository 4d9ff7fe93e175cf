/**
 * `PUT /v1/txn` for KV operations: every operation applies under one Raft index, or none
 * does (409 with every failure's `OpIndex` and `What`, Consul's wording). A transaction of
 * reads only is answered without a write. Node, service and check operations are not
 * supported by the test server (400).
 */
import { isRecord } from '../../read-options.js';
import { field, type Json, RegistrationError, text } from '../model/json-fields.js';
import { type KvEntry, type KvWrite, kvJson } from '../model/kv.js';
import type { SessionStore } from '../model/sessions.js';
import { MAX_KV_VALUE } from './kv-routes.js';
import {
  HttpError,
  noCommit,
  permissionDenied,
  type Reply,
  type RouteContext,
  route,
} from './routes.js';

const MAX_OPS = 128;
const READS = new Set([
  'get',
  'get-or-empty',
  'get-tree',
  'check-index',
  'check-session',
  'check-not-exists',
]);

interface KvOp {
  readonly verb: string;
  readonly key: string;
  readonly value: Buffer | null;
  readonly flags: number;
  readonly index: number;
  readonly session: string;
}

type Result = { readonly KV: Record<string, unknown> };

/** What a transaction can read: the store itself, or a write in progress. */
type KvView = Pick<KvWrite, 'get' | 'list'>;

function integer(op: Json, name: string): number {
  const value = field(op, name) ?? 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new HttpError(400, `Failed to parse body: ${name} must be an unsigned integer`);
  }
  return value;
}

function parseOp(raw: unknown): KvOp {
  const kv = isRecord(raw) ? field(raw, 'KV') : undefined;
  if (isRecord(raw) && kv === undefined) {
    throw new HttpError(400, 'ConsulTestServer supports KV operations only in /v1/txn');
  }
  if (!isRecord(kv)) throw new HttpError(400, 'Failed to parse body: operation is not an object');
  const key = text(kv, 'Key');
  const encoded = text(kv, 'Value');
  const value = encoded === '' ? null : Buffer.from(encoded, 'base64');
  if (value && value.length > MAX_KV_VALUE) {
    throw new HttpError(
      413,
      `Value for key ${JSON.stringify(key)} is too large (${value.length} > ${MAX_KV_VALUE} bytes)`,
    );
  }
  return {
    verb: text(kv, 'Verb'),
    key,
    value,
    flags: integer(kv, 'Flags'),
    index: integer(kv, 'Index'),
    session: text(kv, 'Session'),
  };
}

/** One operation's results; throws its failure as Consul words it. */
function apply(view: KvView, tx: KvWrite | undefined, op: KvOp, sessions: SessionStore): KvEntry[] {
  const { verb, key, index } = op;
  const existing = view.get(key);
  const write = (): KvWrite => {
    if (!tx) throw new Error(`unknown KV verb ${JSON.stringify(verb)}`);
    return tx;
  };
  switch (verb) {
    case 'set':
      return [write().set(key, op.value, op.flags)];
    case 'cas':
      if (!write().cas(key, op.value, op.flags, index)) {
        throw new Error(`failed to set key ${JSON.stringify(key)}, index is stale`);
      }
      return [view.get(key) as KvEntry];
    case 'lock':
      if (op.session === '') throw new Error('missing session');
      if (sessions.lockDelayed(key)) {
        throw new Error(`failed to lock key ${JSON.stringify(key)} due to lock delay`);
      }
      if (!sessions.get(op.session))
        throw new Error(`invalid session ${JSON.stringify(op.session)}`);
      if (!write().lock(key, op.value, op.flags, op.session)) {
        throw new Error(`failed to lock key ${JSON.stringify(key)}, lock is already held`);
      }
      return [view.get(key) as KvEntry];
    case 'unlock':
      if (op.session === '') throw new Error('missing session');
      if (!write().unlock(key, op.value, op.flags, op.session)) {
        throw new Error(
          `failed to unlock key ${JSON.stringify(key)}, lock isn't held, or is held by another session`,
        );
      }
      return [view.get(key) as KvEntry];
    case 'get':
      if (!existing) throw new Error(`key ${JSON.stringify(key)} doesn't exist`);
      return [existing];
    case 'get-or-empty':
      return [
        existing ?? {
          key,
          value: null,
          flags: 0,
          lockIndex: 0,
          session: '',
          createIndex: 0,
          modifyIndex: 0,
        },
      ];
    case 'get-tree':
      return view.list(key);
    case 'check-index':
      if (!existing) {
        throw new Error(`failed to check index of key ${JSON.stringify(key)}, key doesn't exist`);
      }
      if (existing.modifyIndex !== index) {
        throw new Error(
          `failed to check index of key ${JSON.stringify(key)}, index is ${existing.modifyIndex}, expected ${index}`,
        );
      }
      return [existing];
    case 'check-session':
      if (!existing) {
        throw new Error(`failed to check session, key ${JSON.stringify(key)} doesn't exist`);
      }
      if (existing.session !== op.session) {
        throw new Error(
          `failed session check for key ${JSON.stringify(key)}, current session ${JSON.stringify(existing.session)} != ${JSON.stringify(op.session)}`,
        );
      }
      return [existing];
    case 'check-not-exists':
      if (existing) throw new Error(`key ${JSON.stringify(key)} exists`);
      return [];
    case 'delete':
      write().delete(key);
      return [];
    case 'delete-tree':
      write().deleteTree(key);
      return [];
    case 'delete-cas':
      if (!write().deleteCas(key, index)) {
        throw new Error(`failed to delete key ${JSON.stringify(key)}, index is stale`);
      }
      return [];
    default:
      throw new Error(`unknown KV verb ${JSON.stringify(verb)}`);
  }
}

class Rollback extends Error {
  constructor(readonly errors: { OpIndex: number; What: string }[]) {
    super('transaction rolled back');
  }
}

/** Runs every operation, collecting results and every failure. */
function run(
  ops: readonly KvOp[],
  view: KvView,
  tx: KvWrite | undefined,
  sessions: SessionStore,
): Result[] {
  const results: Result[] = [];
  const errors: { OpIndex: number; What: string }[] = [];
  ops.forEach((op, i) => {
    try {
      const keepValue = op.verb === 'get' || op.verb === 'get-or-empty' || op.verb === 'get-tree';
      for (const entry of apply(view, tx, op, sessions))
        results.push({ KV: kvJson(entry, keepValue) });
    } catch (error) {
      errors.push({ OpIndex: i, What: (error as Error).message });
    }
  });
  if (errors.length > 0) throw new Rollback(errors);
  return results;
}

async function transaction(ctx: RouteContext): Promise<Reply> {
  const body = (() => {
    try {
      return ctx.body();
    } catch (error) {
      throw new HttpError(400, `Failed to parse body: ${(error as Error).message}`);
    }
  })();
  if (!Array.isArray(body))
    throw new HttpError(400, 'Failed to parse body: not a list of operations');
  if (body.length > MAX_OPS) {
    throw new HttpError(
      413,
      `Transaction contains too many operations (${body.length} > ${MAX_OPS})`,
    );
  }
  const ops = (() => {
    try {
      return body.map(parseOp);
    } catch (error) {
      if (error instanceof RegistrationError)
        throw new HttpError(400, `Failed to parse body: ${error.message}`);
      throw error;
    }
  })();
  const readOnly = ops.every((op) => READS.has(op.verb));
  if (!readOnly && ctx.access !== 'write') throw permissionDenied(ctx.access, 'key:write');
  const kv = ctx.dc.kv;
  try {
    if (readOnly) {
      const results = run(ops, kv, undefined, ctx.dc.sessions);
      return {
        body: { Results: results, Errors: null },
        headers: { 'X-Consul-KnownLeader': 'true', 'X-Consul-LastContact': '0' },
      };
    }
    // only a transaction that writes goes through Raft (commitDelayMs)
    await ctx.dc.commitDelay();
    return { body: { Results: kv.write((tx) => run(ops, tx, tx, ctx.dc.sessions)), Errors: null } };
  } catch (error) {
    if (error instanceof Rollback)
      return { status: 409, body: { Results: null, Errors: error.errors } };
    throw error;
  }
}

export const TXN_ROUTES = [
  noCommit(route('PUT', '/v1/txn', { kind: 'read', resource: 'key' }, transaction)),
];
