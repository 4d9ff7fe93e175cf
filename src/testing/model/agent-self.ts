/**
 * The agent's view of itself and its peers: `/v1/agent/self` (`Config`, `DebugConfig`,
 * `Member`, `Stats`, `Meta`) and `/v1/agent/members`, LAN or WAN, in Consul's shapes.
 */
import { type Agent, CONSUL_VERSION } from './agent.js';
import type { Json } from './catalog-json.js';
import { MEMBER_STATUS } from './lan.js';

const SERF_LAN_PORT = 8301;
const SERF_WAN_PORT = 8302;

/** A gossip member: `wan` names it `node.dc` on port 8302, as Consul's WAN pool does. */
export function member(agent: Agent, pool: 'lan' | 'wan'): Json {
  return memberJson(agent.node, pool, 1);
}

/** A member of a gossip pool, in `/v1/agent/members`' shape, with its Serf status. */
export function memberJson(
  node: {
    readonly name: string;
    readonly address: string;
    readonly datacenter: string;
    readonly id: string;
  },
  pool: 'lan' | 'wan',
  status: number,
): Json {
  const { name, address, datacenter, id } = node;
  return {
    Name: pool === 'wan' ? `${name}.${datacenter}` : name,
    Addr: address,
    Port: pool === 'wan' ? SERF_WAN_PORT : SERF_LAN_PORT,
    Tags: {
      build: `${CONSUL_VERSION}:`,
      dc: datacenter,
      ft_fs: '1',
      ft_si: '1',
      id,
      port: '8300',
      raft_vsn: '3',
      role: 'consul',
      ...(pool === 'lan' && { segment: '', wan_join_port: String(SERF_WAN_PORT) }),
      vsn: '2',
      vsn_max: '3',
      vsn_min: '2',
    },
    Status: status,
    ProtocolMin: 1,
    ProtocolMax: 5,
    ProtocolCur: 2,
    DelegateMin: 2,
    DelegateMax: 5,
    DelegateCur: 4,
  };
}

export interface SelfContext {
  readonly agent: Agent;
  readonly primaryDatacenter: string;
  readonly knownDatacenters: number;
  readonly aclEnabled: boolean;
}

/** `/v1/agent/self`. */
export function agentSelf(self: SelfContext): Json {
  const { agent, primaryDatacenter } = self;
  const { name, id, address, datacenter, meta } = agent.node;
  const config = {
    Datacenter: datacenter,
    PrimaryDatacenter: primaryDatacenter,
    NodeName: name,
    NodeID: id,
    Revision: '',
    Server: true,
    Version: CONSUL_VERSION,
    BuildDate: '2024-01-01T00:00:00Z',
  };
  const checks = agent.checks();
  const lan = agent.lan.members();
  return {
    Config: config,
    DebugConfig: {
      ...config,
      ServerMode: true,
      BindAddr: address,
      AdvertiseAddrLAN: address,
      AdvertiseAddrWAN: address,
      ACLsEnabled: self.aclEnabled,
      EnableRemoteScriptChecks: agent.enableScriptChecks,
      NodeMeta: { ...meta },
    },
    Coord: { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 1e-5 },
    Member: member(agent, 'lan'),
    Stats: {
      agent: {
        check_monitors: String(checks.filter((c) => c.type === 'script').length),
        check_ttls: String(checks.filter((c) => c.type === 'ttl').length),
        checks: String(checks.length),
        services: String(agent.services().length),
      },
      build: { prerelease: '', revision: '', version: CONSUL_VERSION, version_metadata: '' },
      consul: {
        acl: self.aclEnabled ? 'enabled' : 'disabled',
        bootstrap: 'true',
        known_datacenters: String(self.knownDatacenters),
        leader: 'true',
        leader_addr: `${address}:8300`,
        server: 'true',
      },
      raft: { applied_index: String(agent.raft.index), state: 'Leader', num_peers: '0' },
      runtime: { arch: process.arch, os: process.platform, version: process.version },
      serf_lan: {
        members: String(lan.length),
        failed: String(lan.filter((m) => m.status === MEMBER_STATUS.failed).length),
        left: String(lan.filter((m) => m.status === MEMBER_STATUS.left).length),
      },
      serf_wan: { members: String(self.knownDatacenters), failed: '0', left: '0' },
    },
    Meta: { ...meta },
  };
}
