/**
 * `/v1/health/*`: service instances with their checks, and checks by service, node or state.
 * All block on `index` as Consul's do: a service's instances on that service's index, checks
 * on the checks table's.
 */
import type { CheckRecord } from '../model/catalog.js';
import { checkJson, healthEntries } from '../model/catalog-json.js';
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
} from './routes.js';

const LIST: RouteAcl = { kind: 'list', resource: 'service' };

async function serviceInstances(ctx: RouteContext): Promise<Reply> {
  const { filter, consistency } = readOptions(ctx);
  const passing = ctx.query.get('passing');
  const passingOnly = passing === null ? false : passing === '' || parseBool(passing);
  if (passingOnly === undefined) throw new HttpError(400, 'Invalid value for ?passing');
  const name = ctx.params.service ?? '';
  const catalog = ctx.dc.catalog;
  await block(ctx, () => catalog.index(`service:${name}`));
  const tags = ctx.query.getAll('tag');
  const entries = healthEntries(catalog, name)
    .filter(({ entry, passing }) => {
      const service = entry.Service as { Tags: unknown };
      const node = catalog.node(String((entry.Node as { Node: unknown }).Node));
      if ((passingOnly && !passing) || !hasTags(service.Tags, tags)) return false;
      return nodeMetaMatches(ctx, node) && filter(entry);
    })
    .map(({ entry }) => entry);
  return { body: entries, index: catalog.index(`service:${name}`), consistency };
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
