/** ConsulTestServer's catalog endpoints, with the shapes and status codes of Consul's catalog API. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';
import { type ConsulHttp, consulHttp } from './http.js';

let server: ConsulTestServer;
let http: ConsulHttp;

beforeEach(async () => {
  server = await new ConsulTestServer({ nodeName: 'server-1' }).start();
  http = consulHttp(server);
});
afterEach(() => server.stop());

/** A node registered through the catalog, as an external service's registrar does. */
const externalNode = (extra: Record<string, unknown> = {}) => ({
  Node: 'ext-1',
  Address: '10.0.0.5',
  NodeMeta: { zone: 'b' },
  ...extra,
});

describe('ConsulTestServer built-in consul service', () => {
  it('registers itself as the consul service on its node, passing with serfHealth', async () => {
    expect((await http.get('/v1/catalog/services')).json()).toEqual({ consul: [] });
    const [entry] = (await http.get('/v1/health/service/consul?passing')).json<
      { Node: { Node: string }; Service: Record<string, unknown>; Checks: { CheckID: string }[] }[]
    >();
    expect(entry?.Node.Node).toBe('server-1');
    expect(entry?.Service).toMatchObject({ ID: 'consul', Service: 'consul', Port: 8300, Tags: [] });
    expect(entry?.Checks.map((c) => c.CheckID)).toEqual(['serfHealth']);
  });

  it('keeps the consul service out of /v1/agent/services, as Consul does', async () => {
    expect((await http.get('/v1/agent/services')).json()).toEqual({});
  });
});

describe('ConsulTestServer /v1/catalog/nodes, /node and /node-services', () => {
  it("lists nodes with Consul's node shape, filtered by node-meta and filter", async () => {
    await http.put('/v1/catalog/register', externalNode());
    const nodes = (await http.get('/v1/catalog/nodes')).json<Record<string, unknown>[]>();
    expect(nodes.map((n) => n.Node)).toEqual(['ext-1', 'server-1']);
    expect(nodes[0]).toMatchObject({
      Node: 'ext-1',
      Address: '10.0.0.5',
      Datacenter: 'dc1',
      Meta: { zone: 'b' },
      CreateIndex: expect.any(Number),
      ModifyIndex: expect.any(Number),
    });
    expect((await http.get('/v1/catalog/nodes?node-meta=zone:b')).json()).toHaveLength(1);
    const filter = encodeURIComponent('Address == "10.0.0.5"');
    expect((await http.get(`/v1/catalog/nodes?filter=${filter}`)).json()).toHaveLength(1);
  });

  it("answers a node's services by id (/node) and as a list (/node-services)", async () => {
    server.registerService({ Name: 'web', ID: 'w1', Port: 80, Tags: ['v1'] });
    const byId = (await http.get('/v1/catalog/node/server-1')).json<{
      Node: Record<string, unknown>;
      Services: Record<string, Record<string, unknown>>;
    }>();
    expect(byId.Node).toMatchObject({ Node: 'server-1', Datacenter: 'dc1' });
    expect(Object.keys(byId.Services)).toEqual(['consul', 'w1']);
    expect(byId.Services.w1).toMatchObject({ ID: 'w1', Service: 'web', Port: 80, Tags: ['v1'] });
    const list = (await http.get('/v1/catalog/node-services/server-1')).json<{
      Services: { ID: string }[];
    }>();
    expect(list.Services.map((s) => s.ID)).toEqual(['consul', 'w1']);
  });

  it('answers an unknown node with null, as Consul does, not 404', async () => {
    const node = await http.get('/v1/catalog/node/nope');
    expect([node.status, node.text]).toEqual([200, 'null']);
    const services = await http.get('/v1/catalog/node-services/nope');
    expect([services.status, services.json()]).toEqual([200, { Node: null, Services: null }]);
  });

  it('blocks /v1/catalog/nodes until a node changes', async () => {
    const { index } = await http.get('/v1/catalog/nodes');
    const blocked = http.get(`/v1/catalog/nodes?index=${index}&wait=1m`);
    await vi.waitFor(() => expect(server.activeRequests).toBe(1));
    server.registerService({ Name: 'web', Port: 1 }); // a service, not a node: no wake
    await http.put('/v1/catalog/register', externalNode());
    const answer = await blocked;
    expect(answer.index).toBeGreaterThan(index);
    expect(answer.json<unknown[]>()).toHaveLength(2);
  });
});

describe('ConsulTestServer catalog blocking queries', () => {
  it.each([
    ['/v1/catalog/services', () => server.registerService({ Name: 'db', Port: 2 })],
    ['/v1/catalog/service/web', () => server.registerService({ Name: 'web', ID: 'w2', Port: 3 })],
    ['/v1/catalog/node/server-1', () => server.registerService({ Name: 'db', Port: 2 })],
    ['/v1/catalog/node-services/server-1', () => server.deregisterService('w1')],
    ['/v1/catalog/connect/web', () => server.deregisterService('w1')],
  ])('blocks %s until what it reads changes, then answers a higher index', async (path, change) => {
    server.registerService({ Name: 'web', ID: 'w1', Port: 1 });
    const { index } = await http.get(path);
    const blocked = http.get(`${path}?index=${index}&wait=1m`);
    await vi.waitFor(() => expect(server.activeRequests).toBe(1));
    change();
    expect((await blocked).index).toBeGreaterThan(index);
  });
});

describe('ConsulTestServer /v1/catalog/register and /deregister', () => {
  it('registers a node with a service and a check, answering true', async () => {
    const answer = await http.put(
      '/v1/catalog/register',
      externalNode({
        Service: { ID: 'redis1', Service: 'redis', Port: 6379, Tags: ['primary'] },
        Check: {
          CheckID: 'redis-alive',
          Name: 'redis alive',
          ServiceID: 'redis1',
          Status: 'passing',
        },
      }),
    );
    expect([answer.status, answer.text]).toEqual([200, 'true']);
    const [entry] = (await http.get('/v1/health/service/redis?passing')).json<
      {
        Node: { Node: string; Address: string };
        Service: { ID: string };
        Checks: { CheckID: string }[];
      }[]
    >();
    expect(entry?.Node).toMatchObject({ Node: 'ext-1', Address: '10.0.0.5' });
    expect(entry?.Service.ID).toBe('redis1');
    // a catalog-registered node has no serfHealth: only the checks it was given
    expect(entry?.Checks.map((c) => c.CheckID)).toEqual(['redis-alive']);
    expect((await http.get('/v1/catalog/services')).json()).toEqual({
      consul: [],
      redis: ['primary'],
    });
  });

  it('defaults a check to critical and its id to its name', async () => {
    await http.put('/v1/catalog/register', externalNode({ Check: { Name: 'mem' } }));
    const checks = (await http.get('/v1/health/node/ext-1')).json();
    expect(checks).toMatchObject([
      { CheckID: 'mem', Name: 'mem', Status: 'critical', ServiceID: '' },
    ]);
  });

  it("refuses what Consul's catalog refuses, with a 500 and its message", async () => {
    const noNode = await http.put('/v1/catalog/register', { Address: '10.0.0.5' });
    expect([noNode.status, noNode.text]).toEqual([500, 'Must provide node']);
    const noAddress = await http.put('/v1/catalog/register', { Node: 'x' });
    expect([noAddress.status, noAddress.text]).toEqual([
      500,
      'Must provide address if SkipNodeUpdate is not set',
    ]);
    const orphan = await http.put(
      '/v1/catalog/register',
      externalNode({ Check: { Name: 'c', ServiceID: 'nope' } }),
    );
    expect([orphan.status, orphan.text]).toEqual([500, 'Missing service registration']);
    const otherDc = await http.put('/v1/catalog/register', externalNode({ Datacenter: 'dc9' }));
    expect([otherDc.status, otherDc.text]).toEqual([500, 'No path to datacenter']);
  });

  it('deregisters a check, a service, then the node with all it had', async () => {
    await http.put(
      '/v1/catalog/register',
      externalNode({
        Service: { Service: 'redis', Port: 6379 },
        Checks: [{ Name: 'mem' }, { Name: 'redis-alive', ServiceID: 'redis' }],
      }),
    );
    await http.put('/v1/catalog/deregister', { Node: 'ext-1', CheckID: 'mem' });
    const checks = () =>
      http.get('/v1/health/node/ext-1').then((a) => a.json<{ CheckID: string }[]>());
    expect((await checks()).map((c) => c.CheckID)).toEqual(['redis-alive']);
    await http.put('/v1/catalog/deregister', { Node: 'ext-1', ServiceID: 'redis' });
    expect(await checks()).toEqual([]);
    expect((await http.get('/v1/catalog/service/redis')).json()).toEqual([]);
    const node = await http.put('/v1/catalog/deregister', { Node: 'ext-1' });
    expect([node.status, node.text]).toEqual([200, 'true']);
    expect((await http.get('/v1/catalog/node/ext-1')).text).toBe('null');
    // deregistering what is not there succeeds, as in Consul
    expect((await http.put('/v1/catalog/deregister', { Node: 'ext-1' })).status).toBe(200);
  });

  it('lists the datacenters it knows, its own first', async () => {
    expect((await http.get('/v1/catalog/datacenters')).json()).toEqual(['dc1']);
  });
});
