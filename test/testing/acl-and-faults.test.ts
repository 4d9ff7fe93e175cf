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
    expect(() => server.inject({ kind: 'explode' } as never)).toThrow(/unknown fault kind/);
  });
});
