/** ConsulTestServer's health endpoints for checks: by node, by service and by state. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';
import { type ConsulHttp, consulHttp } from './http.js';

let server: ConsulTestServer;
let http: ConsulHttp;

beforeEach(async () => {
  server = await new ConsulTestServer({ nodeName: 'n1' }).start();
  http = consulHttp(server);
  server.registerService({
    Name: 'web',
    ID: 'w1',
    Port: 1,
    Tags: ['v2'],
    Check: { CheckID: 'w1-ttl', TTL: '1m', Status: 'passing' },
  });
  server.registerService({
    Name: 'db',
    ID: 'd1',
    Port: 2,
    Check: { CheckID: 'd1-ttl', TTL: '1m' },
  });
});
afterEach(() => server.stop());

type Check = Record<string, unknown> & { CheckID: string };
const ids = (checks: Check[]) => checks.map((c) => c.CheckID);

describe('ConsulTestServer /v1/health/node/:node', () => {
  it("lists the node's checks, node checks and service checks, in Consul's check shape", async () => {
    const answer = await http.get('/v1/health/node/n1');
    expect(answer.status).toBe(200);
    expect(answer.index).toBeGreaterThan(0);
    const checks = answer.json<Check[]>();
    expect(ids(checks)).toEqual(['d1-ttl', 'serfHealth', 'w1-ttl']);
    expect(checks.find((c) => c.CheckID === 'w1-ttl')).toEqual({
      Node: 'n1',
      CheckID: 'w1-ttl',
      Name: "Service 'web' check",
      Status: 'passing',
      Notes: '',
      Output: '',
      ServiceID: 'w1',
      ServiceName: 'web',
      ServiceTags: ['v2'],
      Type: 'ttl',
      Interval: '',
      Timeout: '',
      ExposedPort: 0,
      Definition: {},
      CreateIndex: expect.any(Number),
      ModifyIndex: expect.any(Number),
    });
  });

  it('blocks until a check of the node changes', async () => {
    const { index } = await http.get('/v1/health/node/n1');
    const blocked = http.get(`/v1/health/node/n1?index=${index}&wait=1m`);
    await vi.waitFor(() => expect(server.activeRequests).toBe(1));
    await http.put('/v1/agent/maintenance?enable=true');
    expect(ids((await blocked).json())).toContain('_node_maintenance');
  });

  it('answers an unknown node with an empty list', async () => {
    expect((await http.get('/v1/health/node/nope')).json()).toEqual([]);
  });
});

describe('ConsulTestServer /v1/health/checks/:service', () => {
  it("lists only the service's own checks, filtered by filter", async () => {
    expect(ids((await http.get('/v1/health/checks/web')).json())).toEqual(['w1-ttl']);
    const filter = encodeURIComponent('Status == critical');
    expect((await http.get(`/v1/health/checks/web?filter=${filter}`)).json()).toEqual([]);
    expect((await http.get('/v1/health/checks/nope')).json()).toEqual([]);
  });

  it('blocks until a check changes, then answers with the new status', async () => {
    const { index } = await http.get('/v1/health/checks/web');
    const blocked = http.get(`/v1/health/checks/web?index=${index}&wait=1m`);
    await vi.waitFor(() => expect(server.activeRequests).toBe(1));
    await http.put('/v1/agent/check/fail/w1-ttl?note=down');
    const answer = await blocked;
    expect(answer.index).toBeGreaterThan(index);
    expect(answer.json()).toMatchObject([
      { CheckID: 'w1-ttl', Status: 'critical', Output: 'down' },
    ]);
  });
});

describe('ConsulTestServer /v1/health/state/:state', () => {
  it.each([
    ['any', ['d1-ttl', 'serfHealth', 'w1-ttl']],
    ['passing', ['serfHealth', 'w1-ttl']],
    ['critical', ['d1-ttl']],
    ['warning', []],
    // Consul answers a state it does not know with no checks, not an error
    ['sick', []],
  ])('lists the checks in state %s', async (state, expected) => {
    const answer = await http.get(`/v1/health/state/${state}`);
    expect(answer.status).toBe(200);
    expect(ids(answer.json())).toEqual(expected);
  });

  it('blocks until a check changes state', async () => {
    const { index } = await http.get('/v1/health/state/critical');
    const blocked = http.get(`/v1/health/state/critical?index=${index}&wait=1m`);
    await vi.waitFor(() => expect(server.activeRequests).toBe(1));
    server.setCheckStatus('w1-ttl', 'critical', 'gone');
    expect(ids((await blocked).json())).toEqual(['d1-ttl', 'w1-ttl']);
  });

  it('refuses what every read refuses: a bad filter, stale with consistent', async () => {
    expect((await http.get('/v1/health/state/any?filter=%3D%3D')).status).toBe(400);
    expect((await http.get('/v1/health/state/any?stale&consistent')).status).toBe(400);
  });
});
