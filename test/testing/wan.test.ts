/**
 * Several datacenters, as Consul federates them over the WAN: what a later failover test can
 * lean on. Each ConsulTestServer is its datacenter's one server; `?dc=` on any of them is
 * answered by the datacenter asked, blocking on that datacenter's own index.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConsulTestServer, type ConsulTestServerOptions } from '../../src/testing/index.js';
import { consulHttp } from './http.js';

const servers: ConsulTestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
});

async function start(options: ConsulTestServerOptions): Promise<ConsulTestServer> {
  const server = await new ConsulTestServer(options).start();
  servers.push(server);
  return server;
}

/** dc1, and dc2 joined to it over the WAN, each with its own node. */
async function twoDatacenters() {
  const dc1 = await start({ datacenter: 'dc1', nodeName: 'node-1' });
  const dc2 = await start({ datacenter: 'dc2', nodeName: 'node-2', wanJoin: dc1 });
  return { dc1, dc2 };
}

type Entry = { Node: { Node: string; Datacenter: string }; Service: { ID: string } };
const instances = (answer: { json<T>(): T }) => answer.json<Entry[]>().map((e) => e.Service.ID);

describe('ConsulTestServer datacenters joined over the WAN', () => {
  it("answers ?dc= from the other datacenter's own catalog and index", async () => {
    const { dc1, dc2 } = await twoDatacenters();
    dc1.registerService({ Name: 'greeter', ID: 'g-dc1', Port: 1 });
    dc2.registerService({ Name: 'greeter', ID: 'g-dc2', Port: 2 });
    const local = await consulHttp(dc1).get('/v1/health/service/greeter');
    expect(instances(local)).toEqual(['g-dc1']);
    const remote = await consulHttp(dc1).get('/v1/health/service/greeter?dc=dc2');
    expect(instances(remote)).toEqual(['g-dc2']);
    expect(remote.json<Entry[]>()[0]?.Node).toMatchObject({ Node: 'node-2', Datacenter: 'dc2' });
    expect(remote.index).toBe(dc2.index);
    // and the other way round
    expect(instances(await consulHttp(dc2).get('/v1/health/service/greeter?dc=dc1'))).toEqual([
      'g-dc1',
    ]);
  });

  it("blocks a ?dc= query on the other datacenter's index: local writes do not wake it", async () => {
    const { dc1, dc2 } = await twoDatacenters();
    dc2.registerService({ Name: 'greeter', ID: 'g-dc2', Port: 2 });
    const { index } = await consulHttp(dc1).get('/v1/health/service/greeter?dc=dc2');
    const blocked = consulHttp(dc1).get(`/v1/health/service/greeter?dc=dc2&index=${index}&wait=1m`);
    await vi.waitFor(() => expect(dc1.activeRequests).toBe(1));
    dc1.registerService({ Name: 'greeter', ID: 'g-dc1', Port: 1 }); // dc1's greeter: no wake
    dc2.registerService({ Name: 'greeter', ID: 'g-dc2b', Port: 3 });
    const answer = await blocked;
    expect(instances(answer)).toEqual(['g-dc2', 'g-dc2b']);
    expect(answer.index).toBe(dc2.index);
  });

  it('writes with ?dc= land in that datacenter: KV is per datacenter, as in Consul', async () => {
    const { dc1, dc2 } = await twoDatacenters();
    await consulHttp(dc1).put('/v1/kv/region?dc=dc2', 'west');
    expect((await consulHttp(dc1).get('/v1/kv/region')).status).toBe(404);
    expect((await consulHttp(dc2).get('/v1/kv/region?raw')).text).toBe('west');
    await consulHttp(dc2).put('/v1/catalog/register', {
      Datacenter: 'dc1',
      Node: 'ext',
      Address: '10.0.0.1',
    });
    const nodes = (await consulHttp(dc1).get('/v1/catalog/nodes')).json<{ Node: string }[]>();
    expect(nodes.map((n) => n.Node)).toEqual(['ext', 'node-1']);
  });

  it('answers an unknown ?dc= as Consul does: 500 No path to datacenter', async () => {
    const { dc1 } = await twoDatacenters();
    const answer = await consulHttp(dc1).get('/v1/health/service/greeter?dc=dc9');
    expect([answer.status, answer.text]).toEqual([500, 'No path to datacenter']);
    // agent endpoints are local: Consul ignores ?dc= there
    expect((await consulHttp(dc1).get('/v1/agent/services?dc=dc9')).status).toBe(200);
  });

  it('lists every datacenter, this one first, then by estimated round trip time', async () => {
    const dc1 = await start({ datacenter: 'dc1', wanRttMs: { dc2: 30, dc3: 10 } });
    const dc2 = await start({ datacenter: 'dc2', wanJoin: dc1, wanRttMs: { dc3: 50 } });
    const dc3 = await start({ datacenter: 'dc3', wanJoin: dc2 });
    const datacenters = (server: ConsulTestServer) =>
      consulHttp(server)
        .get('/v1/catalog/datacenters')
        .then((a) => a.json());
    expect(await datacenters(dc1)).toEqual(['dc1', 'dc3', 'dc2']);
    expect(await datacenters(dc2)).toEqual(['dc2', 'dc1', 'dc3']);
    expect(await datacenters(dc3)).toEqual(['dc3', 'dc1', 'dc2']);
  });

  it('lists every server as a WAN member, and knows the primary datacenter', async () => {
    const { dc2 } = await twoDatacenters();
    const wan = (await consulHttp(dc2).get('/v1/agent/members?wan=1')).json<{ Name: string }[]>();
    expect(wan.map((m) => m.Name)).toEqual(['node-2.dc2', 'node-1.dc1']);
    expect((await consulHttp(dc2).get('/v1/agent/members')).json()).toHaveLength(1);
    const self = (await consulHttp(dc2).get('/v1/agent/self')).json<{
      Config: { Datacenter: string; PrimaryDatacenter: string };
      Stats: { consul: { known_datacenters: string } };
    }>();
    expect(self.Config).toMatchObject({ Datacenter: 'dc2', PrimaryDatacenter: 'dc1' });
    expect(self.Stats.consul.known_datacenters).toBe('2');
  });

  it('refuses a second server for a datacenter already in the pool', async () => {
    const { dc1 } = await twoDatacenters();
    expect(() => new ConsulTestServer({ datacenter: 'dc2', wanJoin: dc1 })).toThrow(
      /datacenter "dc2" is already in that WAN pool/,
    );
  });
});

describe('ConsulTestServer faults across datacenters', () => {
  it("leaves requests other servers receive alone: dc2's faults do not reach dc1's ?dc=dc2", async () => {
    const { dc1, dc2 } = await twoDatacenters();
    dc2.inject({ kind: 'status', status: 500, count: Infinity });
    expect((await consulHttp(dc1).get('/v1/health/service/greeter?dc=dc2')).status).toBe(200);
    expect((await consulHttp(dc2).get('/v1/health/service/greeter')).status).toBe(500);
    expect(dc2.requests.map((r) => r.path)).toEqual(['/v1/health/service/greeter']);
  });

  it('strikes only the datacenter a fault is scoped to', async () => {
    const { dc1 } = await twoDatacenters();
    dc1.inject({ kind: 'status', status: 503, datacenter: 'dc2', count: Infinity });
    const http = consulHttp(dc1);
    expect((await http.get('/v1/health/service/greeter?dc=dc2')).status).toBe(503);
    expect((await http.get('/v1/health/service/greeter')).status).toBe(200);
    expect((await http.get('/v1/health/service/greeter?dc=dc1')).status).toBe(200);
  });

  it('answers 500 No path to datacenter once that datacenter stops, ending its blocked queries', async () => {
    const { dc1, dc2 } = await twoDatacenters();
    const { index } = await consulHttp(dc1).get('/v1/health/service/greeter?dc=dc2');
    const blocked = consulHttp(dc1).get(`/v1/health/service/greeter?dc=dc2&index=${index}&wait=1m`);
    await vi.waitFor(() => expect(dc1.activeRequests).toBe(1));
    await dc2.stop();
    const ended = await blocked;
    expect([ended.status, ended.text]).toEqual([500, 'No path to datacenter']);
    expect((await consulHttp(dc1).get('/v1/catalog/datacenters')).json()).toEqual(['dc1']);
  });
});
