/** Consul's JSON shapes for what the catalog holds: nodes, services, checks, health entries. */
import type { Catalog, CheckRecord, NodeRecord, ServiceRecord } from './catalog.js';

export type Json = Record<string, unknown>;

export function nodeJson(catalog: Catalog, node: NodeRecord): Json {
  return {
    ID: node.id,
    Node: node.name,
    Address: node.address,
    Datacenter: catalog.datacenter,
    TaggedAddresses: { ...node.taggedAddresses },
    Meta: { ...node.meta },
    CreateIndex: node.createIndex,
    ModifyIndex: node.modifyIndex,
  };
}

/** A service as the health and node endpoints show it. */
export function serviceJson(s: ServiceRecord): Json {
  return {
    ID: s.id,
    Service: s.name,
    Tags: [...s.tags],
    Address: s.address,
    Meta: { ...s.meta },
    Port: s.port,
    TaggedAddresses: { ...s.taggedAddresses },
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
  const service = catalog.service(c.node, c.serviceId);
  return {
    Node: c.node,
    CheckID: c.id,
    Name: c.name,
    Status: c.status,
    Notes: c.notes,
    Output: c.output,
    ServiceID: c.serviceId,
    ServiceName: c.serviceName,
    ServiceTags: service ? [...service.tags] : [],
    Type: c.type,
    Interval: c.interval,
    Timeout: c.timeout,
    ExposedPort: 0,
    Definition: {},
    CreateIndex: c.createIndex,
    ModifyIndex: c.modifyIndex,
  };
}

/**
 * `/v1/health/service/:name` entries, before any filtering, by node then service id: each
 * with its node, and the node's checks before the service's own.
 */
export function healthEntries(catalog: Catalog, name: string): { entry: Json; passing: boolean }[] {
  // group the checks once, by node and service ('' for node checks), in their order
  const owned = new Map<string, CheckRecord[]>();
  for (const check of catalog.checks()) {
    const owner = `${check.node}\0${check.serviceId}`;
    const list = owned.get(owner);
    if (list) list.push(check);
    else owned.set(owner, [check]);
  }
  return catalog.services({ name }).flatMap((service) => {
    const node = catalog.node(service.node);
    if (!node) return [];
    const checks = [
      ...(owned.get(`${service.node}\0`) ?? []),
      ...(owned.get(`${service.node}\0${service.id}`) ?? []),
    ];
    return {
      entry: {
        Node: nodeJson(catalog, node),
        Service: serviceJson(service),
        Checks: checks.map((check) => checkJson(catalog, check)),
      },
      passing: checks.every((check) => check.status === 'passing'),
    };
  });
}

/** A `/v1/catalog/service/:name` entry: one service instance with its node's fields. */
export function catalogEntry(catalog: Catalog, s: ServiceRecord): Json {
  const node = catalog.node(s.node);
  const json = node ? nodeJson(catalog, node) : {};
  return {
    ID: json.ID,
    Node: s.node,
    Address: json.Address,
    Datacenter: catalog.datacenter,
    TaggedAddresses: json.TaggedAddresses,
    NodeMeta: json.Meta,
    ServiceKind: '',
    ServiceID: s.id,
    ServiceName: s.name,
    ServiceTags: [...s.tags],
    ServiceAddress: s.address,
    ServiceTaggedAddresses: { ...s.taggedAddresses },
    ServiceWeights: { ...s.weights },
    ServiceMeta: { ...s.meta },
    ServicePort: s.port,
    ServiceEnableTagOverride: s.enableTagOverride,
    ServiceProxy: { Mode: '', MeshGateway: {}, Expose: {} },
    ServiceConnect: {},
    CreateIndex: s.createIndex,
    ModifyIndex: s.modifyIndex,
  };
}

/** `/v1/catalog/services`: every service name of `services` with the union of its tags. */
export function catalogServices(services: readonly ServiceRecord[]): Json {
  const result: Record<string, string[]> = {};
  for (const s of services) {
    const tags = new Set([...(result[s.name] ?? []), ...s.tags]);
    result[s.name] = [...tags].sort();
  }
  return result;
}

/** `/v1/agent/services`: the agent's own services, by id. */
export function agentServices(catalog: Catalog, services: readonly ServiceRecord[]): Json {
  const result: Json = {};
  for (const s of services) {
    result[s.id] = {
      ID: s.id,
      Service: s.name,
      Tags: [...s.tags],
      Meta: { ...s.meta },
      Port: s.port,
      Address: s.address,
      TaggedAddresses: { ...s.taggedAddresses },
      Weights: { ...s.weights },
      EnableTagOverride: s.enableTagOverride,
      Datacenter: catalog.datacenter,
    };
  }
  return result;
}

/** `/v1/agent/checks`: the agent's own checks, by id. */
export function agentChecks(catalog: Catalog, checks: readonly CheckRecord[]): Json {
  const result: Json = {};
  for (const check of checks) {
    const { CreateIndex, ModifyIndex, ...json } = checkJson(catalog, check);
    result[check.id] = json;
  }
  return result;
}
