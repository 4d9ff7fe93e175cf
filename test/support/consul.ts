/**
 * The Consul a discovery test talks to: `ConsulTestServer` always, and a real Consul as well
 * when `CONSUL_HTTP_ADDR` is set. Portable tests only use Consul's HTTP API through the
 * `consul` client, so they mean the same against both.
 */
import { randomUUID } from 'node:crypto';
import Consul from 'consul';
import { CONNECTION_KEYS, resolveEndpoint } from '../../src/consul/connection.js';
import { readOptions } from '../../src/read-options.js';
import { ConsulTestServer } from '../../src/testing/index.js';

export interface ConsulUnderTest {
  readonly kind: 'test server' | 'real Consul';
  /** What `consulInstances$`'s `address` option takes. */
  readonly address: string;
  /** Registers a service instance with no checks (so it passes) and returns its id. */
  register(service: string, port: number, extra?: Partial<Registration>): Promise<string>;
  deregister(id: string): Promise<void>;
  /** The agent's datacenter, and whether it is Consul Enterprise (its version ends `+ent`). */
  agent(): Promise<{ readonly datacenter: string; readonly enterprise: boolean }>;
  /** Fresh service name, so tests never see each other's instances. */
  serviceName(prefix?: string): string;
  close(): Promise<void>;
}

export interface Registration {
  id: string;
  address: string;
  tags: string[];
  meta: Record<string, string>;
  /** The service's tagged addresses, e.g. `{ wan: { address, port } }`. */
  taggedAddresses: Record<string, { address: string; port: number }>;
}

export const realConsulAddress = process.env.CONSUL_HTTP_ADDR;

export const targets: readonly ConsulUnderTest['kind'][] = realConsulAddress
  ? ['test server', 'real Consul']
  : ['test server'];

function agentClient(address: string, token: string | undefined) {
  const endpoint = resolveEndpoint(readOptions('test', { address }, CONNECTION_KEYS), {});
  const consul = new Consul({ host: endpoint.host, port: endpoint.port, secure: endpoint.secure });
  return { consul, token };
}

export async function startConsul(kind: ConsulUnderTest['kind']): Promise<ConsulUnderTest> {
  let server: ConsulTestServer | undefined;
  let address: string;
  if (kind === 'real Consul' && realConsulAddress) {
    address = realConsulAddress;
  } else {
    server = await new ConsulTestServer().start();
    address = server.address;
  }
  const token = kind === 'real Consul' ? process.env.CONSUL_HTTP_TOKEN : undefined;
  const { consul } = agentClient(address, token);
  const registered = new Set<string>();
  const common = token ? { token } : {};
  return {
    kind,
    address,
    serviceName: (prefix = 'svc') => `rxlb-${prefix}-${randomUUID().slice(0, 8)}`,
    async register(service, port, extra = {}) {
      const id = extra.id ?? `${service}-${port}`;
      await consul.agent.service.register({
        ...common,
        name: service,
        id,
        port,
        address: extra.address ?? '127.0.0.1',
        tags: extra.tags ?? [],
        meta: extra.meta ?? {},
        ...(extra.taggedAddresses && { taggedaddresses: extra.taggedAddresses }),
      });
      registered.add(id);
      return id;
    },
    async agent() {
      const self = (await consul.agent.self(common)) as {
        Config: { Datacenter: string; Version: string };
      };
      const { Datacenter: datacenter, Version: version } = self.Config;
      return { datacenter, enterprise: version.includes('+ent') };
    },
    async deregister(id) {
      await consul.agent.service.deregister({ ...common, id });
      registered.delete(id);
    },
    async close() {
      for (const id of registered) await consul.agent.service.deregister({ ...common, id });
      consul.destroy();
      await server?.stop();
    },
  };
}
