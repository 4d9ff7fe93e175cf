/**
 * `/v1/agent/*` and `/v1/status/*`: what the receiving agent answers about itself, its
 * services and checks, and its peers. Agent endpoints are local: Consul ignores `?dc=` on
 * them, and so does the test server.
 */

import { isRecord } from '../../read-options.js';
import { agentSelf, member, memberJson } from '../model/agent-self.js';
import { agentChecks, agentServices } from '../model/catalog-json.js';
import { JoinError } from '../model/lan.js';
import { CHECK_STATUSES, type CheckStatus } from '../model/registration.js';
import {
  flag,
  type Handler,
  HttpError,
  noCommit,
  parseBool,
  type Reply,
  type RouteAcl,
  type RouteContext,
  readOptions,
  route,
} from './routes.js';

const WRITE: RouteAcl = { kind: 'write', resource: 'service' };
const local = (method: 'GET' | 'PUT', path: string, acl: RouteAcl, handler: Handler) =>
  route(method, path, acl, handler, false);

/** `?enable=`, required and read as Go's `strconv.ParseBool`. */
function enableParam(ctx: RouteContext): boolean {
  const raw = ctx.query.get('enable');
  if (raw === null) throw new HttpError(400, 'Missing value for enable');
  const enable = parseBool(raw);
  if (enable === undefined) throw new HttpError(400, `Invalid value for enable: "${raw}"`);
  return enable;
}

function checkUpdate(status: CheckStatus): Handler {
  return (ctx) => {
    ctx.agent.updateTtlCheck(ctx.params.id ?? '', status, ctx.query.get('note') ?? '');
    return {};
  };
}

function updateCheck(ctx: RouteContext): Reply {
  const body = ctx.body();
  if (!isRecord(body)) throw new HttpError(400, 'Request decode failed: body is not an object');
  const status = body.Status ?? body.status;
  const output = body.Output ?? body.output ?? '';
  if (!CHECK_STATUSES.includes(status as CheckStatus)) {
    throw new HttpError(400, `Invalid check status: '${String(status ?? '')}'`);
  }
  if (typeof output !== 'string') throw new HttpError(400, 'Output must be a string');
  ctx.agent.updateTtlCheck(ctx.params.id ?? '', status as CheckStatus, output);
  return {};
}

/**
 * Joins the LAN pool of the test server at `:address` (its `address`, `host:port`) over the
 * gossip side channel; an address without a port is Serf's 8301, which only this agent's own
 * address answers (a no-op). `?wan=1` joins nothing over HTTP: WAN pools are made with the
 * `wanJoin` option.
 */
async function join(ctx: RouteContext): Promise<Reply> {
  const wan = flag(ctx.query, 'wan');
  const port = wan ? 8302 : 8301;
  const given = ctx.params.address ?? '';
  const address = /:\d+$/.test(given) ? given : `${given}:${port}`;
  if (address === `${ctx.agent.node.address}:${port}` || (!wan && ctx.agent.lan.isSelf(address))) {
    return {};
  }
  if (!wan && /:\d+$/.test(given)) {
    try {
      await ctx.agent.lan.join(address);
      return {};
    } catch (error) {
      if (!(error instanceof JoinError)) throw error;
      throw new HttpError(500, `1 error occurred:\n\t* ${error.message}\n\n`);
    }
  }
  throw new HttpError(
    500,
    `1 error occurred:\n\t* Failed to join ${address}: dial tcp ${address}: connect: connection refused\n\n`,
  );
}

function members(ctx: RouteContext): Reply {
  const wan = ctx.query.has('wan') && ctx.query.get('wan') !== '';
  const segment = ctx.query.get('segment') ?? '';
  if (wan && segment !== '' && segment !== '_all') {
    throw new HttpError(400, 'Cannot provide a segment with wan=true');
  }
  if (wan) return { body: ctx.wan.map((agent) => member(agent, 'wan')) };
  return { body: ctx.agent.lan.members().map((m) => memberJson(m, 'lan', m.status)) };
}

export const AGENT_ROUTES = [
  local('GET', '/v1/agent/self', { kind: 'read', resource: 'agent' }, (ctx) => ({
    body: agentSelf({
      agent: ctx.agent,
      primaryDatacenter: ctx.primaryDatacenter,
      knownDatacenters: ctx.wan.length,
      aclEnabled: ctx.aclEnabled,
    }),
  })),
  local('GET', '/v1/agent/members', { kind: 'list', resource: 'node' }, members),
  local('GET', '/v1/agent/services', { kind: 'list', resource: 'service' }, (ctx) => {
    const { filter } = readOptions(ctx);
    const services = agentServices(ctx.agent.catalog, ctx.agent.services());
    return { body: Object.fromEntries(Object.entries(services).filter(([, s]) => filter(s))) };
  }),
  local('GET', '/v1/agent/checks', { kind: 'list', resource: 'node' }, (ctx) => {
    const { filter } = readOptions(ctx);
    const checks = agentChecks(ctx.agent.catalog, ctx.agent.checks());
    return { body: Object.fromEntries(Object.entries(checks).filter(([, c]) => filter(c))) };
  }),
  local('PUT', '/v1/agent/service/register', WRITE, (ctx) => {
    ctx.agent.register(ctx.body(), flag(ctx.query, 'replace-existing-checks'));
    return {};
  }),
  local('PUT', '/v1/agent/service/deregister/:id', WRITE, (ctx) => {
    ctx.agent.deregister(ctx.params.id ?? '');
    return {};
  }),
  local('PUT', '/v1/agent/service/maintenance/:id', WRITE, (ctx) => {
    const enable = enableParam(ctx);
    ctx.agent.maintenance(ctx.params.id ?? '', enable, ctx.query.get('reason') ?? '');
    return {};
  }),
  local('PUT', '/v1/agent/check/register', WRITE, (ctx) => {
    ctx.agent.registerCheck(ctx.body());
    return {};
  }),
  local('PUT', '/v1/agent/check/deregister/:id', WRITE, (ctx) => {
    ctx.agent.deregisterCheck(ctx.params.id ?? '');
    return {};
  }),
  local('PUT', '/v1/agent/check/pass/:id', WRITE, checkUpdate('passing')),
  local('PUT', '/v1/agent/check/warn/:id', WRITE, checkUpdate('warning')),
  local('PUT', '/v1/agent/check/fail/:id', WRITE, checkUpdate('critical')),
  local('PUT', '/v1/agent/check/update/:id', WRITE, updateCheck),
  local('PUT', '/v1/agent/maintenance', { kind: 'write', resource: 'node' }, (ctx) => {
    ctx.agent.nodeMaintenance(enableParam(ctx), ctx.query.get('reason') ?? '');
    return {};
  }),
  // reload, join and force-leave are no Raft writes
  noCommit(local('PUT', '/v1/agent/reload', { kind: 'write', resource: 'agent' }, () => ({}))),
  noCommit(local('PUT', '/v1/agent/join/:address', { kind: 'write', resource: 'agent' }, join)),
  // a failed member becomes left (pruned with ?prune); an alive one refutes it; an unknown
  // name is answered with 200, as before
  noCommit(
    local('PUT', '/v1/agent/force-leave/:node', { kind: 'write', resource: 'operator' }, (ctx) => {
      ctx.agent.lan.forceLeave(ctx.params.node ?? '', flag(ctx.query, 'prune'));
      return {};
    }),
  ),
  route('GET', '/v1/status/leader', { kind: 'open', resource: 'node' }, (ctx) => ({
    body: `${ctx.dc.node.address}:8300`,
  })),
  route('GET', '/v1/status/peers', { kind: 'open', resource: 'node' }, (ctx) => ({
    body: [`${ctx.dc.node.address}:8300`],
  })),
];
