/**
 * `ConsulTestServer.inject()`'s fault descriptions: each that cannot be a fault refused with a
 * TypeError saying what the option must be, each kind taken with its scope, and a fault
 * scoped to a method leaving the other methods alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConsulTestServer, type Fault } from '../../src/testing/index.js';

const servers: ConsulTestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

const KINDS = '"status", "malformed", "body", "drop", "hang", "delay" or "index"';

describe('inject()', () => {
  it.each<[unknown, string]>([
    [1, 'options must be an object, got 1'],
    [{}, 'option "kind" must be given'],
    [{ kind: 'reset' }, `option "kind" must be ${KINDS}, got "reset"`],
    [{ kind: 'status' }, 'option "status" must be an HTTP error status (400 to 599)'],
    [
      { kind: 'status', status: 399 },
      'option "status" must be an integer from 400 to 599, got 399',
    ],
    [
      { kind: 'status', status: 600 },
      'option "status" must be an integer from 400 to 599, got 600',
    ],
    [
      { kind: 'status', status: 500.5 },
      'option "status" must be an integer from 400 to 599, got 500.5',
    ],
    [{ kind: 'status', status: 500, body: 1 }, 'option "body" must be a non-empty string, got 1'],
    [{ kind: 'status', status: 500, ms: 5 }, 'unknown option "ms"'],
    [{ kind: 'status', status: 500, count: 0 }, 'option "count" must be an integer >= 1, got 0'],
    [
      { kind: 'status', status: 500, count: 1.5 },
      'option "count" must be an integer >= 1, got 1.5',
    ],
    [
      { kind: 'status', status: 500, method: 'POST' },
      'option "method" must be "GET", "PUT" or "DELETE", got "POST"',
    ],
    [{ kind: 'status', status: 500, path: 1 }, 'option "path" must be a non-empty string, got 1'],
    [
      { kind: 'status', status: 500, datacenter: 1 },
      'option "datacenter" must be a non-empty string, got 1',
    ],
    [{ kind: 'body' }, 'option "body" must be JSON'],
    [{ kind: 'body', body: () => 1 }, 'option "body" must be JSON, got function'],
    [{ kind: 'delay' }, 'option "ms" must be a number of ms'],
    [{ kind: 'delay', ms: -1 }, 'option "ms" must be a number of ms from 0 to 2147483647, got -1'],
    [{ kind: 'index' }, 'option "index" must be an integer >= 0, or null for no X-Consul-Index'],
    [{ kind: 'index', index: -1 }, 'option "index" must be an integer >= 0, got -1'],
    [{ kind: 'index', index: 1.5 }, 'option "index" must be an integer >= 0, got 1.5'],
  ])('refuses %j: "%s"', (fault, message) => {
    const server = new ConsulTestServer();
    expect(() => server.inject(fault as Fault)).toThrow(new TypeError(`inject(): ${message}`));
  });

  it('takes each kind, scoped or not', () => {
    const server = new ConsulTestServer();
    const scope = { path: '/v1/kv/k', method: 'GET', datacenter: 'dc1', count: 2 } as const;
    for (const fault of [
      { kind: 'status', status: 400 },
      { kind: 'status', status: 599, body: 'no', ...scope },
      { kind: 'malformed' },
      { kind: 'body', body: null },
      { kind: 'body', body: [], count: Number.POSITIVE_INFINITY },
      { kind: 'drop', method: 'PUT' },
      { kind: 'hang', method: 'DELETE' },
      { kind: 'delay', ms: 0 },
      { kind: 'index', index: 0 },
      { kind: 'index', index: null },
    ] as Fault[]) {
      expect(() => server.inject(fault), JSON.stringify(fault)).not.toThrow();
    }
  });

  it('leaves the other methods alone when scoped to one', async () => {
    const server = await new ConsulTestServer().start();
    servers.push(server);
    const call = async (method: string) =>
      (
        await fetch(`http://${server.address}/v1/kv/k`, {
          method,
          body: method === 'PUT' ? 'v' : null,
        })
      ).status;
    server.inject({ kind: 'status', status: 503, method: 'PUT' });
    expect(await call('GET')).toBe(404);
    expect(await call('DELETE')).toBe(200);
    expect(await call('PUT')).toBe(503);
    expect(await call('PUT')).toBe(200);
  });
});
