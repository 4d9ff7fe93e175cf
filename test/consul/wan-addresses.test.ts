/**
 * consulInstances$'s translateWanAddresses, as Consul's translate_wan_addrs: instances of a
 * datacenter other than the agent's take their WAN address (the service's tagged `wan`,
 * else its Address, else the node's tagged `wan`); the agent's own keep their LAN address.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import type { ConsulInstancesOptions } from '../../src/consul/options.js';
import { sharedConsulInstances$ } from '../../src/consul/shared-instances.js';
import type { InstanceSet } from '../../src/instance.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { record } from '../support/observe.js';

const SERVICE = 'greeter';
let dc1: ConsulTestServer;
let dc2: ConsulTestServer;

beforeEach(async () => {
  dc1 = await new ConsulTestServer({ datacenter: 'dc1', nodeName: 'node-1' }).start();
  dc2 = await new ConsulTestServer({
    datacenter: 'dc2',
    nodeName: 'node-2',
    nodeAddress: '10.2.0.1',
    nodeWanAddress: '198.51.100.2',
    wanJoin: dc1,
  }).start();
  dc1.registerService({
    Name: SERVICE,
    ID: 'a1',
    Address: '10.1.0.7',
    Port: 50_001,
    TaggedAddresses: { wan: { Address: '203.0.113.1', Port: 60_001 } },
  });
  // a service WAN address and port; the service's Address only; the node's address only
  dc2.registerService({
    Name: SERVICE,
    ID: 'b1',
    Address: '10.2.0.7',
    Port: 50_001,
    TaggedAddresses: { wan: { Address: '203.0.113.7', Port: 60_001 } },
  });
  dc2.registerService({ Name: SERVICE, ID: 'b2', Address: '10.2.0.8', Port: 50_002 });
  dc2.registerService({ Name: SERVICE, ID: 'b3', Port: 50_003 });
});
afterEach(async () => {
  await dc2.stop();
  await dc1.stop();
});

const addresses = (set: InstanceSet | undefined) => [...(set?.keys() ?? [])].sort();

function watch(options: ConsulInstancesOptions) {
  return record(
    consulInstances$(SERVICE, {
      address: dc1.address,
      wait: '5s',
      backoff: { initialMs: 10, maxMs: 20 },
      minIntervalMs: 0,
      ...options,
    }),
  );
}

describe('translateWanAddresses', () => {
  it("serves another datacenter's instances at their WAN addresses, as Consul chooses them", async () => {
    const w = watch({ dc: 'dc2', translateWanAddresses: true });
    await vi.waitFor(() =>
      expect(addresses(w.values.at(-1))).toEqual([
        '10.2.0.8:50002', // Service.Address is kept: the node's WAN address is not the service's
        '198.51.100.2:50003', // no Service.Address: the node's tagged wan
        '203.0.113.7:60001', // the service's tagged wan, port included
      ]),
    );
    expect(dc1.requests.filter((r) => r.path === '/v1/agent/self')).toHaveLength(1);
    w.subscription.unsubscribe();
  });

  it('keeps LAN addresses without it (the default)', async () => {
    const w = watch({ dc: 'dc2' });
    await vi.waitFor(() =>
      expect(addresses(w.values.at(-1))).toEqual([
        '10.2.0.1:50003',
        '10.2.0.7:50001',
        '10.2.0.8:50002',
      ]),
    );
    expect(dc1.requests.filter((r) => r.path === '/v1/agent/self')).toHaveLength(0);
    w.subscription.unsubscribe();
  });

  it("keeps the agent's own datacenter at LAN addresses, asked with or without dc", async () => {
    const own = watch({ translateWanAddresses: true });
    const named = watch({ dc: 'dc1', translateWanAddresses: true });
    await vi.waitFor(() => expect(addresses(own.values.at(-1))).toEqual(['10.1.0.7:50001']));
    await vi.waitFor(() => expect(addresses(named.values.at(-1))).toEqual(['10.1.0.7:50001']));
    // a query without dc is the agent's own datacenter by definition: nothing to ask
    expect(dc1.requests.filter((r) => r.path === '/v1/agent/self')).toHaveLength(1);
    own.subscription.unsubscribe();
    named.subscription.unsubscribe();
  });

  it("translates failover datacenters' instances, not home's", async () => {
    const w = watch({ failover: ['dc2'], translateWanAddresses: true });
    await vi.waitFor(() => expect(addresses(w.values.at(-1))).toEqual(['10.1.0.7:50001']));
    dc1.deregisterService('a1');
    await vi.waitFor(() =>
      expect(addresses(w.values.at(-1))).toEqual([
        '10.2.0.8:50002',
        '198.51.100.2:50003',
        '203.0.113.7:60001',
      ]),
    );
    // home's name and the translation of dc2's loop: one question
    expect(dc1.requests.filter((r) => r.path === '/v1/agent/self')).toHaveLength(1);
    w.subscription.unsubscribe();
  });

  it("translates a query with dc while the agent's datacenter is unknown, its own too", async () => {
    dc1.registerService({
      Name: SERVICE,
      ID: 'a1',
      Address: '10.1.0.7',
      Port: 50_001,
      TaggedAddresses: { wan: { Address: '203.0.113.1', Port: 60_001 } },
    });
    // /v1/agent/self refused, as for a token without agent:read: reported once, not asked again
    dc1.inject({ kind: 'status', status: 403, path: '/v1/agent/self', count: Infinity });
    const refusals: (number | undefined)[] = [];
    const w = watch({
      dc: 'dc1',
      translateWanAddresses: true,
      onError: ({ error }) => refusals.push(error.statusCode),
    });
    await vi.waitFor(() => expect(addresses(w.values.at(-1))).toEqual(['203.0.113.1:60001']));
    expect(refusals).toEqual([403]);
    w.subscription.unsubscribe();
  });

  it('shares a watch only with subscribers that translate alike', async () => {
    const base = { address: dc1.address, dc: 'dc2', wait: '5s' };
    const lan = record(sharedConsulInstances$(SERVICE, base));
    const wan = record(sharedConsulInstances$(SERVICE, { ...base, translateWanAddresses: true }));
    await vi.waitFor(() => expect(addresses(lan.values.at(-1))).toContain('10.2.0.7:50001'));
    await vi.waitFor(() => expect(addresses(wan.values.at(-1))).toContain('203.0.113.7:60001'));
    lan.subscription.unsubscribe();
    wan.subscription.unsubscribe();
  });

  it('refuses a value that is not a boolean, naming the option', () => {
    expect(() =>
      consulInstances$(SERVICE, { translateWanAddresses: 'yes' as unknown as boolean }),
    ).toThrow(/option "translateWanAddresses" must be/);
    expect(() =>
      consulInstances$(SERVICE, { translateWanAdresses: true } as ConsulInstancesOptions),
    ).toThrow(/translateWanAddresses/);
  });
});
