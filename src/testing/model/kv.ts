/**
 * One datacenter's KV store, as Consul keeps it: entries with `Flags`, `LockIndex`, the
 * `Session` holding the key's lock, Raft indexes, and tombstones for deleted keys, so that a
 * prefix query's index moves on a deletion too. Writes go through {@link KvStore.write}: one Raft index per write, and a write
 * that throws changes nothing (a transaction is all or nothing).
 */
import type { Raft } from './raft.js';

export interface KvEntry {
  readonly key: string;
  /** `null` for an empty value, as Consul answers it. */
  readonly value: Buffer | null;
  readonly flags: number;
  readonly lockIndex: number;
  /** The session holding the key's lock; empty when none does. */
  readonly session: string;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

function entriesUnder(entries: ReadonlyMap<string, KvEntry>, prefix: string): KvEntry[] {
  return [...entries.values()]
    .filter((e) => e.key.startsWith(prefix))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
}

export class KvStore {
  readonly #raft: Raft;
  #entries = new Map<string, KvEntry>();
  #tombstones = new Map<string, number>();
  /** The index of the last write that changed the store; 0 before any. */
  #index = 0;

  constructor(raft: Raft) {
    this.#raft = raft;
  }

  get(key: string): KvEntry | undefined {
    return this.#entries.get(key);
  }

  /** Every entry under `prefix`, by key. */
  list(prefix: string): KvEntry[] {
    return entriesUnder(this.#entries, prefix);
  }

  /**
   * The keys under `prefix`; with a `separator`, a key that has one after the prefix is cut
   * just after it (a "folder"), listed once.
   */
  keys(prefix: string, separator: string): string[] {
    const keys = new Set<string>();
    for (const { key } of this.list(prefix)) {
      const at = separator === '' ? -1 : key.indexOf(separator, prefix.length);
      keys.add(at < 0 ? key : key.slice(0, at + separator.length));
    }
    return [...keys];
  }

  /** The index a read of one key reports: its last change, else the store's. */
  keyIndex(key: string): number {
    return this.#entries.get(key)?.modifyIndex ?? Math.max(1, this.#index);
  }

  /** The index a prefix read reports: the last change (deletions included) under it. */
  prefixIndex(prefix: string): number {
    if (prefix === '') return Math.max(1, this.#index);
    let index = 0;
    for (const entry of this.list(prefix)) index = Math.max(index, entry.modifyIndex);
    for (const [key, deleted] of this.#tombstones) {
      if (key.startsWith(prefix)) index = Math.max(index, deleted);
    }
    return index || Math.max(1, this.#index);
  }

  /** Applies a write under one new index; if `apply` throws, nothing changes. */
  write<T>(apply: (tx: KvWrite) => T): T {
    const entries = new Map(this.#entries);
    const tombstones = new Map(this.#tombstones);
    let result: T | undefined;
    let failure: unknown;
    this.#raft.commit((index) => {
      const tx = new KvWrite(entries, tombstones, index);
      try {
        result = apply(tx);
      } catch (error) {
        failure = error;
        return;
      }
      this.#entries = entries;
      this.#tombstones = tombstones;
      if (tx.changed) this.#index = index;
    });
    if (failure !== undefined) throw failure;
    return result as T;
  }
}

/** The changes of one KV write, all under the same index. */
export class KvWrite {
  changed = false;
  readonly #entries: Map<string, KvEntry>;
  readonly #tombstones: Map<string, number>;
  readonly #index: number;

  constructor(entries: Map<string, KvEntry>, tombstones: Map<string, number>, index: number) {
    this.#entries = entries;
    this.#tombstones = tombstones;
    this.#index = index;
  }

  get(key: string): KvEntry | undefined {
    return this.#entries.get(key);
  }

  list(prefix: string): KvEntry[] {
    return entriesUnder(this.#entries, prefix);
  }

  /** The index this write applies under. */
  get index(): number {
    return this.#index;
  }

  /**
   * Sets a key. A plain write keeps the lock (and `LockIndex`) as they are, as Consul does;
   * `session` sets the holder (`''` releases it).
   */
  set(key: string, value: Buffer | null, flags: number, session?: string): KvEntry {
    const previous = this.#entries.get(key);
    const entry: KvEntry = {
      key,
      value: value && value.length > 0 ? value : null,
      flags,
      lockIndex: previous?.lockIndex ?? 0,
      session: session ?? previous?.session ?? '',
      createIndex: previous?.createIndex ?? this.#index,
      modifyIndex: this.#index,
    };
    this.#entries.set(key, entry);
    this.#tombstones.delete(key);
    this.changed = true;
    return entry;
  }

  /** Check-and-set: index 0 only creates; otherwise the key's `ModifyIndex` must match. */
  cas(key: string, value: Buffer | null, flags: number, index: number): boolean {
    const existing = this.#entries.get(key);
    if (index === 0 ? existing !== undefined : existing?.modifyIndex !== index) return false;
    this.set(key, value, flags);
    return true;
  }

  /**
   * `?acquire=`: takes the key's lock for `session` (which must exist) and sets its value.
   * False when another session holds it; `LockIndex` grows only when the lock changes hands.
   */
  lock(key: string, value: Buffer | null, flags: number, session: string): boolean {
    const existing = this.#entries.get(key);
    if (existing && existing.session !== '' && existing.session !== session) return false;
    const lockIndex = (existing?.lockIndex ?? 0) + (existing?.session === session ? 0 : 1);
    this.set(key, value, flags, session);
    this.#entries.set(key, { ...(this.#entries.get(key) as KvEntry), lockIndex });
    return true;
  }

  /** `?release=`: releases the key's lock and sets its value, if `session` holds it. */
  unlock(key: string, value: Buffer | null, flags: number, session: string): boolean {
    const existing = this.#entries.get(key);
    if (!existing || existing.session !== session) return false;
    this.set(key, value, flags, '');
    return true;
  }

  /**
   * A session's invalidation: every key it holds is released (`release`, value kept) or
   * deleted (`delete`). Returns those keys.
   */
  invalidate(session: string, behavior: 'release' | 'delete'): string[] {
    const held = [...this.#entries.values()].filter((e) => e.session === session);
    for (const entry of held) {
      if (behavior === 'delete') this.delete(entry.key);
      else this.set(entry.key, entry.value, entry.flags, '');
    }
    return held.map((e) => e.key);
  }

  delete(key: string): void {
    if (!this.#entries.delete(key)) return;
    this.#tombstones.set(key, this.#index);
    this.changed = true;
  }

  deleteTree(prefix: string): void {
    for (const entry of this.list(prefix)) this.delete(entry.key);
  }

  /**
   * Deletes only when the key's `ModifyIndex` is `index` (so never for index 0). A key that
   * is already gone counts as deleted, as in Consul.
   */
  deleteCas(key: string, index: number): boolean {
    const existing = this.#entries.get(key);
    if (existing === undefined) return true;
    if (existing.modifyIndex !== index) return false;
    this.delete(key);
    return true;
  }
}

/** A KV entry in Consul's JSON shape; `withValue: false` blanks the value (txn results). */
export function kvJson(entry: KvEntry, withValue = true): Record<string, unknown> {
  return {
    LockIndex: entry.lockIndex,
    Key: entry.key,
    Flags: entry.flags,
    Value: withValue && entry.value ? entry.value.toString('base64') : null,
    // Consul's DirEntry has `Session string \`json:",omitempty"\``
    ...(entry.session !== '' && { Session: entry.session }),
    CreateIndex: entry.createIndex,
    ModifyIndex: entry.modifyIndex,
  };
}
