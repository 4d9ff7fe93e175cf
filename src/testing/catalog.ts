/**
 * The test server's state: one node, its services and checks, and Raft-like indexes. Every
 * write takes the next value of one global index, which only grows; each service name
 * remembers the index of the last write that touched it (deletions included), so a query
 * returns the index of the data it read and a blocking query wakes only on its own changes.
 */
import type { CheckStatus, CheckType, ParsedCheck, ParsedService } from './registration.js';

export interface NodeInfo {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly datacenter: string;
  readonly meta: Readonly<Record<string, string>>;
}

export interface ServiceRecord extends Omit<ParsedService, 'checks'> {
  readonly createIndex: number;
  readonly modifyIndex: number;
}

export interface CheckRecord {
  readonly id: string;
  readonly name: string;
  readonly serviceId: string;
  readonly serviceName: string;
  readonly type: CheckType | 'maintenance';
  readonly status: CheckStatus;
  readonly output: string;
  readonly notes: string;
  readonly interval: string;
  readonly timeout: string;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

export class Catalog {
  readonly node: NodeInfo;
  #index = 1;
  readonly #services = new Map<string, ServiceRecord>();
  readonly #checks = new Map<string, CheckRecord>();
  readonly #serviceIndexes = new Map<string, number>();
  readonly #listeners = new Set<() => void>();

  constructor(node: NodeInfo) {
    this.node = node;
  }

  /** The last index handed out. */
  get index(): number {
    return this.#index;
  }

  /** The index a query on `name` reports: its last write, else the catalog's. */
  serviceIndex(name: string): number {
    return this.#serviceIndexes.get(name) ?? this.#index;
  }

  service(id: string): ServiceRecord | undefined {
    return this.#services.get(id);
  }

  check(id: string): CheckRecord | undefined {
    return this.#checks.get(id);
  }

  services(): IterableIterator<ServiceRecord> {
    return this.#services.values();
  }

  checks(): IterableIterator<CheckRecord> {
    return this.#checks.values();
  }

  checksOf(serviceId: string): CheckRecord[] {
    return [...this.#checks.values()].filter((check) => check.serviceId === serviceId);
  }

  /** Adds or replaces a service and the given checks, keeping a re-registered check's state. */
  putService(service: ParsedService, dropOtherChecks: boolean): void {
    const previous = this.#services.get(service.id);
    const index = this.#commit([service.name, ...(previous ? [previous.name] : [])]);
    const { checks, ...fields } = service;
    this.#services.set(service.id, {
      ...fields,
      createIndex: previous?.createIndex ?? index,
      modifyIndex: index,
    });
    const keep = new Set(checks.map((check) => check.id));
    for (const check of this.checksOf(service.id)) {
      if (dropOtherChecks && !keep.has(check.id) && check.type !== 'maintenance') {
        this.#checks.delete(check.id);
      } else if (previous && previous.name !== service.name) {
        this.#checks.set(check.id, { ...check, serviceName: service.name, modifyIndex: index });
      }
    }
    for (const check of checks) this.#putCheck(check, service, index);
  }

  #putCheck(check: ParsedCheck, service: ParsedService, index: number): void {
    const previous = this.#checks.get(check.id);
    this.#checks.set(check.id, {
      id: check.id,
      name: check.name,
      serviceId: service.id,
      serviceName: service.name,
      type: check.type,
      // as Consul's agent does, a re-registered check keeps the state it had
      status: previous?.status ?? check.status,
      output: previous?.output ?? '',
      notes: check.notes,
      interval: check.interval,
      timeout: check.timeout,
      createIndex: previous?.createIndex ?? index,
      modifyIndex: index,
    });
  }

  /** Removes a service and its checks; false when there was none. */
  deleteService(id: string): boolean {
    const service = this.#services.get(id);
    if (!service) return false;
    this.#commit([service.name]);
    this.#services.delete(id);
    for (const check of this.checksOf(id)) this.#checks.delete(check.id);
    return true;
  }

  /** Adds a check of a kind the agent manages itself (maintenance mode). */
  putAgentCheck(check: Omit<CheckRecord, 'createIndex' | 'modifyIndex'>): void {
    const index = this.#commit([check.serviceName]);
    this.#checks.set(check.id, { ...check, createIndex: index, modifyIndex: index });
  }

  deleteCheck(id: string): boolean {
    const check = this.#checks.get(id);
    if (!check) return false;
    this.#commit([check.serviceName]);
    this.#checks.delete(id);
    return true;
  }

  /** Sets a check's status and output; a write (and a new index) only when either changed. */
  updateCheck(id: string, status: CheckStatus, output: string): boolean {
    const check = this.#checks.get(id);
    if (!check || (check.status === status && check.output === output)) return false;
    const index = this.#commit([check.serviceName]);
    this.#checks.set(id, { ...check, status, output, modifyIndex: index });
    return true;
  }

  /** Calls `listener` after every write; returns the function that stops it. */
  onWrite(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves once `currentIndex()` is above `minIndex`, after `timeoutMs`, or when `signal`
   * aborts: Consul's blocking query.
   */
  waitForChange(
    currentIndex: () => number,
    minIndex: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    if (currentIndex() > minIndex || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stop();
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      const stop = this.onWrite(() => {
        if (currentIndex() > minIndex) done();
      });
      signal.addEventListener('abort', done, { once: true });
    });
  }

  #commit(names: readonly string[]): number {
    this.#index += 1;
    for (const name of names) this.#serviceIndexes.set(name, this.#index);
    // listeners may unsubscribe while we iterate
    for (const listener of [...this.#listeners]) listener();
    return this.#index;
  }
}
