/** ConsulTestServer speaks Consul's HTTP API: shapes, headers, status codes and indexes. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';

let server: ConsulTestServer;

beforeEach(async () => {
  server = await new ConsulTestServer({ nodeMeta: { rack: 'r1' } }).start();
});
afterEach(() => server.stop());

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: () => unknown;
}

async function call(method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`http://${server.address}${path}`, {
    method,
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}
const get = (path: string) => call('GET', path);
const put = (path: string, body?: unknown) => call('PUT', path, body);

type Entry = { Service: Record<string, unknown>; Checks: { CheckID: string; Status: string }[] };
const ids = (answer: Answer) => (answer.json() as Entry[]).map((e) => e.Service.ID);

describe('ConsulTestServer health and catalog queries', () => {
  it("answers /v1/health/service with Consul's entry shape and headers", async () => {
    server.registerService({
      Name: 'web',
      ID: 'web-1',
      Port: 8080,
      Tags: ['v2'],
      Meta: { zone: 'a' },
      Weights: { Passing: 3 },
    });
    const answer = await get('/v1/health/service/web');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(answer.headers.get('x-consul-index')).toBe(String(server.index));
    expect(answer.headers.get('x-consul-knownleader')).toBe('true');
    expect(answer.headers.get('x-consul-lastcontact')).toBe('0');
    const [entry] = answer.json() as Entry[];
    expect(entry).toMatchObject({
      Node: { Node: 'rxlb-test-node', Address: '127.0.0.1', Datacenter: 'dc1' },
      Service: {
        ID: 'web-1',
        Service: 'web',
        Address: '', // empty: clients use Node.Address, as with Consul
        Port: 8080,
        Tags: ['v2'],
        Meta: { zone: 'a' },
        Weights: { Passing: 3, Warning: 1 },
      },
      Checks: [{ CheckID: 'serfHealth', Status: 'passing' }],
    });
  });

  it('gives each service the index of its last write; other services do not move it', async () => {
    server.registerService({ Name: 'web', ID: 'web-1', Port: 1 });
    const webIndex = server.index;
    server.registerService({ Name: 'db', ID: 'db-1', Port: 2 });
    expect(server.index).toBeGreaterThan(webIndex);
    expect((await get('/v1/health/service/web')).headers.get('x-consul-index')).toBe(`${webIndex}`);
    server.deregisterService('web-1');
    const afterDelete = await get('/v1/health/service/web');
    expect(afterDelete.headers.get('x-consul-index')).toBe(`${server.index}`);
    expect(afterDelete.json()).toEqual([]);
  });

  it("moves a service's index with its own checks, its node's checks and a rename; not with another's, nor a check set to what it was", async () => {
    server.registerService({ Name: 'web', ID: 'web-1', Port: 1, Check: { TTL: '1m' } });
    server.registerService({ Name: 'db', ID: 'db-1', Port: 2, Check: { TTL: '1m' } });
    const indexOf = async (service: string) =>
      Number((await get(`/v1/health/service/${service}`)).headers.get('x-consul-index'));
    const web = await indexOf('web');

    server.setCheckStatus('service:db-1', 'passing');
    const db = server.index;
    expect(await indexOf('db')).toBe(db);
    expect(await indexOf('web')).toBe(web);
    // another instance of web, with a check of its own: db does not move
    server.registerService({ Name: 'web', ID: 'web-2', Port: 3, Check: { TTL: '1m' } });
    expect(await indexOf('web')).toBe(server.index);
    expect(await indexOf('db')).toBe(db);
    server.deregisterService('web-2');

    // the same status and output: no write, no new index, nothing woken
    const before = server.index;
    server.setCheckStatus('service:web-1', 'critical');
    expect(server.index).toBe(before);
    server.setCheckStatus('service:web-1', 'critical', 'down');
    expect(await indexOf('web')).toBe(server.index);
    expect(await indexOf('db')).toBe(db);

    // a node check (maintenance) counts for every service on the node
    server.setNodeMaintenance(true);
    expect(await indexOf('web')).toBe(server.index);
    expect(await indexOf('db')).toBe(server.index);
    server.setNodeMaintenance(false);

    // renamed: both names move, and the check follows the service to its new name
    server.registerService({ Name: 'api', ID: 'web-1', Port: 1 });
    expect(await indexOf('web')).toBe(server.index);
    expect(await indexOf('api')).toBe(server.index);
    const [api] = (await get('/v1/health/service/api')).json() as Entry[];
    expect(api?.Checks.find((check) => check.CheckID === 'service:web-1')).toMatchObject({
      ServiceName: 'api',
    });
    expect(((await get('/v1/health/service/web')).json() as Entry[]).length).toBe(0);
  });

  it('blocks on ?index until the service changes, then answers with the new index', async () => {
    server.registerService({ Name: 'web', ID: 'web-1', Port: 1 });
    const index = server.index;
    const blocked = get(`/v1/health/service/web?index=${index}&wait=1m`);
    await vi.waitFor(() => expect(server.activeRequests).toBe(1));
    server.registerService({ Name: 'db', ID: 'db-1', Port: 2 }); // another service: no wake
    server.registerService({ Name: 'web', ID: 'web-2', Port: 3 });
    const answer = await blocked;
    expect(answer.headers.get('x-consul-index')).toBe(`${server.index}`);
    expect(ids(answer)).toEqual(['web-1', 'web-2']);
  });

  it('ends a blocking query after wait with the same index when nothing changed', async () => {
    server.registerService({ Name: 'web', ID: 'web-1', Port: 1 });
    const answer = await get(`/v1/health/service/web?index=${server.index}&wait=30ms`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-consul-index')).toBe(`${server.index}`);
  });

  it('answers at once when ?index is behind, and 400 for a bad index or wait', async () => {
    server.registerService({ Name: 'web', ID: 'web-1', Port: 1 });
    expect((await get('/v1/health/service/web?index=1&wait=10m')).status).toBe(200);
    expect((await get('/v1/health/service/web?index=abc')).status).toBe(400);
    expect((await get(`/v1/health/service/web?index=${server.index}&wait=soon`)).text).toBe(
      'Invalid wait time',
    );
  });

  it('filters by passing, tag, node-meta and filter expression', async () => {
    server.registerService({ Name: 'web', ID: 'a', Port: 1, Tags: ['x', 'y'] });
    server.registerService({ Name: 'web', ID: 'b', Port: 2, Tags: ['x'], Meta: { v: '2' } });
    server.registerService({ Name: 'web', ID: 'c', Port: 3, Check: { TTL: '1m' } }); // critical
    server.registerService({
      Name: 'web',
      ID: 'd',
      Port: 4,
      Check: { CheckID: 'd-ttl', TTL: '1m', Status: 'warning' },
    });
    expect(ids(await get('/v1/health/service/web'))).toEqual(['a', 'b', 'c', 'd']);
    expect(ids(await get('/v1/health/service/web?passing=true'))).toEqual(['a', 'b']);
    expect(ids(await get('/v1/health/service/web?passing'))).toEqual(['a', 'b']);
    expect(ids(await get('/v1/health/service/web?tag=x&tag=y'))).toEqual(['a']);
    expect(ids(await get('/v1/health/service/web?node-meta=rack:r1'))).toHaveLength(4);
    expect(ids(await get('/v1/health/service/web?node-meta=rack:r2'))).toEqual([]);
    const filter = encodeURIComponent('Service.Meta.v == "2" or Service.ID == a');
    expect(ids(await get(`/v1/health/service/web?filter=${filter}`))).toEqual(['a', 'b']);
  });

  it('refuses what Consul refuses: a bad filter, another dc, stale with consistent', async () => {
    const bad = await get(`/v1/health/service/web?filter=${encodeURIComponent('Service.ID ==')}`);
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/^Failed to create boolean expression evaluator/);
    const dc = await get('/v1/health/service/web?dc=dc9');
    expect([dc.status, dc.text]).toEqual([500, 'No path to datacenter']);
    expect((await get('/v1/health/service/web?stale&consistent')).status).toBe(400);
    const stale = await get('/v1/health/service/web?stale');
    expect(stale.headers.get('x-consul-effective-consistency')).toBe('stale');
  });

  it('answers the catalog, agent and status endpoints', async () => {
    server.registerService({ Name: 'web', ID: 'web-1', Port: 1, Tags: ['b', 'a'] });
    server.registerService({ Name: 'web', ID: 'web-2', Port: 2, Tags: ['c'] });
    // every Consul server registers itself as the `consul` service
    expect((await get('/v1/catalog/services')).json()).toEqual({
      consul: [],
      web: ['a', 'b', 'c'],
    });
    const catalog = (await get('/v1/catalog/service/web?tag=c')).json();
    expect(catalog).toMatchObject([
      { ServiceID: 'web-2', ServiceName: 'web', ServicePort: 2, Node: 'rxlb-test-node' },
    ]);
    const agent = (await get('/v1/agent/services')).json() as Record<string, unknown>;
    expect(Object.keys(agent)).toEqual(['web-1', 'web-2']);
    expect(agent['web-1']).toMatchObject({ ID: 'web-1', Service: 'web', Port: 1 });
    expect((await get('/v1/status/leader')).json()).toBe('127.0.0.1:8300');
  });
});

describe('ConsulTestServer agent endpoints', () => {
  it('registers with any key case, as Go decodes JSON, and deregisters', async () => {
    expect(
      (await put('/v1/agent/service/register', { name: 'web', id: 'w1', port: 9 })).status,
    ).toBe(200);
    expect(ids(await get('/v1/health/service/web'))).toEqual(['w1']);
    expect((await put('/v1/agent/service/deregister/w1')).status).toBe(200);
    expect(ids(await get('/v1/health/service/web'))).toEqual([]);
  });

  it('answers 400 for a malformed or incomplete definition, 404 for unknown ids', async () => {
    expect((await put('/v1/agent/service/register', '{"Name":')).status).toBe(400);
    const noName = await put('/v1/agent/service/register', { Port: 1 });
    expect([noName.status, noName.text]).toEqual([400, 'Missing service name']);
    const badCheck = await put('/v1/agent/service/register', {
      Name: 'w',
      Check: { Interval: '1s' },
    });
    expect(badCheck.status).toBe(400);
    expect((await put('/v1/agent/service/deregister/nope')).status).toBe(404);
    expect((await put('/v1/agent/check/pass/nope')).status).toBe(404);
  });

  it('answers 404 for unknown endpoints and 405 for a wrong method', async () => {
    expect((await get('/v1/nope')).status).toBe(404);
    const wrong = await get('/v1/agent/service/register');
    expect([wrong.status, wrong.text]).toEqual([405, 'method GET not allowed']);
  });

  it('moves TTL checks with pass, warn, fail and update; only TTL checks take them', async () => {
    server.registerService({
      Name: 'web',
      ID: 'w1',
      Port: 1,
      Checks: [
        { CheckID: 'ttl', TTL: '1m' },
        { CheckID: 'tcp', TCP: '127.0.0.1:1', Interval: '1h' },
      ],
    });
    const ttlStatus = async () => {
      const [entry] = (await get('/v1/health/service/web')).json() as Entry[];
      return entry?.Checks.find((c) => c.CheckID === 'ttl')?.Status;
    };
    expect(await ttlStatus()).toBe('critical'); // Consul's initial status
    await put('/v1/agent/check/pass/ttl?note=ok');
    expect(await ttlStatus()).toBe('passing');
    await put('/v1/agent/check/warn/ttl');
    expect(await ttlStatus()).toBe('warning');
    await put('/v1/agent/check/update/ttl', { Status: 'critical', Output: 'down' });
    expect(await ttlStatus()).toBe('critical');
    expect((await put('/v1/agent/check/update/ttl', { Status: 'sick' })).status).toBe(400);
    const notTtl = await put('/v1/agent/check/pass/tcp');
    expect([notTtl.status, notTtl.text]).toEqual([
      500,
      'CheckID "tcp" does not have associated TTL',
    ]);
  });

  it('expires a TTL check that is not updated in time', async () => {
    server.registerService({
      Name: 'web',
      ID: 'w1',
      Port: 1,
      Check: { CheckID: 'ttl', TTL: '50ms', Status: 'passing' },
    });
    expect(ids(await get('/v1/health/service/web?passing'))).toEqual(['w1']);
    await vi.waitFor(async () =>
      expect(ids(await get('/v1/health/service/web?passing'))).toEqual([]),
    );
    const [entry] = (await get('/v1/health/service/web')).json() as {
      Checks: { Output: string }[];
    }[];
    expect(entry?.Checks[1]?.Output).toMatch(/^TTL expired/);
  });

  it('deregisters a service critical for longer than DeregisterCriticalServiceAfter', async () => {
    server.registerService({
      Name: 'web',
      ID: 'w1',
      Port: 1,
      Check: { CheckID: 'ttl', TTL: '1m', DeregisterCriticalServiceAfter: '50ms' },
    });
    await vi.waitFor(async () => expect(ids(await get('/v1/health/service/web'))).toEqual([]));
  });

  it('keeps a passing service that has DeregisterCriticalServiceAfter', async () => {
    server.registerService({
      Name: 'web',
      ID: 'w1',
      Port: 1,
      Check: {
        CheckID: 'ttl',
        TTL: '1m',
        DeregisterCriticalServiceAfter: '30ms',
        Status: 'passing',
      },
    });
    const index = server.index;
    // a blocking query that would wake on the deregistration; it ends at wait instead
    await get(`/v1/health/service/web?index=${index}&wait=120ms`);
    expect(ids(await get('/v1/health/service/web'))).toEqual(['w1']);
  });

  it('puts a service in and out of maintenance with a critical check', async () => {
    server.registerService({ Name: 'web', ID: 'w1', Port: 1 });
    expect((await put('/v1/agent/service/maintenance/w1')).status).toBe(400);
    await put('/v1/agent/service/maintenance/w1?enable=true&reason=deploy');
    expect(ids(await get('/v1/health/service/web?passing'))).toEqual([]);
    const [entry] = (await get('/v1/health/service/web')).json() as {
      Checks: { CheckID: string; Notes: string }[];
    }[];
    expect(entry?.Checks[1]).toMatchObject({ CheckID: '_service_maintenance:w1', Notes: 'deploy' });
    await put('/v1/agent/service/maintenance/w1?enable=false');
    expect(ids(await get('/v1/health/service/web?passing'))).toEqual(['w1']);
  });

  it('validates registrations made through its own API with a TypeError', () => {
    expect(() => server.registerService({ Name: '' })).toThrow(
      /registerService\(\): Missing service name/,
    );
    expect(() => server.setCheckStatus('nope', 'passing')).toThrow(/Unknown check ID "nope"/);
  });
});
