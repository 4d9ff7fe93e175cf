/**
 * Tagged addresses as a Consul agent keeps them, read through the `consul` npm client: a
 * service's `TaggedAddresses` (given, plus `lan_ipv4`/`wan_ipv4` from an IPv4 `Address`), and
 * the node's `lan`/`wan` (`nodeWanAddress`, Consul's advertise_addr_wan).
 */
import type Consul from 'consul';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';
import { consulClient } from './http.js';

let server: ConsulTestServer;
let consul: Consul;

beforeEach(async () => {
  server = await new ConsulTestServer({
    nodeAddress: '10.0.0.1',
    nodeWanAddress: '198.51.100.1',
  }).start();
  consul = consulClient(server.address);
});
afterEach(async () => {
  consul.destroy();
  await server.stop();
});

type Entry = {
  Node: { TaggedAddresses: Record<string, string> };
  Service: { TaggedAddresses: Record<string, { Address: string; Port: number }> };
};

describe('tagged addresses', () => {
  it("answers a service's TaggedAddresses, with the agent's lan_ipv4 and wan_ipv4", async () => {
    await consul.agent.service.register({
      name: 'greeter',
      address: '10.0.0.7',
      port: 50051,
      taggedaddresses: { wan: { address: '203.0.113.7', port: 60051 } },
    });
    const [entry] = (await consul.health.service('greeter')) as Entry[];
    expect(entry?.Service.TaggedAddresses).toEqual({
      lan_ipv4: { Address: '10.0.0.7', Port: 50051 },
      wan_ipv4: { Address: '10.0.0.7', Port: 50051 },
      wan: { Address: '203.0.113.7', Port: 60051 },
    });
    expect(entry?.Node.TaggedAddresses).toEqual({
      lan: '10.0.0.1',
      lan_ipv4: '10.0.0.1',
      wan: '198.51.100.1',
      wan_ipv4: '198.51.100.1',
    });
  });

  it('adds none for a service without an IP address (the node address applies)', async () => {
    server.registerService({ Name: 'greeter', Port: 50051 });
    const [entry] = (await consul.health.service('greeter')) as Entry[];
    expect(entry?.Service.TaggedAddresses).toEqual({});
  });

  it('refuses a tagged address with a bad port', async () => {
    expect(() =>
      server.registerService({
        Name: 'greeter',
        Port: 1,
        TaggedAddresses: { wan: { Address: 'x', Port: 70_000 } },
      }),
    ).toThrow('Invalid TaggedAddresses.wan.Port 70000');
  });
});
