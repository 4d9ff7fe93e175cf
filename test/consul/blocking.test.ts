/** Consul's blocking-query rules, pinned against ConsulTestServer's recorded requests. */
import { firstValueFrom } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConsulClient } from '../../src/consul/client.js';
import { consulInstances$ } from '../../src/consul/instances.js';

import type { ConsulStatus } from '../../src/consul/options.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { record } from '../support/observe.js';
import { healthQueries, params } from '../support/server.js';

const SERVICE = 'greeter';
let server: ConsulTestServer;

beforeEach(async () => {
  server = await new ConsulTestServer().start();
  server.registerService({ Name: SERVICE, ID: 'g1', Port: 50051, Address: '127.0.0.1' });
});
afterEach(() => server.stop());

const queries = () => healthQueries(server.requests, SERVICE);

describe('consulInstances$ blocking queries', () => {
  it('asks first without an index, then with the last X-Consul-Index and wait', async () => {
    const seen = record(consulInstances$(SERVICE, { address: server.address, wait: '300ms' }));
    await vi.waitFor(() => expect(queries().length).toBeGreaterThanOrEqual(2));
    seen.subscription.unsubscribe();
    const [first, second] = queries();
    expect(params(first).has('index')).toBe(false);
    expect(params(first).get('passing')).toBe('true');
    // nothing changed since the registration, so the service's index is the server's
    expect(params(second).get('index')).toBe(String(server.index));
    expect(params(second).get('wait')).toBe('300ms');
  });

  it('does not emit when a wait ends with the index unchanged', async () => {
    const seen = record(consulInstances$(SERVICE, { address: server.address, wait: '50ms' }));
    // three blocking queries that time out on an unchanged index
    await vi.waitFor(() => expect(queries().length).toBeGreaterThanOrEqual(4));
    seen.subscription.unsubscribe();
    expect(seen.values).toHaveLength(1);
  });

  it('does not emit when the index moved but the set did not change', async () => {
    server.registerService({ Name: 'other', ID: 'o1', Port: 1 });
    const seen = record(consulInstances$(SERVICE, { address: server.address, wait: '5s' }));
    await vi.waitFor(() => expect(seen.values).toHaveLength(1));
    // the watch has read an answer at `index` once it sends that index back
    const answeredAt = (index: number) =>
      vi.waitFor(() => expect(queries().map((q) => params(q).get('index'))).toContain(`${index}`));
    // Re-registering with a passing check, then a check output change, each bump the
    // service's index without changing the set of passing instances.
    server.registerService({
      Name: SERVICE,
      ID: 'g1',
      Port: 50051,
      Address: '127.0.0.1',
      Check: { CheckID: 'g1-ttl', TTL: '60s', Status: 'passing' },
    });
    await answeredAt(server.index);
    server.setCheckStatus('g1-ttl', 'passing', 'still fine');
    await answeredAt(server.index);
    seen.subscription.unsubscribe();
    expect(seen.values).toHaveLength(1);
  });

  it('resets the index to 0 when Consul returns an index that went backwards', async () => {
    const statuses: ConsulStatus[] = [];
    const seen = record(
      consulInstances$(SERVICE, {
        address: server.address,
        wait: '5s',
        onStatus: (s) => statuses.push(s),
      }),
    );
    await vi.waitFor(() => expect(seen.values).toHaveLength(1));
    const high = server.index;
    server.inject({ kind: 'index', index: 1, path: `/v1/health/service/${SERVICE}` });
    // wake the blocking query so the next answer is the backwards one
    server.registerService({ Name: SERVICE, ID: 'g2', Port: 50052, Address: '127.0.0.1' });
    await vi.waitFor(() => {
      const sent = queries().map((q) => params(q).get('index'));
      // the query after the backwards answer carries no index (0), then blocking resumes
      expect(sent).toContain(null);
      expect(sent.lastIndexOf(null)).toBeGreaterThan(0);
    });
    await vi.waitFor(() => expect(seen.values.at(-1)?.size).toBe(2));
    seen.subscription.unsubscribe();
    expect(high).toBeGreaterThan(1);
    expect(seen.error).toBeUndefined();
    // the reset shows in the status, and is no failure
    expect(statuses.some((s) => s.state === 'ok' && s.index === 0)).toBe(true);
    expect(statuses.every((s) => s.state === 'ok')).toBe(true);
  });

  it.each([
    ['0', 0],
    ['missing', null],
  ])('treats an index of %s as 1 and never loops faster than minIntervalMs', async (_, index) => {
    server.inject({ kind: 'index', index, count: Number.POSITIVE_INFINITY });
    const seen = record(
      consulInstances$(SERVICE, { address: server.address, wait: '5s', minIntervalMs: 60 }),
    );
    await vi.waitFor(() => expect(queries().length).toBeGreaterThanOrEqual(5));
    seen.subscription.unsubscribe();
    const sent = queries();
    expect(sent.slice(1).every((q) => params(q).get('index') === '1')).toBe(true);
    // The loop starts queries >= 60 ms apart, but the server sees them arrive late by a
    // varying delay on a busy machine, so one gap may look short: bound the whole span, with
    // one interval of slack. A hot loop would send them a few ms apart.
    const span = (sent.at(-1)?.receivedAt ?? 0) - (sent[0]?.receivedAt ?? 0);
    expect(span).toBeGreaterThanOrEqual((sent.length - 2) * 60);
    expect(seen.values).toHaveLength(1);
  });

  it('reports freshness: known leader, last contact and the time of the last good answer', async () => {
    const statuses: ConsulStatus[] = [];
    const before = Date.now();
    await firstValueFrom(
      consulInstances$(SERVICE, { address: server.address, onStatus: (s) => statuses.push(s) }),
    );
    expect(statuses[0]).toMatchObject({
      service: SERVICE,
      state: 'ok',
      instances: 1,
      knownLeader: true,
      lastContactMs: 0,
      consecutiveFailures: 0,
    });
    expect(statuses[0]?.lastSuccessAt).toBeGreaterThanOrEqual(before);
  });

  it('passes dc, node-meta, near, consistency and passing=false to Consul', async () => {
    await firstValueFrom(
      consulInstances$(SERVICE, {
        address: server.address,
        dc: 'dc1',
        nodeMeta: { rack: 'r1' },
        near: '_agent',
        consistency: 'stale',
        passing: false,
      }),
    );
    const query = params(queries()[0]);
    expect(query.get('dc')).toBe('dc1');
    expect(query.getAll('node-meta')).toEqual(['rack:r1']);
    expect(query.get('near')).toBe('_agent');
    expect(query.has('stale')).toBe(true);
    expect(query.has('passing')).toBe(false);
  });

  it.each([
    [
      'every option',
      {
        tags: ['v2', 'blue'],
        dc: 'dc1',
        nodeMeta: { rack: 'r1', az: 'b' },
        filter: 'Service.Service == "greeter"',
        near: '_agent',
        consistency: 'consistent',
      },
      [
        ['consistent', '1'],
        ['dc', 'dc1'],
        ['filter', 'Service.Service == "greeter"'],
        ['near', '_agent'],
        ['node-meta', 'az:b'],
        ['node-meta', 'rack:r1'],
        ['passing', 'true'],
        ['tag', 'blue'],
        ['tag', 'v2'],
      ],
    ],
    ['no option', {}, [['passing', 'true']]],
  ] as const)(
    'sends Consul exactly the query of %s, then the same with index and wait',
    async (_, options, expected) => {
      type Pair = readonly [string, string];
      const order = ([a, x]: Pair, [b, y]: Pair) => a.localeCompare(b) || x.localeCompare(y);
      const sorted = (query: URLSearchParams) => [...query.entries()].sort(order);
      const seen = record(
        consulInstances$(SERVICE, { address: server.address, wait: '2s', ...options }),
      );
      await vi.waitFor(() => expect(queries().length).toBeGreaterThanOrEqual(2));
      seen.subscription.unsubscribe();
      const [first, second] = queries();
      expect(sorted(params(first))).toEqual(expected);
      const index = params(second).get('index') ?? '';
      const blocking: Pair[] = [...expected, ['index', index], ['wait', '2000ms']];
      expect(sorted(params(second))).toEqual(blocking.sort(order));
      expect(Number(index)).toBeGreaterThan(0);
    },
  );

  it('percent-encodes a service name that Consul would otherwise read as path or query', async () => {
    const name = 'a/b?passing=false#c';
    server.registerService({ Name: name, ID: 'odd', Port: 50051, Address: '127.0.0.1' });
    const set = await firstValueFrom(consulInstances$(name, { address: server.address }));
    expect([...set.keys()]).toEqual(['127.0.0.1:50051']);
    const sent = server.requests.at(-1);
    expect(sent?.path).toBe(`/v1/health/service/${encodeURIComponent(name)}`);
    expect(params(sent).get('passing')).toBe('true');
  });

  it('gives a query without an index the short read timeout, a blocking one wait + wait/16', async () => {
    const spy = vi.spyOn(ConsulClient.prototype, 'healthService'); // calls through
    try {
      const seen = record(consulInstances$(SERVICE, { address: server.address, wait: '1m' }));
      await vi.waitFor(() => expect(spy.mock.calls.length).toBeGreaterThanOrEqual(2));
      seen.subscription.unsubscribe();
      const [first, second] = spy.mock.calls.map(([query, timeoutMs]) => ({
        index: query.index,
        timeoutMs,
      }));
      // a Consul that takes the first query and never answers is found out in 10 s, not 5 min
      expect(first).toEqual({ index: 0, timeoutMs: 10_000 });
      expect(second?.index).toBeGreaterThan(0);
      expect(second?.timeoutMs).toBe(60_000 + 3_750 + 1_000);
    } finally {
      spy.mockRestore();
    }
  });
});
