/**
 * `/v1/catalog/*`: datacenters, nodes, services and the low-level register and deregister.
 * Reads block on `index` as Consul's do (nodes on the nodes table, a service on its own
 * index, a node's services on nodes and services); writes answer `true`.
 */
import type { Agent } from '../model/agent.js';
import type { Catalog } from '../model/catalog.js';
import { catalogEntry, catalogServices, nodeJson, serviceJson } from '../model/catalog-json.js';
import {
  CatalogRpcError,
  parseCatalogDeregistration,
  parseCatalogRegistration,
} from '../model/catalog-register.js';
import { DEFAULT_TENANCY } from '../model/registration.js';
import {
  block,
  HttpError,
  hasTags,
  nodeMetaMatches,
  type Reply,
  type RouteContext,
  readOptions,
  route,
  tenancy,
} from './routes.js';

async function listNodes(ctx: RouteContext): Promise<Reply> {
  const { filter, consistency } = readOptions(ctx);
  const catalog = ctx.dc.catalog;
  await block(ctx, () => catalog.index('nodes'));
  const nodes = catalog
    .nodes()
    .filter((node) => nodeMetaMatches(ctx, node))
    .map((node) => nodeJson(catalog, node))
    .filter(filter);
  return { body: nodes, index: catalog.index('nodes'), consistency };
}

async function listServices(ctx: RouteContext): Promise<Reply> {
  const { filter, consistency } = readOptions(ctx);
  const catalog = ctx.dc.catalog;
  await block(ctx, () => catalog.index('services'));
  const services = catalog
    .services()
    .filter((s) => nodeMetaMatches(ctx, catalog.node(s.node)) && filter(catalogEntry(catalog, s)));
  return { body: catalogServices(services), index: catalog.index('services'), consistency };
}

async function serviceNodes(ctx: RouteContext): Promise<Reply> {
  const { filter, consistency } = readOptions(ctx);
  const { namespace, partition } = tenancy(ctx);
  const name = ctx.params.service ?? '';
  // a peer's imported instances, as for the health query
  const peer = ctx.query.get('peer') || '';
  const catalog = peer === '' ? ctx.dc.catalog : ctx.dc.imported(peer);
  await block(ctx, () => catalog.index(`service:${name}`));
  const tags = ctx.query.getAll('tag');
  const entries = catalog
    .services({ name })
    .filter((s) => s.namespace === namespace && s.partition === partition)
    .filter((s) => nodeMetaMatches(ctx, catalog.node(s.node)) && hasTags(s.tags, tags))
    .map((s) => ({
      ...catalogEntry(catalog, s),
      ...(ctx.dc.enterprise && { Namespace: namespace, Partition: partition }),
      ...(peer !== '' && { PeerName: peer }),
    }))
    .filter(filter);
  return { body: entries, index: catalog.index(`service:${name}`), consistency };
}

/** `/v1/catalog/connect/:service`: nothing is Connect-capable here, as on an agent without Connect. */
async function connectNodes(ctx: RouteContext): Promise<Reply> {
  const { consistency } = readOptions(ctx);
  const catalog = ctx.dc.catalog;
  await block(ctx, () => catalog.index(`service:${ctx.params.service ?? ''}`));
  return { body: [], index: catalog.index(`service:${ctx.params.service ?? ''}`), consistency };
}

const nodeIndex = (catalog: Catalog) => Math.max(catalog.index('nodes'), catalog.index('services'));

/** `/v1/catalog/node/:node` (services by id) and `/node-services/:node` (a list). */
function nodeServices(shape: 'map' | 'list') {
  return async (ctx: RouteContext): Promise<Reply> => {
    const { filter, consistency } = readOptions(ctx);
    const catalog = ctx.dc.catalog;
    await block(ctx, () => nodeIndex(catalog));
    const node = catalog.node(ctx.params.node ?? '');
    const index = nodeIndex(catalog);
    // an unknown node: `null` from /node, a null node and services from /node-services
    if (!node) {
      return { body: shape === 'map' ? null : { Node: null, Services: null }, index, consistency };
    }
    const services = catalog.services({ node: node.name }).map(serviceJson).filter(filter);
    const body = {
      Node: nodeJson(catalog, node),
      Services: shape === 'list' ? services : Object.fromEntries(services.map((s) => [s.ID, s])),
    };
    return { body, index, consistency };
  };
}

/** The server of the datacenter a catalog write names in its body. */
function target(ctx: RouteContext, datacenter: string): Agent {
  const found = ctx.wan.find((agent) => agent.node.datacenter === datacenter);
  if (!found) throw new HttpError(500, 'No path to datacenter');
  return found;
}

function register(ctx: RouteContext): Reply {
  const registration = parseCatalogRegistration(ctx.body(), ctx.agent.node.datacenter);
  const { catalog, enterprise } = target(ctx, registration.datacenter);
  const { node, checks } = registration;
  // Consul CE has no namespaces: its decoder drops the fields
  const service = registration.service && {
    ...registration.service,
    ...(!enterprise && { namespace: DEFAULT_TENANCY, partition: DEFAULT_TENANCY }),
  };
  for (const check of checks) {
    const onNode = check.serviceId === '' || check.serviceId === service?.id;
    if (!onNode && !catalog.service(node.name, check.serviceId)) {
      throw new CatalogRpcError('Missing service registration');
    }
  }
  catalog.write((tx) => {
    if (!(registration.skipNodeUpdate && catalog.node(node.name))) tx.putNode(node);
    if (service) tx.putService(node.name, service);
    for (const check of checks) tx.putCheck(node.name, check);
  });
  return { body: true };
}

function deregister(ctx: RouteContext): Reply {
  const { datacenter, node, serviceId, checkId } = parseCatalogDeregistration(
    ctx.body(),
    ctx.agent.node.datacenter,
  );
  const { catalog } = target(ctx, datacenter);
  // like Consul, deregistering what is not there succeeds
  catalog.write((tx) => {
    if (serviceId !== '') tx.deleteService(node, serviceId);
    if (checkId !== '') tx.deleteCheck(node, checkId);
    if (serviceId === '' && checkId === '' && catalog.node(node)) tx.deleteNode(node);
  });
  return { body: true };
}

export const CATALOG_ROUTES = [
  route(
    'GET',
    '/v1/catalog/datacenters',
    { kind: 'open', resource: 'node' },
    (ctx) => ({ body: ctx.wan.map((agent) => agent.node.datacenter) }),
    false,
  ),
  route('GET', '/v1/catalog/nodes', { kind: 'list', resource: 'node' }, listNodes),
  route('GET', '/v1/catalog/services', { kind: 'list', resource: 'service' }, listServices),
  route('GET', '/v1/catalog/service/:service', { kind: 'list', resource: 'service' }, serviceNodes),
  route('GET', '/v1/catalog/connect/:service', { kind: 'list', resource: 'service' }, connectNodes),
  route('GET', '/v1/catalog/node/:node', { kind: 'list', resource: 'node' }, nodeServices('map')),
  route(
    'GET',
    '/v1/catalog/node-services/:node',
    { kind: 'list', resource: 'node' },
    nodeServices('list'),
  ),
  route('PUT', '/v1/catalog/register', { kind: 'write', resource: 'node' }, register, false),
  route('PUT', '/v1/catalog/deregister', { kind: 'write', resource: 'node' }, deregister, false),
];
