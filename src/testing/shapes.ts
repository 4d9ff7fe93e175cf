/** Consul's JSON shapes for what the catalog holds: health entries, catalog and agent views. */
import type { Catalog, CheckRecord, ServiceRecord } from './catalog.js';

type Json = Record<string, unknown>;

const SERF_CHECK = {
  CheckID: 'serfHealth',
  Name: 'Serf Health Status',
  Status: 'passing',
  Notes: '',
  Output: 'Agent alive and reachable',
  ServiceID: '',
  ServiceName: '',
  ServiceTags: [],
  Type: '',
};

export function nodeJson(catalog: Catalog): Json {
  const { id, name, address, datacenter, meta } = catalog.node;
  return {
    ID: id,
    Node: name,
    Address: address,
    Datacenter: datacenter,
    TaggedAddresses: { lan: address, lan_ipv4: address, wan: address, wan_ipv4: address },
    Meta: { 'consul-network-segment': '', ...meta },
    CreateIndex: 1,
    ModifyIndex: 1,
  };
}

export function serviceJson(s: ServiceRecord): Json {
  return {
    ID: s.id,
    Service: s.name,
    Tags: [...s.tags],
    Address: s.address,
    Meta: { ...s.meta },
    Port: s.port,
    Weights: { ...s.weights },
    EnableTagOverride: s.enableTagOverride,
    Proxy: { Mode: '', MeshGateway: {}, Expose: {} },
    Connect: {},
    PeerName: '',
    CreateIndex: s.createIndex,
    ModifyIndex: s.modifyIndex,
  };
}

export function checkJson(catalog: Catalog, c: CheckRecord): Json {
  const service = catalog.service(c.serviceId);
  return {
    Node: catalog.node.name,
    CheckID: c.id,
    Name: c.name,
    Status: c.status,
    Notes: c.notes,
    Output: c.output,
    ServiceID: c.serviceId,
    ServiceName: c.serviceName,
    ServiceTags: service ? [...service.tags] : [],
    Type: c.type === 'maintenance' ? '' : c.type,
    Interval: c.interval,
    Timeout: c.timeout,
    ExposedPort: 0,
    Definition: {},
    CreateIndex: c.createIndex,
    ModifyIndex: c.modifyIndex,
  };
}

/** `/v1/health/service/:name` entries, before any filtering, in service-id order. */
export function healthEntries(catalog: Catalog, name: string): { entry: Json; passing: boolean }[] {
  const serf = { Node: catalog.node.name, ...SERF_CHECK, CreateIndex: 1, ModifyIndex: 1 };
  return byName(catalog, name).map((service) => {
    const checks = catalog.checksOf(service.id);
    return {
      entry: {
        Node: nodeJson(catalog),
        Service: serviceJson(service),
        Checks: [serf, ...checks.map((check) => checkJson(catalog, check))],
      },
      passing: checks.every((check) => check.status === 'passing'),
    };
  });
}

/** `/v1/catalog/service/:name` entries. */
export function catalogEntries(catalog: Catalog, name: string): Json[] {
  const node = nodeJson(catalog);
  return byName(catalog, name).map((s) => ({
    ID: node.ID,
    Node: node.Node,
    Address: node.Address,
    Datacenter: node.Datacenter,
    TaggedAddresses: node.TaggedAddresses,
    NodeMeta: node.Meta,
    ServiceKind: '',
    ServiceID: s.id,
    ServiceName: s.name,
    ServiceTags: [...s.tags],
    ServiceAddress: s.address,
    ServiceWeights: { ...s.weights },
    ServiceMeta: { ...s.meta },
    ServicePort: s.port,
    ServiceEnableTagOverride: s.enableTagOverride,
    ServiceProxy: { Mode: '', MeshGateway: {}, Expose: {} },
    ServiceConnect: {},
    CreateIndex: s.createIndex,
    ModifyIndex: s.modifyIndex,
  }));
}

/** `/v1/catalog/services`: every service name with the union of its tags. */
export function catalogServices(catalog: Catalog): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const s of catalog.services()) {
    const tags = new Set([...(result[s.name] ?? []), ...s.tags]);
    result[s.name] = [...tags].sort();
  }
  return result;
}

/** `/v1/agent/services`. */
export function agentServices(catalog: Catalog): Record<string, Json> {
  const result: Record<string, Json> = {};
  for (const s of [...catalog.services()].sort(byId)) {
    result[s.id] = {
      ID: s.id,
      Service: s.name,
      Tags: [...s.tags],
      Meta: { ...s.meta },
      Port: s.port,
      Address: s.address,
      Weights: { ...s.weights },
      EnableTagOverride: s.enableTagOverride,
      Datacenter: catalog.node.datacenter,
    };
  }
  return result;
}

/** `/v1/agent/checks`. */
export function agentChecks(catalog: Catalog): Record<string, Json> {
  const result: Record<string, Json> = {};
  for (const check of catalog.checks()) {
    const { CreateIndex, ModifyIndex, ...json } = checkJson(catalog, check);
    result[check.id] = json;
  }
  return result;
}

function byName(catalog: Catalog, name: string): ServiceRecord[] {
  return [...catalog.services()].filter((s) => s.name === name).sort(byId);
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
