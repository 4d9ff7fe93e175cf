/**
 * One datacenter's catalog: nodes, the services on them and their checks (a check with no
 * service is a node check, such as `serfHealth`, and counts for every service on its node).
 * Writes go through {@link Catalog.write}: one Raft index per write, and every table and
 * service name the write touched remembers it, so a query returns the index of the data it
 * read and a blocking query wakes only on its own changes (deletions included).
 */
import type { Raft } from './raft.js';
import type { CheckStatus, CheckType, ParsedService } from './registration.js';

export interface NodeRecord {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly taggedAddresses: Readonly<Record<string, string>>;
  readonly meta: Readonly<Record<string, string>>;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

export type ServiceFields = Omit<ParsedService, 'checks'>;

export interface ServiceRecord extends ServiceFields {
  readonly node: string;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

export interface CheckFields {
  readonly id: string;
  readonly name: string;
  /** Empty for a node check. */
  readonly serviceId: string;
  readonly type: CheckType | 'maintenance' | '';
  readonly status: CheckStatus;
  readonly output: string;
  readonly notes: string;
  readonly interval: string;
  readonly timeout: string;
}

export interface CheckRecord extends CheckFields {
  readonly node: string;
  readonly serviceName: string;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** What an index answers for: a whole table, or one service name's instances and checks. */
export type IndexKey = 'nodes' | 'services' | 'checks' | `service:${string}`;

const key = (node: string, id: string) => `${node}\0${id}`;

function byNodeThenId(a: ServiceRecord | CheckRecord, b: ServiceRecord | CheckRecord): number {
  return a.node === b.node ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.node < b.node ? -1 : 1;
}

export class Catalog {
  readonly datacenter: string;
  readonly raft: Raft;
  readonly #nodes = new Map<string, NodeRecord>();
  readonly #services = new Map<string, ServiceRecord>();
  readonly #checks = new Map<string, CheckRecord>();
  readonly #indexes = new Map<IndexKey | 'catalog', number>();

  constructor(raft: Raft, datacenter: string) {
    this.raft = raft;
    this.datacenter = datacenter;
  }

  /** The index of the last write that touched `key`, else of the last catalog write. */
  index(key: IndexKey): number {
    return this.#indexes.get(key) ?? this.#indexes.get('catalog') ?? this.raft.index;
  }

  node(name: string): NodeRecord | undefined {
    return this.#nodes.get(name);
  }

  /** Every node, by name. */
  nodes(): NodeRecord[] {
    return [...this.#nodes.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  service(node: string, id: string): ServiceRecord | undefined {
    return this.#services.get(key(node, id));
  }

  /** Every service instance (of one name, or on one node), by node then id. */
  services(filter: { readonly name?: string; readonly node?: string } = {}): ServiceRecord[] {
    return [...this.#services.values()]
      .filter((s) => (filter.name ?? s.name) === s.name && (filter.node ?? s.node) === s.node)
      .sort(byNodeThenId);
  }

  check(node: string, id: string): CheckRecord | undefined {
    return this.#checks.get(key(node, id));
  }

  /** Checks by node then id; `serviceId: ''` selects node checks. */
  checks(filter: { readonly node?: string; readonly serviceId?: string } = {}): CheckRecord[] {
    return [...this.#checks.values()]
      .filter(
        (c) =>
          (filter.node ?? c.node) === c.node && (filter.serviceId ?? c.serviceId) === c.serviceId,
      )
      .sort(byNodeThenId);
  }

  /** Applies a write under one new index; returns what `apply` returns. */
  write<T>(apply: (tx: CatalogWrite) => T): T {
    let result: T | undefined;
    let touched = new Set<IndexKey>();
    this.raft.commit((index) => {
      const tx = new CatalogWrite(this, index);
      result = apply(tx);
      touched = tx.touched;
      for (const name of [...touched, 'catalog' as const]) this.#indexes.set(name, index);
    });
    return result as T;
  }

  /** @internal the maps a {@link CatalogWrite} changes. */
  get tables() {
    return { nodes: this.#nodes, services: this.#services, checks: this.#checks };
  }
}

/** The changes of one catalog write, all under the same index. */
export class CatalogWrite {
  readonly touched = new Set<IndexKey>();
  readonly #catalog: Catalog;
  readonly #index: number;

  constructor(catalog: Catalog, index: number) {
    this.#catalog = catalog;
    this.#index = index;
  }

  /** Adds or updates a node; an unchanged node keeps its indexes. */
  putNode(node: Omit<NodeRecord, 'createIndex' | 'modifyIndex'>): void {
    const { nodes } = this.#catalog.tables;
    const previous = nodes.get(node.name);
    if (previous && JSON.stringify({ ...previous, ...node }) === JSON.stringify(previous)) return;
    nodes.set(node.name, {
      ...node,
      createIndex: previous?.createIndex ?? this.#index,
      modifyIndex: this.#index,
    });
    this.#touchNode(node.name, 'nodes');
  }

  /** Removes a node with its services and checks. */
  deleteNode(name: string): void {
    this.#touchNode(name, 'nodes');
    for (const s of this.#catalog.services({ node: name })) this.deleteService(name, s.id);
    for (const c of this.#catalog.checks({ node: name })) this.deleteCheck(name, c.id);
    this.#catalog.tables.nodes.delete(name);
  }

  /** Adds or replaces a service; its checks follow a rename. */
  putService(node: string, service: ServiceFields): void {
    const { services, checks } = this.#catalog.tables;
    const previous = services.get(key(node, service.id));
    services.set(key(node, service.id), {
      ...service,
      node,
      createIndex: previous?.createIndex ?? this.#index,
      modifyIndex: this.#index,
    });
    this.#touch('services', service.name, previous?.name);
    if (previous && previous.name !== service.name) {
      for (const check of this.#catalog.checks({ node, serviceId: service.id })) {
        checks.set(key(node, check.id), { ...check, serviceName: service.name });
      }
    }
  }

  /** Removes a service and its checks; false when there was none. */
  deleteService(node: string, id: string): boolean {
    const service = this.#catalog.service(node, id);
    if (!service) return false;
    for (const check of this.#catalog.checks({ node, serviceId: id }))
      this.deleteCheck(node, check.id);
    this.#catalog.tables.services.delete(key(node, id));
    this.#touch('services', service.name);
    return true;
  }

  /**
   * Adds or replaces a check. With `keepState` (the agent re-registering a check), the status
   * and output it had are kept.
   */
  putCheck(node: string, check: CheckFields, keepState = false): void {
    const previous = this.#catalog.check(node, check.id);
    const serviceName = this.#catalog.service(node, check.serviceId)?.name ?? '';
    this.#catalog.tables.checks.set(key(node, check.id), {
      ...check,
      ...(keepState && previous && { status: previous.status, output: previous.output }),
      node,
      serviceName,
      createIndex: previous?.createIndex ?? this.#index,
      modifyIndex: this.#index,
    });
    this.#touchCheck(node, serviceName, previous?.serviceName);
  }

  deleteCheck(node: string, id: string): boolean {
    const check = this.#catalog.check(node, id);
    if (!check) return false;
    this.#catalog.tables.checks.delete(key(node, id));
    this.#touchCheck(node, check.serviceName);
    return true;
  }

  #touch(table: 'nodes' | 'services' | 'checks', ...names: (string | undefined)[]): void {
    this.touched.add(table);
    for (const name of names) if (name) this.touched.add(`service:${name}`);
  }

  /** A node check counts for every service on its node. */
  #touchCheck(node: string, ...serviceNames: (string | undefined)[]): void {
    if (serviceNames.some((name) => name)) this.#touch('checks', ...serviceNames);
    else this.#touchNode(node, 'checks');
  }

  #touchNode(node: string, table: 'nodes' | 'checks'): void {
    this.#touch(table, ...this.#catalog.services({ node }).map((s) => s.name));
  }
}

/**
 * Sets a check's status and output in its own write; no write (and no new index) when neither
 * changed. False when there is no such check.
 */
export function updateCheckStatus(
  catalog: Catalog,
  node: string,
  id: string,
  status: CheckStatus,
  output: string,
): boolean {
  const check = catalog.check(node, id);
  if (!check) return false;
  if (check.status === status && check.output === output) return true;
  catalog.write((tx) => tx.putCheck(node, { ...check, status, output }));
  return true;
}
