/**
 * consulInstances$'s failover option against two datacenters joined over the WAN: dc1, whose
 * agent the client asks, and dc2. Each datacenter has its own blocking-query loop; the
 * choice between them is chooseDatacenter()'s.
 */
import { config as rxjsConfig } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import type {
  ConsulFailure,
  ConsulInstancesOptions,
  ConsulStatus,
} from '../../src/consul/options.js';
import type { InstanceSet } from '../../src/instance.js';
import type { NobodyReport } from '../../src/operators/internal/nobody-options.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { isUnresolved } from '../support/answers.js';
import { record } from '../support/observe.js';
import { healthQueries, params } from '../support/server.js';

const SERVICE = 'greeter';
let dc1: ConsulTestServer;
let dc2: ConsulTestServer;

beforeEach(async () => {
  dc1 = await new ConsulTestServer({ datacenter: 'dc1', nodeName: 'node-1' }).start();
  dc2 = await new ConsulTestServer({ datacenter: 'dc2', nodeName: 'node-2', wanJoin: dc1 }).start();
  register(dc1, 'a1', 'a2');
  register(dc2, 'b1');
});
afterEach(async () => {
  rxjsConfig.onUnhandledError = null;
  await dc2.stop();
  await dc1.stop();
});

/** Instances of SERVICE with a passing TTL check named like them; port from the id's digit. */
function register(server: ConsulTestServer, ...ids: string[]) {
  for (const id of ids) {
    server.registerService({
      Name: SERVICE,
      ID: id,
      Address: server === dc1 ? '127.0.0.1' : '127.0.0.2',
      Port: 50_000 + Number(id.slice(1)),
      Check: { CheckID: id, TTL: '1h', Status: 'passing' },
    });
  }
}
const fail = (server: ConsulTestServer, ...ids: string[]) => {
  for (const id of ids) server.setCheckStatus(id, 'critical', 'down');
};
const pass = (server: ConsulTestServer, ...ids: string[]) => {
  for (const id of ids) server.setCheckStatus(id, 'passing');
};

/** `id@datacenter` of each instance, sorted. */
const where = (set: InstanceSet | undefined) =>
  [...(set?.values() ?? [])].map((i) => `${i.id}@${i.datacenter}`).sort();

function watch(options: ConsulInstancesOptions = {}) {
  const statuses: ConsulStatus[] = [];
  const failures: ConsulFailure[] = [];
  const sets = record(
    consulInstances$(SERVICE, {
      address: dc1.address,
      wait: '5s',
      backoff: { initialMs: 10, maxMs: 20 },
      minIntervalMs: 0,
      failover: ['dc2'],
      onStatus: (status) => statuses.push(status),
      onError: (failure) => failures.push(failure),
      ...options,
    }),
  );
  const served = () => where(sets.values.at(-1));
  return { ...sets, statuses, failures, served };
}

/** Health queries dc1's agent received, for `dc` (undefined: its own datacenter). */
const queriesFor = (dc: string | undefined) =>
  healthQueries(dc1.requests, SERVICE).filter((q) => (params(q).get('dc') ?? undefined) === dc);
const agentSelfRequests = () => dc1.requests.filter((r) => r.path === '/v1/agent/self');

describe('consulInstances$ with failover', () => {
  it('serves home while it has anyone healthy, every instance naming its datacenter', async () => {
    const w = watch();
    await vi.waitFor(() => expect(w.served()).toEqual(['a1@dc1', 'a2@dc1']));
    await vi.waitFor(() => expect(dc1.activeRequests).toBe(2)); // one blocking query per datacenter
    expect(w.values).toHaveLength(1);
    w.subscription.unsubscribe();
  });

  it('fails over to dc2 when home has nobody healthy, without a request of its own', async () => {
    const w = watch();
    await vi.waitFor(() => expect(dc1.activeRequests).toBe(2));
    const dc2Queries = queriesFor('dc2').length;
    fail(dc1, 'a1', 'a2');
    await vi.waitFor(() => expect(w.served()).toEqual(['b1@dc2']));
    // dc2's answer was there already: its loop still waits in the same blocking query
    expect(queriesFor('dc2')).toHaveLength(dc2Queries);
    expect(queriesFor('dc2').at(-1)?.outcome).toBe('pending');
    w.subscription.unsubscribe();
  });

  it('goes home as soon as home has minHealthy healthy instances again', async () => {
    register(dc2, 'b2');
    const w = watch({ failover: { datacenters: ['dc2'], minHealthy: 2 } });
    await vi.waitFor(() => expect(w.served()).toEqual(['a1@dc1', 'a2@dc1']));
    fail(dc1, 'a2');
    await vi.waitFor(() => expect(w.served()).toEqual(['b1@dc2', 'b2@dc2']));
    pass(dc1, 'a2');
    await vi.waitFor(() => expect(w.served()).toEqual(['a1@dc1', 'a2@dc1']));
    expect(w.values.map(where)).toEqual([
      ['a1@dc1', 'a2@dc1'],
      ['b1@dc2', 'b2@dc2'],
      ['a1@dc1', 'a2@dc1'],
    ]);
    w.subscription.unsubscribe();
  });

  it('tells onStatus which datacenter it serves and why, and how each one is doing', async () => {
    const w = watch();
    await vi.waitFor(() => expect(w.statuses.at(-1)?.failover?.datacenters[1]?.state).toBe('ok'));
    fail(dc1, 'a1', 'a2');
    await vi.waitFor(() => expect(w.statuses.at(-1)?.failover?.serving?.datacenter).toBe('dc2'));
    expect(w.statuses.at(-1)).toMatchObject({
      datacenter: 'dc1',
      state: 'ok',
      instances: 1,
      failover: {
        serving: {
          datacenter: 'dc2',
          mode: 'failover',
          reason: 'dc1 has nobody healthy: serving dc2',
        },
        datacenters: [
          { datacenter: 'dc1', healthy: 0, state: 'ok' },
          { datacenter: 'dc2', healthy: 1, state: 'ok' },
        ],
      },
    });
    w.subscription.unsubscribe();
  });

  it('asks the agent its datacenter once, and watches home once though the list names it', async () => {
    const w = watch({ failover: ['dc1', 'dc2'] });
    await vi.waitFor(() => expect(dc1.activeRequests).toBe(2));
    fail(dc1, 'a1', 'a2');
    await vi.waitFor(() => expect(w.served()).toEqual(['b1@dc2']));
    expect(agentSelfRequests()).toHaveLength(1);
    expect(queriesFor('dc1')).toEqual([]); // home is asked as the agent's own, without dc
    expect(w.statuses.at(-1)?.failover?.datacenters.map((d) => d.datacenter)).toEqual([
      'dc1',
      'dc2',
    ]);
    w.subscription.unsubscribe();
  });

  it('asks the agent nothing when the dc option names home', async () => {
    const w = watch({ dc: 'dc1', failover: ['dc1', 'dc2'] });
    await vi.waitFor(() => expect(dc1.activeRequests).toBe(2));
    expect(agentSelfRequests()).toEqual([]);
    expect(queriesFor(undefined)).toEqual([]);
    expect(queriesFor('dc1').length).toBeGreaterThan(0);
    w.subscription.unsubscribe();
  });

  it('keeps serving while a listed datacenter does not exist, and reports it', async () => {
    const w = watch({ failover: ['dc9', 'dc2'] });
    fail(dc1, 'a1', 'a2');
    await vi.waitFor(() => expect(w.served()).toEqual(['b1@dc2']));
    const missing = w.failures.find((f) => f.datacenter === 'dc9');
    expect(missing?.error.message).toMatch(
      /^health query for "greeter" in dc9 at http:\/\/127\.0\.0\.1:\d+ failed: HTTP 500 No path to datacenter$/,
    );
    await vi.waitFor(() =>
      expect(w.statuses.at(-1)?.failover?.datacenters[1]).toEqual({
        datacenter: 'dc9',
        healthy: 0,
        state: 'retrying',
      }),
    );
    expect(w.failures.every((f) => f.datacenter === 'dc9')).toBe(true);
    w.subscription.unsubscribe();
  });

  it('leaves home alone while a fault strikes the watch of dc2', async () => {
    dc1.inject({ kind: 'status', status: 500, datacenter: 'dc2', count: Number.POSITIVE_INFINITY });
    const w = watch();
    await vi.waitFor(() => expect(w.failures.length).toBeGreaterThan(2));
    register(dc1, 'a3');
    await vi.waitFor(() => expect(w.served()).toEqual(['a1@dc1', 'a2@dc1', 'a3@dc1']));
    expect(w.values.every((set) => !isUnresolved(set))).toBe(true);
    expect(new Set(w.failures.map((f) => f.datacenter))).toEqual(new Set(['dc2']));
    w.subscription.unsubscribe();
  });

  it("fails over on dc2's last good answer while dc2's watch fails", async () => {
    const w = watch();
    await vi.waitFor(() => expect(dc1.activeRequests).toBe(2));
    dc1.inject({ kind: 'status', status: 503, datacenter: 'dc2', count: Number.POSITIVE_INFINITY });
    register(dc2, 'b2'); // wakes dc2's blocking query, which fails: b2 is never seen
    await vi.waitFor(() => expect(w.failures.length).toBeGreaterThan(0));
    fail(dc1, 'a1', 'a2');
    await vi.waitFor(() => expect(w.served()).toEqual(['b1@dc2']));
    expect(w.statuses.at(-1)?.failover?.datacenters[1]).toMatchObject({ state: 'retrying' });
    w.subscription.unsubscribe();
  });

  it('goes on without the name when the agent refuses /v1/agent/self, and says so once', async () => {
    dc1.inject({
      kind: 'status',
      status: 403,
      path: '/v1/agent/self',
      count: Number.POSITIVE_INFINITY,
    });
    const w = watch();
    fail(dc1, 'a1', 'a2');
    await vi.waitFor(() => expect(w.served()).toEqual(['b1@dc2']));
    expect(w.failures).toHaveLength(1);
    expect(w.failures[0]).toMatchObject({
      datacenter: undefined,
      nextDelayMs: Number.POSITIVE_INFINITY,
    });
    expect(w.failures[0]?.error.message).toMatch(/^GET \/v1\/agent\/self at .* failed: HTTP 403/);
    expect(w.statuses.at(-1)?.failover?.serving?.reason).toBe(
      "the agent's datacenter has nobody healthy: serving dc2",
    );
    expect(w.statuses.at(-1)?.failover?.datacenters[0]?.datacenter).toBeUndefined();
    expect(agentSelfRequests()).toHaveLength(1);
    w.subscription.unsubscribe();
  });

  it('asks /v1/agent/self again after a failure that may pass, and then names home', async () => {
    dc1.inject({ kind: 'status', status: 500, path: '/v1/agent/self' });
    const w = watch({ failover: ['dc1', 'dc2'] });
    await vi.waitFor(() =>
      expect(w.statuses.at(-1)?.failover?.datacenters[0]?.datacenter).toBe('dc1'),
    );
    expect(agentSelfRequests()).toHaveLength(2);
    expect(w.failures.map((f) => f.attempt)).toEqual([1]);
    await vi.waitFor(() => expect(w.statuses.at(-1)?.failover?.datacenters).toHaveLength(2));
    fail(dc1, 'a1', 'a2');
    await vi.waitFor(() => expect(w.served()).toEqual(['b1@dc2']));
    w.subscription.unsubscribe();
  });

  it('emits one empty set marked unresolved when no loop can reach Consul', async () => {
    const closed = await new ConsulTestServer().start();
    const address = closed.address;
    await closed.stop();
    const w = watch({ address, dc: 'dc1' });
    await vi.waitFor(() => expect(w.values).toHaveLength(1));
    expect(isUnresolved(w.values[0] as InstanceSet)).toBe(true);
    await vi.waitFor(() => expect(w.failures.length).toBeGreaterThan(4));
    expect(w.values).toHaveLength(1);
    w.subscription.unsubscribe();
  });

  it('unsubscribing ends the request of every loop at once', async () => {
    const w = watch({ failover: ['dc2', 'dc9'] });
    await vi.waitFor(() => expect(dc1.activeRequests).toBe(2));
    w.subscription.unsubscribe();
    await vi.waitFor(() => expect(dc1.activeRequests).toBe(0));
    const sent = dc1.requestCount;
    await new Promise((resolve) => setTimeout(resolve, 100)); // several backoffs of dc9's loop
    expect(dc1.requestCount).toBe(sent);
  });
});

describe('consulInstances$ with failover and whenNobody', () => {
  it('keeps the last set only once no datacenter has anyone healthy', async () => {
    const reports: NobodyReport[] = [];
    const w = watch({ whenNobody: { onReport: (report) => reports.push(report) } });
    await vi.waitFor(() => expect(w.served()).toEqual(['a1@dc1', 'a2@dc1']));
    fail(dc1, 'a1', 'a2');
    await vi.waitFor(() => expect(w.served()).toEqual(['b1@dc2']));
    expect(reports).toEqual([]); // dc2 has someone: nothing for whenNobody to do
    fail(dc2, 'b1');
    await vi.waitFor(() => expect(reports.map((r) => r.mode)).toEqual(['kept-last']));
    expect(w.served()).toEqual(['b1@dc2']);
    w.subscription.unsubscribe();
  });

  it("falls back to home's registered instances once no datacenter has anyone healthy", async () => {
    const w = watch({ whenNobody: { policy: 'fallback' } });
    await vi.waitFor(() => expect(w.served()).toEqual(['a1@dc1', 'a2@dc1']));
    fail(dc1, 'a1', 'a2');
    await vi.waitFor(() => expect(w.served()).toEqual(['b1@dc2']));
    fail(dc2, 'b1');
    await vi.waitFor(() => expect(w.served()).toEqual(['a1@dc1', 'a2@dc1']));
    w.subscription.unsubscribe();
  });
});

describe('consulInstances$() failover option', () => {
  it.each<[string, unknown, RegExp]>([
    ['a datacenter as a string', 'dc2', /option "failover" must be an array of datacenter names/],
    ['an empty list', [], /option "failover" must be a non-empty array/],
    [
      'a name with a space',
      ['dc 2'],
      /option "failover" must be a non-empty array of datacenter names/,
    ],
    [
      'a name given twice',
      ['dc2', 'dc3', 'dc2'],
      /option "failover" must be a list naming each datacenter once \("dc2" is twice\)/,
    ],
    ['an object without datacenters', { minHealthy: 2 }, /option "failover.datacenters"/],
    [
      'minHealthy 0',
      { datacenters: ['dc2'], minHealthy: 0 },
      /option "failover.minHealthy" must be an integer/,
    ],
    [
      'an unknown key',
      { datacenters: ['dc2'], minHealty: 2 },
      /unknown option "failover.minHealty"/,
    ],
  ])('refuses %s with a TypeError naming the option', (_, failover, message) => {
    const call = () => consulInstances$(SERVICE, { failover } as ConsulInstancesOptions);
    expect(call).toThrow(TypeError);
    expect(call).toThrow(/^consulInstances\$\(\): /);
    expect(call).toThrow(message);
    // and the whole message, as a user reads it (test/consul/__snapshots__/)
    expect(call).toThrowErrorMatchingSnapshot();
  });

  it('refuses the panic policy, which compares one datacenter, next to failover', () => {
    expect(() =>
      consulInstances$(SERVICE, { failover: ['dc2'], whenNobody: { policy: 'panic' } }),
    ).toThrow(/option "whenNobody.policy" "panic" does not combine with "failover"/);
  });
});
