/**
 * One datacenter's sessions, as Consul's servers keep them: created on a catalog node with the
 * health checks that keep them alive (the node's `serfHealth` by default), a `TTL` the leader
 * enforces, and the KV locks they hold. A session is invalidated when it is destroyed, when its
 * TTL runs out (Consul's leader waits twice the TTL, and so does the test server), or when one
 * of its checks turns critical or goes away, or its node does: its locks are then released or
 * deleted (`Behavior`) and the keys cannot be acquired again for its `LockDelay`.
 */
import { randomUUID } from 'node:crypto';
import { parseDuration } from '../../duration.js';
import { isRecord } from '../../read-options.js';
import type { Catalog } from './catalog.js';
import type { KvStore } from './kv.js';
import type { Raft } from './raft.js';

export type SessionBehavior = 'release' | 'delete';

export interface SessionRecord {
  readonly id: string;
  readonly name: string;
  readonly node: string;
  /** In nanoseconds, as Consul keeps and answers it. */
  readonly lockDelayNs: number;
  readonly behavior: SessionBehavior;
  /** As given (`"30s"`), or `""`: no TTL. */
  readonly ttl: string;
  readonly nodeChecks: readonly string[];
  readonly serviceChecks: readonly string[];
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** A session Consul refuses to create; the server answers 500 with its text, as Consul does. */
export class SessionError extends Error {
  override readonly name = 'SessionError';
}

/** Consul's `SessionTTLMultiplier`: the leader invalidates a session after twice its TTL. */
export const SESSION_TTL_MULTIPLIER = 2;
const TTL_MIN_MS = 10_000;
const TTL_MAX_MS = 24 * 3_600_000;
/** Consul's `MaxLockDelay`: a longer lock delay is cut to this when it applies. */
const MAX_LOCK_DELAY_MS = 60_000;
const DEFAULT_LOCK_DELAY_NS = 15e9;
/** Consul's `lockDelayMinThreshold`: a smaller number is taken as seconds. */
const LOCK_DELAY_MIN_THRESHOLD = 1000;

/** Reads a field as Consul's decoder does: the key in any case. */
function lookup(body: Readonly<Record<string, unknown>>, name: string): unknown {
  const key = Object.keys(body).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : body[key];
}

function strings(value: unknown, what: string): string[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new SessionError(`Request decode failed: ${what} must be a list of strings`);
  }
  return value;
}

/** What `PUT /v1/session/create` asks for, with Consul's defaults. */
export interface SessionDefinition {
  readonly name: string;
  readonly node: string;
  readonly lockDelayNs: number;
  readonly behavior: string;
  readonly ttl: string;
  readonly nodeChecks: readonly string[];
  readonly serviceChecks: readonly string[];
}

/**
 * A create request's body (or none) with Consul's defaults: the agent's node, a 15 s lock
 * delay, `release`, no TTL, and the node's `serfHealth` check unless checks are given. Throws
 * a `SessionError` whose text is Consul's 400 (`Request decode failed: ...`).
 */
export function parseSessionDefinition(body: unknown, agentNode: string): SessionDefinition {
  const fields = isRecord(body) ? body : {};
  if (body !== undefined && !isRecord(body)) {
    throw new SessionError('Request decode failed: body is not an object');
  }
  const text = (name: string): string => {
    const value = lookup(fields, name);
    if (value === undefined || value === null) return '';
    if (typeof value !== 'string') {
      throw new SessionError(`Request decode failed: ${name} must be a string`);
    }
    return value;
  };
  const rawDelay = lookup(fields, 'LockDelay');
  let lockDelayNs = DEFAULT_LOCK_DELAY_NS;
  if (typeof rawDelay === 'string') {
    const ms = parseDuration(rawDelay);
    if (ms === undefined) {
      throw new SessionError(
        `Request decode failed: time: invalid duration ${JSON.stringify(rawDelay)}`,
      );
    }
    lockDelayNs = Math.round(ms * 1e6);
  } else if (typeof rawDelay === 'number') {
    lockDelayNs = rawDelay;
  } else if (rawDelay !== undefined && rawDelay !== null) {
    throw new SessionError('Request decode failed: LockDelay must be a duration');
  }
  if (lockDelayNs < LOCK_DELAY_MIN_THRESHOLD) lockDelayNs *= 1e9;
  // `Checks` (deprecated) and `NodeChecks` name checks of the node; giving any of the three
  // lists, even empty, drops the default serfHealth
  const given = ['Checks', 'NodeChecks', 'ServiceChecks'].some(
    (name) => lookup(fields, name) !== undefined,
  );
  const serviceChecks = (() => {
    const value = lookup(fields, 'ServiceChecks');
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) {
      throw new SessionError('Request decode failed: ServiceChecks must be a list');
    }
    return value.map((check) => {
      const id = isRecord(check) ? lookup(check, 'ID') : undefined;
      if (typeof id !== 'string') {
        throw new SessionError('Request decode failed: a service check needs an ID');
      }
      return id;
    });
  })();
  const nodeChecks = given
    ? [
        ...new Set([
          ...strings(lookup(fields, 'Checks'), 'Checks'),
          ...strings(lookup(fields, 'NodeChecks'), 'NodeChecks'),
        ]),
      ]
    : ['serfHealth'];
  return {
    name: text('Name'),
    node: text('Node') || agentNode,
    lockDelayNs,
    behavior: text('Behavior') || 'release',
    ttl: text('TTL'),
    nodeChecks,
    serviceChecks,
  };
}

/** Go's `time.Duration.String()` for whole milliseconds and above, as Consul prints bounds. */
function goDuration(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** The session's TTL in ms, or 0 for none; throws Consul's error when out of range. */
function ttlMs(ttl: string): number {
  if (ttl === '') return 0;
  const ms = parseDuration(ttl);
  if (ms === undefined) {
    throw new SessionError(
      `Session TTL '${ttl}' invalid: time: invalid duration ${JSON.stringify(ttl)}`,
    );
  }
  if (ms !== 0 && (ms < TTL_MIN_MS || ms > TTL_MAX_MS)) {
    throw new SessionError(
      `Invalid Session TTL '${Math.round(ms * 1e6)}', must be between [${goDuration(TTL_MIN_MS)}=${goDuration(TTL_MAX_MS)}]`,
    );
  }
  return ms;
}

export class SessionStore {
  readonly #raft: Raft;
  readonly #catalog: Catalog;
  readonly #kv: KvStore;
  #sessions = new Map<string, SessionRecord>();
  /** The last index that created or invalidated a session. */
  #index = 0;
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** When each key's lock delay ends (`Date.now()` ms). */
  readonly #lockDelays = new Map<string, number>();
  #sweeping = false;
  #closed = false;

  constructor(raft: Raft, catalog: Catalog, kv: KvStore) {
    this.#raft = raft;
    this.#catalog = catalog;
    this.#kv = kv;
    // Consul invalidates a session in the same transaction that makes one of its checks
    // critical; here, right after that write, under the next index
    raft.subscribe(() => this.#sweep());
  }

  /** The index session reads report (at least 1). */
  get index(): number {
    return Math.max(1, this.#index);
  }

  get(id: string): SessionRecord | undefined {
    return this.#sessions.get(id);
  }

  /** Every session, by id, as Consul lists them. */
  list(): SessionRecord[] {
    return [...this.#sessions.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Creates a session; throws a `SessionError` with Consul's text when it cannot. */
  create(definition: SessionDefinition): SessionRecord {
    const { behavior } = definition;
    if (behavior !== 'release' && behavior !== 'delete') {
      throw new SessionError(`Invalid Behavior setting '${behavior}'`);
    }
    const ttl = ttlMs(definition.ttl);
    if (!this.#catalog.node(definition.node)) throw new SessionError('Missing node registration');
    for (const id of definition.nodeChecks) this.#refuseCheck(definition.node, id);
    for (const id of definition.serviceChecks) this.#refuseCheck(definition.node, id);
    const id = randomUUID();
    let session: SessionRecord | undefined;
    this.#raft.commit((index) => {
      session = { ...definition, id, behavior, createIndex: index, modifyIndex: index };
      this.#sessions = new Map(this.#sessions).set(id, session);
      this.#index = index;
    });
    if (ttl > 0) this.#startTimer(id, ttl);
    return session as SessionRecord;
  }

  /**
   * Destroys a session, as its invalidation does: its locks are released or deleted and get
   * its lock delay. A session that does not exist is no error, as in Consul.
   */
  destroy(id: string): void {
    const session = this.#sessions.get(id);
    this.#stopTimer(id);
    if (!session) return;
    const now = Date.now();
    this.#kv.write((tx) => {
      const keys = tx.invalidate(id, session.behavior);
      const delay = Math.min(session.lockDelayNs / 1e6, MAX_LOCK_DELAY_MS);
      if (delay > 0) for (const key of keys) this.#lockDelays.set(key, now + delay);
      const sessions = new Map(this.#sessions);
      sessions.delete(id);
      this.#sessions = sessions;
      this.#index = tx.index;
    });
  }

  /** Restarts a TTL session's timer; undefined when there is no such session. */
  renew(id: string): SessionRecord | undefined {
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    const ttl = ttlMs(session.ttl);
    if (ttl > 0) this.#startTimer(id, ttl);
    return session;
  }

  /** Whether `key` is still in the lock delay of a session invalidated while holding it. */
  lockDelayed(key: string): boolean {
    const until = this.#lockDelays.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#lockDelays.delete(key);
    return false;
  }

  /** Stops every TTL timer; sessions stay readable. */
  close(): void {
    this.#closed = true;
    for (const id of [...this.#timers.keys()]) this.#stopTimer(id);
  }

  #refuseCheck(node: string, id: string): void {
    const check = this.#catalog.check(node, id);
    if (!check) throw new SessionError(`Missing check '${id}' registration`);
    if (check.status === 'critical') {
      throw new SessionError(`Check '${id}' is in ${check.status} state`);
    }
  }

  /** Invalidates the sessions whose node or one of whose checks is gone or critical. */
  #sweep(): void {
    if (this.#sweeping || this.#sessions.size === 0) return;
    this.#sweeping = true;
    try {
      for (const session of this.list()) {
        const checks = [...session.nodeChecks, ...session.serviceChecks].map((id) =>
          this.#catalog.check(session.node, id),
        );
        const healthy =
          this.#catalog.node(session.node) !== undefined &&
          checks.every((check) => check !== undefined && check.status !== 'critical');
        if (!healthy) this.destroy(session.id);
      }
    } finally {
      this.#sweeping = false;
    }
  }

  #startTimer(id: string, ttl: number): void {
    this.#stopTimer(id);
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(id);
      this.destroy(id);
    }, ttl * SESSION_TTL_MULTIPLIER);
    timer.unref?.();
    this.#timers.set(id, timer);
  }

  #stopTimer(id: string): void {
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
  }
}

/** A session in Consul's JSON shape. */
export function sessionJson(session: SessionRecord): Record<string, unknown> {
  return {
    ID: session.id,
    Name: session.name,
    Node: session.node,
    LockDelay: session.lockDelayNs,
    Behavior: session.behavior,
    TTL: session.ttl,
    NodeChecks: session.nodeChecks.length > 0 ? [...session.nodeChecks] : null,
    ServiceChecks:
      session.serviceChecks.length > 0
        ? session.serviceChecks.map((id) => ({ ID: id, Namespace: '' }))
        : null,
    CreateIndex: session.createIndex,
    ModifyIndex: session.modifyIndex,
  };
}
