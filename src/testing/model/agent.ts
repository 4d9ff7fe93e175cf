/**
 * What a Consul server agent does with its own node: it registers the node, its `serfHealth`
 * check and the built-in `consul` service in the catalog; keeps the services and checks
 * registered through it, runs their checks (see {@link CheckLifecycle}), and puts services
 * and the node in and out of maintenance.
 */
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Catalog,
  type CheckFields,
  type CheckRecord,
  type ServiceRecord,
  updateCheckStatus,
} from './catalog.js';
import { CheckLifecycle } from './check-lifecycle.js';
import { EventBuffer, type EventTarget } from './events.js';
import { KvStore } from './kv.js';
import { LanPool } from './lan.js';
import { Raft } from './raft.js';
import {
  type CheckStatus,
  DEFAULT_TENANCY,
  type ParsedCheck,
  type ParsedService,
  parseCheckDefinition,
  parseServiceDefinition,
} from './registration.js';
import { SessionStore } from './sessions.js';

/** The server's own node. */
export interface NodeInfo {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  /** Its WAN address (Consul's `advertise_addr_wan`): `TaggedAddresses.wan`. */
  readonly wanAddress: string;
  readonly datacenter: string;
  readonly meta: Readonly<Record<string, string>>;
}

/** The Consul version the test server answers as (`/v1/agent/self`, the `consul` service). */
export const CONSUL_VERSION = '1.20.2';

/** An agent operation on an id that does not exist; the server answers 404. */
export class UnknownIdError extends Error {
  override readonly name = 'UnknownIdError';
}

/** A check update Consul refuses (`pass` on a non-TTL check); the server answers 500. */
export class CheckUpdateError extends Error {
  override readonly name = 'CheckUpdateError';
}

/** A script check on a server without `enableScriptChecks`; the server answers 500. */
export class ScriptChecksDisabledError extends Error {
  override readonly name = 'ScriptChecksDisabledError';
  constructor() {
    super(
      "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true",
    );
  }
}

const SERVICE_MAINTENANCE = '_service_maintenance:';
const NODE_MAINTENANCE = '_node_maintenance';
const DEFAULT_NOTE = (what: string) =>
  `Maintenance mode is enabled for this ${what}, but no reason was provided. This is a default message.`;

const unknownCheck = (id: string) =>
  new UnknownIdError(
    `Unknown check ID "${id}". Ensure that the check ID is passed, not the check name.`,
  );

/**
 * A service's tagged addresses as Consul's agent stores them: when `Address` is an IP, it
 * adds `lan_ipv4` and `wan_ipv4` (`_ipv6` for IPv6) with the service's address and port,
 * unless given. Not `lan` or `wan`: those are the operator's.
 */
function withDefaultTags(service: {
  readonly address: string;
  readonly port: number;
  readonly taggedAddresses: ParsedService['taggedAddresses'];
}): ParsedService['taggedAddresses'] {
  const family = isIP(service.address);
  if (family === 0) return service.taggedAddresses;
  const own = { Address: service.address, Port: service.port };
  const suffix = family === 4 ? 'ipv4' : 'ipv6';
  return { [`lan_${suffix}`]: own, [`wan_${suffix}`]: own, ...service.taggedAddresses };
}

export class Agent {
  readonly raft = new Raft();
  readonly node: NodeInfo;
  readonly catalog: Catalog;
  readonly kv: KvStore;
  readonly sessions: SessionStore;
  /** The user events this agent received. */
  readonly events = new EventBuffer();
  /** The LAN gossip pool this agent is a member of. */
  readonly lan: LanPool;
  /** How long a write through the HTTP API takes to commit (see `commitDelayMs`). */
  readonly commitDelayMs: number;
  /** Whether script checks (`Args`) are accepted, as Consul's `enable_script_checks`. */
  readonly enableScriptChecks: boolean;
  /** Consul Enterprise: namespaces and partitions are kept and honoured. */
  readonly enterprise: boolean;
  /** The services imported from each cluster peer: a catalog per peer name. */
  readonly #imports = new Map<string, Catalog>();
  /** Ids of the services registered through this agent. */
  readonly #services = new Set<string>();
  /** The checks this agent runs or expires, by id. */
  readonly #checks = new Map<string, CheckLifecycle>();
  #closed = false;

  constructor(
    node: NodeInfo,
    options: {
      readonly enableScriptChecks: boolean;
      readonly enterprise?: boolean;
      readonly commitDelayMs?: number;
    },
  ) {
    this.node = node;
    this.commitDelayMs = options.commitDelayMs ?? 0;
    this.enableScriptChecks = options.enableScriptChecks;
    this.enterprise = options.enterprise === true;
    this.catalog = new Catalog(this.raft, node.datacenter);
    this.kv = new KvStore(this.raft);
    this.sessions = new SessionStore(this.raft, this.catalog, this.kv);
    const { id, name, address, datacenter } = node;
    this.lan = new LanPool({
      self: { id, name, address, datacenter },
      events: this.events,
      eventTarget: () => this.eventTarget(),
    });
    this.catalog.write((tx) => {
      const { name, id, address, wanAddress: wan } = node;
      const meta = { 'consul-network-segment': '', 'consul-version': CONSUL_VERSION, ...node.meta };
      const tagged = { lan: address, lan_ipv4: address, wan, wan_ipv4: wan };
      tx.putNode({ id, name, address, taggedAddresses: tagged, meta });
      tx.putService(name, CONSUL_SERVICE);
      tx.putCheck(name, SERF_HEALTH);
    });
  }

  /** The services registered through this agent, by id. */
  services(): ServiceRecord[] {
    return this.catalog.services({ node: this.node.name }).filter((s) => this.#services.has(s.id));
  }

  /** The checks registered through this agent (maintenance included), by id. */
  checks(): CheckRecord[] {
    return this.catalog
      .checks({ node: this.node.name })
      .filter((c) => this.#checks.has(c.id) || c.type === 'maintenance');
  }

  /** Registers (or re-registers) a service from its JSON definition; returns its id. */
  register(definition: unknown, replaceExistingChecks = false): string {
    const service = parseServiceDefinition(definition);
    this.#refuseScripts(service.checks);
    const node = this.node.name;
    const kept = new Set(service.checks.map((check) => check.id));
    const others = replaceExistingChecks
      ? this.catalog
          .checks({ node, serviceId: service.id })
          .filter((c) => c.type !== 'maintenance' && !kept.has(c.id))
      : [];
    for (const check of [...service.checks, ...others]) this.#stopCheck(check.id);
    const { checks, ...parsed } = service;
    const fields = {
      ...parsed,
      taggedAddresses: withDefaultTags(parsed),
      // Consul CE has no namespaces: its decoder drops the fields
      ...(!this.enterprise && { namespace: DEFAULT_TENANCY, partition: DEFAULT_TENANCY }),
    };
    this.catalog.write((tx) => {
      tx.putService(node, fields);
      for (const check of others) tx.deleteCheck(node, check.id);
      for (const check of checks) tx.putCheck(node, checkFields(check, service.id), true);
    });
    this.#services.add(service.id);
    for (const check of checks) this.#startCheck(check);
    return service.id;
  }

  /**
   * The catalog of services imported from cluster peer `peer` (what `?peer=` reads); an
   * empty one for a peer nothing was imported from.
   */
  imported(peer: string): Catalog {
    let catalog = this.#imports.get(peer);
    if (!catalog) {
      catalog = new Catalog(this.raft, this.node.datacenter);
      this.#imports.set(peer, catalog);
    }
    return catalog;
  }

  /**
   * Imports a service instance from cluster peer `peer`, as peering replicates an exported
   * service: on the peer's node `node` at `address`, with its checks at their given status
   * (a peer's checks run there, not here).
   */
  importService(peer: string, definition: unknown, node: string, address: string): string {
    const { checks, ...service } = parseServiceDefinition(definition);
    const catalog = this.imported(peer);
    catalog.write((tx) => {
      const tagged = { lan: address, wan: address };
      tx.putNode({ id: '', name: node, address, taggedAddresses: tagged, meta: {} });
      tx.putService(node, service);
      for (const check of checks) tx.putCheck(node, checkFields(check, service.id));
    });
    return service.id;
  }

  /** Removes an imported instance, as when the peer stops exporting it; false if none. */
  removeImported(peer: string, id: string): boolean {
    const catalog = this.#imports.get(peer);
    const owner = catalog?.services().find((s) => s.id === id);
    if (!catalog || !owner) return false;
    return catalog.write((tx) => tx.deleteService(owner.node, id));
  }

  /** Removes a service and its checks. */
  deregister(id: string): void {
    if (!this.#services.has(id)) throw new UnknownIdError(`Unknown service ID "${id}"`);
    for (const check of this.catalog.checks({ node: this.node.name, serviceId: id })) {
      this.#stopCheck(check.id);
    }
    this.catalog.write((tx) => tx.deleteService(this.node.name, id));
    this.#services.delete(id);
  }

  /** `PUT /v1/agent/check/register`: a check of a service of this agent, or of the node. */
  registerCheck(definition: unknown): string {
    const check = parseCheckDefinition(definition);
    this.#refuseScripts([check]);
    if (check.serviceId !== '' && !this.#services.has(check.serviceId)) {
      throw new UnknownIdError(`ServiceID "${check.serviceId}" does not exist`);
    }
    this.#stopCheck(check.id);
    this.catalog.write((tx) =>
      tx.putCheck(this.node.name, checkFields(check, check.serviceId), true),
    );
    this.#startCheck(check);
    return check.id;
  }

  /** `PUT /v1/agent/check/deregister/:id`. */
  deregisterCheck(id: string): void {
    if (!this.checks().some((c) => c.id === id)) throw unknownCheck(id);
    this.#stopCheck(id);
    this.catalog.write((tx) => tx.deleteCheck(this.node.name, id));
  }

  /**
   * `PUT /v1/agent/check/{pass,warn,fail,update}/:id`: only TTL checks take updates, and
   * each update restarts the TTL.
   */
  updateTtlCheck(id: string, status: CheckStatus, output: string): void {
    if (!this.checks().some((c) => c.id === id)) throw unknownCheck(id);
    const lifecycle = this.#checks.get(id);
    if (lifecycle?.type !== 'ttl') {
      throw new CheckUpdateError(`CheckID "${id}" does not have associated TTL`);
    }
    lifecycle.report(status, output);
  }

  /** Sets any check of this node directly, as a test wants to; TTL checks restart their TTL. */
  setCheckStatus(id: string, status: CheckStatus, output: string): void {
    const lifecycle = this.#checks.get(id);
    if (lifecycle) lifecycle.report(status, output);
    else if (!updateCheckStatus(this.catalog, this.node.name, id, status, output)) {
      throw new UnknownIdError(`Unknown check ID "${id}"`);
    }
  }

  /** `PUT /v1/agent/service/maintenance/:id`: a critical check while enabled. */
  maintenance(serviceId: string, enable: boolean, reason: string): void {
    if (!this.#services.has(serviceId)) {
      throw new UnknownIdError(`No service registered with ID "${serviceId}"`);
    }
    this.#maintenance(`${SERVICE_MAINTENANCE}${serviceId}`, serviceId, enable, reason);
  }

  /** `PUT /v1/agent/maintenance`: the node's critical `_node_maintenance` check while enabled. */
  nodeMaintenance(enable: boolean, reason: string): void {
    this.#maintenance(NODE_MAINTENANCE, '', enable, reason);
  }

  /** This agent's node and services, as user event filters match them. */
  eventTarget(): EventTarget {
    const services = this.services().map((s) => ({ name: s.name, tags: s.tags }));
    return { node: this.node.name, services };
  }

  /** Waits as a write through the HTTP API does before it is applied (`commitDelayMs`). */
  commitDelay(): Promise<void> {
    const ms = this.commitDelayMs;
    // node:timers/promises, so that a test's fake timers do not hold its writes back
    return ms > 0 ? sleep(ms) : Promise.resolve();
  }

  /** Stops every check runner and timer; the catalog stays readable. */
  close(): void {
    this.#closed = true;
    this.sessions.close();
    this.lan.stop();
    for (const id of [...this.#checks.keys()]) this.#stopCheck(id);
  }

  #maintenance(id: string, serviceId: string, enable: boolean, reason: string): void {
    const node = this.node.name;
    const exists = this.catalog.check(node, id) !== undefined;
    if (enable === exists) return;
    this.catalog.write((tx) => {
      if (!enable) tx.deleteCheck(node, id);
      else {
        const what = serviceId === '' ? 'node' : 'service';
        tx.putCheck(node, {
          id,
          name: serviceId === '' ? 'Node Maintenance Mode' : 'Service Maintenance Mode',
          serviceId,
          type: 'maintenance',
          status: 'critical',
          output: '',
          notes: reason || DEFAULT_NOTE(what),
          interval: '',
          timeout: '',
        });
      }
    });
  }

  #refuseScripts(checks: readonly ParsedCheck[]): void {
    if (!this.enableScriptChecks && checks.some((check) => check.type === 'script')) {
      throw new ScriptChecksDisabledError();
    }
  }

  #startCheck(check: ParsedCheck): void {
    if (this.#closed) return;
    const lifecycle = new CheckLifecycle(this.catalog, this.node.name, check, (serviceId) => {
      if (this.#services.has(serviceId)) this.deregister(serviceId);
    });
    this.#checks.set(check.id, lifecycle);
    lifecycle.start();
  }

  #stopCheck(id: string): void {
    this.#checks.get(id)?.stop();
    this.#checks.delete(id);
  }
}

function checkFields(check: ParsedCheck, serviceId: string): CheckFields {
  return {
    id: check.id,
    name: check.name,
    serviceId,
    type: check.type,
    status: check.status,
    output: '',
    notes: check.notes,
    interval: check.interval,
    timeout: check.timeout,
  };
}

const CONSUL_SERVICE = {
  id: 'consul',
  name: 'consul',
  address: '',
  port: 8300,
  tags: [],
  meta: {
    non_voter: 'false',
    raft_version: '3',
    read_replica: 'false',
    serf_protocol_current: '2',
    serf_protocol_max: '5',
    serf_protocol_min: '1',
    version: CONSUL_VERSION,
  },
  weights: { Passing: 1, Warning: 1 },
  taggedAddresses: {},
  namespace: 'default',
  partition: 'default',
  enableTagOverride: false,
} as const;

const SERF_HEALTH: CheckFields = {
  id: 'serfHealth',
  name: 'Serf Health Status',
  serviceId: '',
  type: '',
  status: 'passing',
  output: 'Agent alive and reachable',
  notes: '',
  interval: '',
  timeout: '',
};
