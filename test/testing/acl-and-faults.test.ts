/** ConsulTestServer's ACLs and fault injection, as the discovery tests rely on them. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConsulTestServer, type ConsulTestServerOptions } from '../../src/testing/index.js';

let server: ConsulTestServer;
afterEach(() => server.stop());

async function start(options: ConsulTestServerOptions = {}) {
  server = await new ConsulTestServer(options).start();
  server.registerService({ Name: 'web', ID: 'w1', Port: 1 });
}

async function call(path: string, init: RequestInit = {}) {
  const response = await fetch(`http://${server.address}${path}`, init);
  return { status: response.status, headers: response.headers, text: await response.text() };
}
const health = (init: RequestInit = {}) => call('/v1/health/service/web', init);
const withToken = (token: string, method = 'GET'): RequestInit => ({
  method,
  headers: { 'X-Consul-Token': token },
});

describe('ConsulTestServer ACLs', () => {
  const acl = { tokens: { reader: 'read', writer: 'write' } } as const;

  it("answers an unknown token with Consul's 403 ACL not found", async () => {
    await start({ acl });
    expect(await health(withToken('stolen'))).toMatchObject({ status: 403, text: 'ACL not found' });
  });

  it('hides everything from an anonymous read, as a default-deny policy does', async () => {
    await start({ acl });
    const answer = await health();
    expect([answer.status, answer.text]).toEqual([200, '[]']);
    expect(answer.headers.get('x-consul-results-filtered-by-acls')).toBe('true');
  });

  it('serves reads to a read token and writes only to a write token', async () => {
    await start({ acl });
    expect(JSON.parse((await health(withToken('reader'))).text)).toHaveLength(1);
    const denied = await call('/v1/agent/service/deregister/w1', withToken('reader', 'PUT'));
    expect(denied.status).toBe(403);
    expect(denied.text).toMatch(/^Permission denied/);
    expect((await call('/v1/agent/service/deregister/w1', withToken('writer', 'PUT'))).status).toBe(
      200,
    );
  });

  it('accepts the token as an Authorization bearer too', async () => {
    await start({ acl });
    const answer = await health({ headers: { Authorization: 'Bearer reader' } });
    expect(JSON.parse(answer.text)).toHaveLength(1);
  });

  it('reads the token as Consul does: ?token first, then X-Consul-Token, then Authorization: Bearer', async () => {
    await start({ acl });
    const write = async (query: string, headers: Record<string, string>) =>
      (await call(`/v1/kv/k${query}`, { method: 'PUT', body: 'v', headers })).status;
    expect(await write('', {})).toBe(403);
    expect(await write('?token=writer', { 'X-Consul-Token': 'reader' })).toBe(200);
    expect(await write('?token=reader', { 'X-Consul-Token': 'writer' })).toBe(403);
    expect(await write('', { 'X-Consul-Token': 'writer', Authorization: 'Bearer reader' })).toBe(
      200,
    );
    expect(await write('', { 'X-Consul-Token': 'reader', Authorization: 'Bearer writer' })).toBe(
      403,
    );
    // the scheme in any case; the first word after it, however many spaces come before
    for (const authorization of [
      'Bearer writer',
      'bearer writer',
      'Bearer  writer',
      'Bearer writer extra',
    ]) {
      expect(await write('', { Authorization: authorization }), authorization).toBe(200);
    }
    // not a bearer token: anonymous
    for (const authorization of ['xBearer writer', 'Bearerwriter', 'Basic writer', 'writer']) {
      expect(await write('', { Authorization: authorization }), authorization).toBe(403);
    }
  });

  it('refuses ACL options that are not read or write', () => {
    expect(() => new ConsulTestServer({ acl: { tokens: { t: 'admin' as 'read' } } })).toThrow(
      /acl.tokens/,
    );
  });
});

describe('ConsulTestServer fault injection', () => {
  it('fails the next N answers with a status and Consul-like text, then recovers', async () => {
    await start();
    server.inject({ kind: 'status', status: 500, count: 2 });
    expect(await health()).toMatchObject({
      status: 500,
      text: 'rpc error making call: No cluster leader',
    });
    expect((await health()).status).toBe(500);
    expect((await health()).status).toBe(200);
    expect(server.requests.map((r) => r.status)).toEqual([500, 500, 200]);
  });

  it('only hits the path and method it is scoped to', async () => {
    await start();
    server.inject({ kind: 'status', status: 503, path: '/v1/catalog/services', count: Infinity });
    expect((await health()).status).toBe(200);
    expect((await call('/v1/catalog/services')).status).toBe(503);
    expect((await call('/v1/catalog/services')).status).toBe(503);
    server.clearFaults();
    expect((await call('/v1/catalog/services')).status).toBe(200);
  });

  it('answers a body that is not JSON', async () => {
    await start();
    server.inject({ kind: 'malformed' });
    const answer = await health();
    expect(answer.status).toBe(200);
    expect(() => JSON.parse(answer.text)).toThrow();
  });

  it('answers the injected JSON body, with the usual index headers', async () => {
    await start();
    server.inject({ kind: 'body', body: [{ Service: { ID: 'x', Port: 'eighty' } }] });
    const answer = await health();
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual([{ Service: { ID: 'x', Port: 'eighty' } }]);
    expect(answer.headers.get('x-consul-index')).toMatch(/^\d+$/);
  });

  it('drops the connection without an answer', async () => {
    await start();
    server.inject({ kind: 'drop' });
    await expect(health()).rejects.toThrow();
    expect(server.requests[0]?.outcome).toBe('dropped');
  });

  it('hangs until the client gives up, and records that it did', async () => {
    await start();
    server.inject({ kind: 'hang' });
    const controller = new AbortController();
    const pending = health({ signal: controller.signal });
    await vi.waitFor(() => expect(server.activeRequests).toBe(1));
    controller.abort();
    await expect(pending).rejects.toThrow();
    await vi.waitFor(() => expect(server.requests[0]?.outcome).toBe('closed-by-client'));
    expect(server.activeRequests).toBe(0);
  });

  it('ends hanging requests when it stops', async () => {
    await start();
    server.inject({ kind: 'hang' });
    const pending = health();
    await vi.waitFor(() => expect(server.activeRequests).toBe(1));
    await server.stop();
    await expect(pending).rejects.toThrow();
    expect(server.requests[0]?.outcome).toBe('stopped');
  });

  it('delays an answer and then answers normally', async () => {
    await start();
    server.inject({ kind: 'delay', ms: 30 });
    const answer = await health();
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toHaveLength(1);
  });

  it.each([
    [0, '0'],
    [3, '3'],
    [null, null],
  ])('sets X-Consul-Index to %s on the next answer', async (index, header) => {
    await start();
    server.inject({ kind: 'index', index });
    expect((await health()).headers.get('x-consul-index')).toBe(header);
    expect((await health()).headers.get('x-consul-index')).toBe(String(server.index));
  });

  it('strikes a blocking query in flight when it returns', async () => {
    await start();
    const blocked = call(`/v1/health/service/web?index=${server.index}&wait=1m`);
    await vi.waitFor(() => expect(server.activeRequests).toBe(1));
    server.inject({ kind: 'status', status: 500 });
    server.registerService({ Name: 'web', ID: 'w2', Port: 2 });
    expect((await blocked).status).toBe(500);
  });

  it('refuses faults it cannot apply', async () => {
    await start();
    expect(() => server.inject({ kind: 'status', status: 200 })).toThrow(/status/);
    expect(() => server.inject({ kind: 'drop', count: 0 })).toThrow(/count/);
    expect(() => server.inject({ kind: 'explode' } as never)).toThrow(
      /option "kind" must be "status", "malformed", .* or "index", got "explode"/,
    );
  });
});

describe('ConsulTestServer ACLs on the agent, catalog, KV and txn endpoints', () => {
  const acl = { tokens: { reader: 'read', writer: 'write' } } as const;
  const as = (token: string, method = 'GET', body?: string): RequestInit => ({
    method,
    headers: { 'X-Consul-Token': token },
    ...(body !== undefined && { body }),
  });

  it('denies /v1/agent/self to an anonymous caller, as Consul does, and serves a reader', async () => {
    await start({ acl });
    const anonymous = await call('/v1/agent/self');
    expect([anonymous.status, anonymous.text]).toEqual([
      403,
      "Permission denied: anonymous token lacks permission 'agent:read'",
    ]);
    expect((await call('/v1/agent/self', as('reader'))).status).toBe(200);
    const members = await call('/v1/agent/members');
    expect([members.status, members.text]).toEqual([200, '[]']);
  });

  it('denies an anonymous KV read of a key, and hides a listing', async () => {
    await start({ acl });
    expect((await call('/v1/kv/k', as('writer', 'PUT', 'v'))).text).toBe('true');
    expect((await call('/v1/kv/k')).status).toBe(403);
    const listing = await call('/v1/kv/?recurse');
    expect(listing.status).toBe(404);
    expect(listing.headers.get('x-consul-results-filtered-by-acls')).toBe('true');
    expect((await call('/v1/kv/k?raw', as('reader'))).text).toBe('v');
    expect((await call('/v1/kv/k', as('stolen'))).text).toBe('ACL not found');
  });

  it('lets only a write token write KV, the catalog and a transaction', async () => {
    await start({ acl });
    const kv = await call('/v1/kv/k', as('reader', 'PUT', 'v'));
    expect([kv.status, kv.text]).toEqual([
      403,
      "Permission denied: token lacks permission 'key:write'",
    ]);
    const node = JSON.stringify({ Node: 'ext', Address: '10.0.0.1' });
    expect((await call('/v1/catalog/register', as('reader', 'PUT', node))).status).toBe(403);
    expect((await call('/v1/catalog/register', as('writer', 'PUT', node))).status).toBe(200);
    const write = JSON.stringify([{ KV: { Verb: 'set', Key: 'k', Value: 'dg==' } }]);
    expect((await call('/v1/txn', as('reader', 'PUT', write))).status).toBe(403);
    const read = JSON.stringify([{ KV: { Verb: 'get-tree', Key: '' } }]);
    expect((await call('/v1/txn', as('reader', 'PUT', read))).status).toBe(200);
    expect((await call('/v1/txn', { method: 'PUT', body: read })).status).toBe(403);
  });
});

describe('ConsulTestServer faults on the new endpoints', () => {
  it('fails a KV read and write by path and method, then answers normally', async () => {
    await start();
    server.inject({ kind: 'status', status: 500, path: '/v1/kv/k', method: 'PUT' });
    expect((await call('/v1/kv/k', { method: 'PUT', body: 'v' })).status).toBe(500);
    expect((await call('/v1/kv/k', { method: 'PUT', body: 'v' })).status).toBe(200);
    server.inject({ kind: 'drop', method: 'DELETE' });
    await expect(call('/v1/kv/k', { method: 'DELETE' })).rejects.toThrow();
    expect(server.requests.at(-1)).toMatchObject({ method: 'DELETE', outcome: 'dropped' });
  });

  it('sets the X-Consul-Index of a KV read and a catalog read', async () => {
    await start();
    server.inject({ kind: 'index', index: 0, path: '/v1/kv/k' });
    expect((await call('/v1/kv/k')).headers.get('x-consul-index')).toBe('0');
    server.inject({ kind: 'index', index: null, path: '/v1/catalog/nodes' });
    expect((await call('/v1/catalog/nodes')).headers.get('x-consul-index')).toBeNull();
  });

  it('delays /v1/agent/self and then answers it', async () => {
    await start();
    server.inject({ kind: 'delay', ms: 20, path: '/v1/agent/self' });
    expect((await call('/v1/agent/self')).status).toBe(200);
  });
});

describe('ConsulTestServer request log', () => {
  it('keeps the most recent requestLogSize requests and counts them all', async () => {
    await start({ requestLogSize: 3 });
    for (const key of ['a', 'b', 'c', 'd', 'e']) await call(`/v1/kv/${key}`);
    expect(server.requests.map((r) => r.path)).toEqual(['/v1/kv/c', '/v1/kv/d', '/v1/kv/e']);
    expect(server.requestCount).toBe(5);
    server.clearRequests();
    expect([server.requests.length, server.requestCount]).toEqual([0, 0]);
  });

  it('stays bounded while requests keep coming', async () => {
    await start({ requestLogSize: 10 });
    for (let i = 0; i < 45; i++) await call('/v1/status/leader');
    expect(server.requests).toHaveLength(10);
    expect(server.requestCount).toBe(45);
  });

  it('keeps none with requestLogSize 0, still counting', async () => {
    await start({ requestLogSize: 0 });
    await call('/v1/status/leader');
    expect([server.requests.length, server.requestCount]).toEqual([0, 1]);
  });

  it.each([
    [{ requestLogSize: -1 }, /requestLogSize/],
    [{ requestLogSize: 1.5 }, /requestLogSize/],
    [{ datacenter: 'dc 1' }, /datacenter/],
    [{ enableScriptChecks: 'yes' }, /enableScriptChecks/],
    [{ wanRttMs: { dc2: -5 } }, /wanRttMs/],
    [{ wanJoin: {} }, /wanJoin/],
  ])('refuses option %o with a TypeError naming it', (options, message) => {
    expect(() => new ConsulTestServer(options as ConsulTestServerOptions)).toThrow(message);
  });
});
