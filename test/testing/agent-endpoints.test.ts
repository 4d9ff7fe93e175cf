/** ConsulTestServer's agent endpoints, with the shapes and status codes of Consul's agent API. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';
import { type ConsulHttp, consulHttp } from './http.js';

let server: ConsulTestServer;
let http: ConsulHttp;

beforeEach(async () => {
  server = await new ConsulTestServer({
    datacenter: 'east',
    nodeName: 'n1',
    nodeMeta: { rack: 'r1' },
  }).start();
  http = consulHttp(server);
});
afterEach(() => server.stop());

type Check = { CheckID: string; Status: string; ServiceID: string; Type: string; Notes: string };
const passingIds = async (service: string) =>
  (await http.get(`/v1/health/service/${service}?passing`))
    .json<{ Service: { ID: string } }[]>()
    .map((e) => e.Service.ID);

describe('ConsulTestServer /v1/agent/self and /v1/agent/members', () => {
  it('describes itself with Config, Member, Stats and Meta as a Consul server does', async () => {
    server.registerService({ Name: 'web', Port: 1, Check: { TTL: '1m' } });
    const answer = await http.get('/v1/agent/self');
    expect(answer.status).toBe(200);
    const self = answer.json<Record<string, Record<string, unknown>>>();
    expect(self.Config).toMatchObject({
      Datacenter: 'east',
      PrimaryDatacenter: 'east',
      NodeName: 'n1',
      Server: true,
      Version: expect.stringMatching(/^\d+\.\d+\.\d+$/),
    });
    expect(self.Config?.NodeID).toMatch(/^[0-9a-f-]{36}$/);
    expect(self.DebugConfig).toMatchObject({ Datacenter: 'east', NodeName: 'n1' });
    expect(self.Member).toMatchObject({ Name: 'n1', Addr: '127.0.0.1', Port: 8301, Status: 1 });
    expect(self.Member?.Tags).toMatchObject({ dc: 'east', role: 'consul', port: '8300' });
    expect(self.Stats).toMatchObject({
      agent: { services: '1', checks: '1', check_ttls: '1' },
      consul: { server: 'true', leader: 'true', known_datacenters: '1' },
    });
    expect(self.Meta).toEqual({ rack: 'r1' });
  });

  it('lists itself as the one LAN member, and itself as node.dc on the WAN', async () => {
    const lan = (await http.get('/v1/agent/members')).json();
    expect(lan).toMatchObject([{ Name: 'n1', Port: 8301, Tags: { dc: 'east' }, Status: 1 }]);
    const wan = (await http.get('/v1/agent/members?wan=1')).json();
    expect(wan).toMatchObject([{ Name: 'n1.east', Port: 8302, Tags: { dc: 'east' } }]);
    expect((await http.get('/v1/agent/members?wan=1&segment=alpha')).status).toBe(400);
  });
});

describe('ConsulTestServer standalone checks', () => {
  it('registers a node check that counts for every service of the node', async () => {
    server.registerService({ Name: 'web', ID: 'w1', Port: 1 });
    server.registerService({ Name: 'db', ID: 'd1', Port: 2 });
    const put = await http.put('/v1/agent/check/register', { Name: 'disk', TTL: '1m' });
    expect([put.status, put.text]).toEqual([200, '']);
    const checks = (await http.get('/v1/agent/checks')).json<Record<string, Check>>();
    expect(checks.disk).toMatchObject({
      CheckID: 'disk',
      ServiceID: '',
      Status: 'critical',
      Type: 'ttl',
    });
    expect(await passingIds('web')).toEqual([]);
    expect(await passingIds('db')).toEqual([]);
    await http.put('/v1/agent/check/pass/disk');
    expect(await passingIds('web')).toEqual(['w1']);
  });

  it("attaches a check to one of the agent's services with ServiceID", async () => {
    server.registerService({ Name: 'web', ID: 'w1', Port: 1 });
    server.registerService({ Name: 'web', ID: 'w2', Port: 2 });
    await http.put('/v1/agent/check/register', {
      ID: 'w1-ttl',
      Name: 'w1 alive',
      ServiceID: 'w1',
      TTL: '1m',
      Status: 'warning',
    });
    expect(await passingIds('web')).toEqual(['w2']);
    const [check] = (await http.get('/v1/health/checks/web')).json<Check[]>();
    expect(check).toMatchObject({ CheckID: 'w1-ttl', ServiceID: 'w1', Status: 'warning' });
  });

  it("refuses what Consul's check endpoint refuses, with its messages", async () => {
    const noName = await http.put('/v1/agent/check/register', { TTL: '1m' });
    expect([noName.status, noName.text]).toEqual([400, 'Missing check name']);
    const badStatus = await http.put('/v1/agent/check/register', {
      Name: 'x',
      TTL: '1m',
      Status: 'ok',
    });
    expect([badStatus.status, badStatus.text]).toEqual([400, 'Bad check status']);
    const noType = await http.put('/v1/agent/check/register', { Name: 'x' });
    expect([noType.status, noType.text]).toEqual([
      400,
      'Invalid check: TTL must be > 0 for TTL checks',
    ]);
    const noInterval = await http.put('/v1/agent/check/register', { Name: 'x', TCP: 'h:1' });
    expect(noInterval.text).toMatch(/^Invalid check: Interval must be > 0/);
    const noService = await http.put('/v1/agent/check/register', {
      Name: 'x',
      TTL: '1m',
      ServiceID: 'nope',
    });
    expect([noService.status, noService.text]).toEqual([404, 'ServiceID "nope" does not exist']);
  });

  it('deregisters a check, and answers 404 for one it does not have', async () => {
    await http.put('/v1/agent/check/register', { Name: 'disk', TTL: '1m' });
    expect((await http.put('/v1/agent/check/deregister/disk')).status).toBe(200);
    expect((await http.get('/v1/agent/checks')).json()).toEqual({});
    const missing = await http.put('/v1/agent/check/deregister/disk');
    expect([missing.status, missing.text]).toEqual([
      404,
      'Unknown check ID "disk". Ensure that the check ID is passed, not the check name.',
    ]);
    // serfHealth is the catalog's, not the agent's: Consul answers it the same way
    expect((await http.put('/v1/agent/check/deregister/serfHealth')).status).toBe(404);
  });

  it("answers a malformed check update as Consul does ('sick' in single quotes)", async () => {
    await http.put('/v1/agent/check/register', { Name: 'disk', TTL: '1m' });
    const answer = await http.put('/v1/agent/check/update/disk', { Status: 'sick' });
    expect([answer.status, answer.text]).toEqual([400, "Invalid check status: 'sick'"]);
  });
});

describe('ConsulTestServer node maintenance', () => {
  it('adds the critical _node_maintenance check, which takes every service out of ?passing', async () => {
    server.registerService({ Name: 'web', ID: 'w1', Port: 1 });
    const index = (await http.get('/v1/health/service/web')).index;
    expect((await http.put('/v1/agent/maintenance?enable=true&reason=kernel')).status).toBe(200);
    expect(await passingIds('web')).toEqual([]);
    const web = await http.get('/v1/health/service/web');
    expect(web.index).toBeGreaterThan(index); // a node check moves every service's index
    const [entry] = web.json<{ Checks: Check[] }[]>();
    expect(entry?.Checks.map((c) => c.CheckID)).toEqual(['_node_maintenance', 'serfHealth']);
    expect(entry?.Checks[0]).toMatchObject({
      Status: 'critical',
      Notes: 'kernel',
      Type: 'maintenance',
    });
    await http.put('/v1/agent/maintenance?enable=false');
    expect(await passingIds('web')).toEqual(['w1']);
  });

  it('reads enable as Go does, and refuses a missing or unreadable one', async () => {
    expect((await http.put('/v1/agent/maintenance?enable=1')).status).toBe(200);
    expect((await http.get('/v1/health/node/n1')).json<Check[]>().map((c) => c.CheckID)).toContain(
      '_node_maintenance',
    );
    const missing = await http.put('/v1/agent/maintenance');
    expect([missing.status, missing.text]).toEqual([400, 'Missing value for enable']);
    const bad = await http.put('/v1/agent/maintenance?enable=yes');
    expect([bad.status, bad.text]).toEqual([400, 'Invalid value for enable: "yes"']);
  });

  it('answers 404 for the maintenance of a service it does not have', async () => {
    const answer = await http.put('/v1/agent/service/maintenance/nope?enable=true');
    expect([answer.status, answer.text]).toEqual([404, 'No service registered with ID "nope"']);
  });

  it('is also set from the test API', async () => {
    server.registerService({ Name: 'web', ID: 'w1', Port: 1 });
    server.setNodeMaintenance(true, 'drain');
    expect(await passingIds('web')).toEqual([]);
    server.setNodeMaintenance(false);
    expect(await passingIds('web')).toEqual(['w1']);
  });
});

describe('ConsulTestServer join, force-leave and reload', () => {
  it('joins itself and fails to reach any other agent, as a lone agent does', async () => {
    expect((await http.put('/v1/agent/join/127.0.0.1')).status).toBe(200);
    expect((await http.put('/v1/agent/join/127.0.0.1:8302?wan=1')).status).toBe(200);
    const other = await http.put('/v1/agent/join/10.9.9.9');
    expect(other.status).toBe(500);
    expect(other.text).toContain('Failed to join 10.9.9.9:8301');
  });

  it('answers force-leave and reload with 200, changing nothing', async () => {
    expect((await http.put('/v1/agent/force-leave/gone-node')).status).toBe(200);
    expect((await http.put('/v1/agent/reload')).status).toBe(200);
    expect((await http.get('/v1/agent/members')).json()).toHaveLength(1);
  });
});
