/**
 * `/v1/health/*`: service instances with their checks, and checks by service, node or state.
 * All block on `index` as Consul's do: a service's instances on that service's index, checks
 * on the checks table's.
 */
import type { CheckRecord } from '../model/catalog.js';
import { checkJson, healthEntries, type Json } from '../model/catalog-json.js';
import { CHECK_STATUSES, type CheckStatus } from '../model/registration.js';
import {
  block,
  HttpError,
  hasTags,
  nodeMetaMatches,
  parseBool,
  type Reply,
  type RouteAcl,
  type RouteContext,
  readOptions,
  route,
  type Tenancy,
  tenancy,
} from './routes.js';

const LIST: RouteAcl = { kind: 'list', resource: 'service' };

async function serviceInstances(ctx: RouteContext): Promise<Reply> {
  const { filter, consistency } = readOptions(ctx);
  const { namespace, partition } = tenancy(ctx);
  const passing = ctx.query.get('passing');
  const passingOnly = passing === null ? false : passing === '' || parseBool(passing);
  if (passingOnly === undefined) throw new HttpError(400, 'Invalid value for ?passing');
  const name = ctx.params.service ?? '';
  // a peer's imported instances; Consul answers a peer it does not know with none
  const peer = ctx.query.get('peer') || '';
  const catalog = peer === '' ? ctx.dc.catalog : ctx.dc.imported(peer);
  await block(ctx, () => catalog.index(`service:${name}`));
  const tags = ctx.query.getAll('tag');
  const entries = healthEntries(catalog, name)
    .filter(({ entry, passing }) => {
      const service = catalog.service(nodeName(entry), serviceId(entry));
      if (service?.namespace !== namespace || service.partition !== partition) return false;
      if ((passingOnly && !passing) || !hasTags(service.tags, tags)) return false;
      return nodeMetaMatches(ctx, catalog.node(nodeName(entry))) && filter(entry);
    })
    .map(({ entry }) => withTenancy(ctx, entry, peer, { namespace, partition }));
  return { body: entries, index: catalog.index(`service:${name}`), consistency };
}

const nodeName = (entry: Json) => String((entry.Node as Json).Node);
const serviceId = (entry: Json) => String((entry.Service as Json).ID);

/**
 * An entry as Consul shows it: `PeerName` on an imported node and service; on Enterprise, the
 * service's `Namespace` and `Partition` and the node's `Partition` (Consul CE has no such
 * fields).
 */
function withTenancy(ctx: RouteContext, entry: Json, peer: string, asked: Tenancy): Json {
  const node = {
    ...(entry.Node as Json),
    ...(ctx.dc.enterprise && { Partition: asked.partition }),
    ...(peer !== '' && { PeerName: peer }),
  };
  const service = {
    ...(entry.Service as Json),
    ...(ctx.dc.enterprise && { Namespace: asked.namespace, Partition: asked.partition }),
    PeerName: peer,
  };
  return { ...entry, Node: node, Service: service };
}

/** A checks endpoint: the checks `select` picks, filtered by `node-meta` and `filter`. */
function checksBy(
  select: (ctx: RouteContext) => CheckRecord[],
  index: (ctx: RouteContext) => number,
) {
  return async (ctx: RouteContext): Promise<Reply> => {
    const { filter, consistency } = readOptions(ctx);
    await block(ctx, () => index(ctx));
    const catalog = ctx.dc.catalog;
    const checks = select(ctx)
      .filter((check) => nodeMetaMatches(ctx, catalog.node(check.node)))
      .map((check) => checkJson(catalog, check))
      .filter(filter);
    return { body: checks, index: index(ctx), consistency };
  };
}

const checksIndex = (ctx: RouteContext) => ctx.dc.catalog.index('checks');

export const HEALTH_ROUTES = [
  route('GET', '/v1/health/service/:service', LIST, serviceInstances),
  route(
    'GET',
    '/v1/health/checks/:service',
    LIST,
    checksBy(
      (ctx) => ctx.dc.catalog.checks().filter((c) => c.serviceName === ctx.params.service),
      checksIndex,
    ),
  ),
  route(
    'GET',
    '/v1/health/node/:node',
    LIST,
    checksBy((ctx) => ctx.dc.catalog.checks({ node: ctx.params.node ?? '' }), checksIndex),
  ),
  route(
    'GET',
    '/v1/health/state/:state',
    LIST,
    checksBy((ctx) => {
      const state = ctx.params.state ?? '';
      const all = ctx.dc.catalog.checks();
      // Consul answers an unknown state with no checks, not an error
      if (state === 'any') return all;
      return CHECK_STATUSES.includes(state as CheckStatus)
        ? all.filter((c) => c.status === state)
        : [];
    }, checksIndex),
  ),
];
