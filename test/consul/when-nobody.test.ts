/** consulInstances$'s whenNobody option: the empty-set policy, on by default. */
import { type Observable, config as rxjsConfig } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import type { ConsulInstancesOptions, ConsulStatus } from '../../src/consul/options.js';
import { sharedConsulInstances$ } from '../../src/consul/shared-instances.js';
import type { InstanceSet } from '../../src/instance.js';
import type { NobodyReport } from '../../src/operators/internal/nobody-options.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { record } from '../support/observe.js';
import { healthQueries, params } from '../support/server.js';

const SERVICE = 'greeter';
let server: ConsulTestServer;

beforeEach(async () => {
  server = await new ConsulTestServer().start();
  for (const port of [1, 2, 3]) {
    server.registerService({
      Name: SERVICE,
      ID: `g${port}`,
      Address: '127.0.0.1',
      Port: port,
      Check: { CheckID: `c${port}`, TTL: '1h', Status: 'passing' },
    });
  }
});
afterEach(() => server.stop());

const ports = (set: InstanceSet | undefined) =>
  [...(set?.values() ?? [])].map((instance) => Number(instance.address.split(':')[1])).sort();
const fail = (...which: number[]) => {
  for (const port of which) server.setCheckStatus(`c${port}`, 'critical', 'down');
};

function watch(
  options: ConsulInstancesOptions = {},
  source: typeof consulInstances$ = consulInstances$,
) {
  const reports: NobodyReport[] = [];
  const whenNobody = options.whenNobody ?? {};
  const withReports =
    whenNobody === false
      ? options
      : {
          ...options,
          whenNobody: { ...whenNobody, onReport: (r: NobodyReport) => reports.push(r) },
        };
  const sets$: Observable<InstanceSet> = source(SERVICE, {
    address: server.address,
    wait: '2s',
    ...withReports,
  });
  return { ...record(sets$), reports };
}

describe('consulInstances$ when Consul says nobody is healthy', () => {
  it.each([
    ['consulInstances$', consulInstances$],
    ['sharedConsulInstances$', sharedConsulInstances$],
  ] as const)(
    '%s: onStatus counts the instances the policy serves, not the empty answer',
    async (_, source) => {
      const statuses: ConsulStatus[] = [];
      const w = watch({ onStatus: (status) => statuses.push(status) }, source);
      await vi.waitFor(() => expect(statuses.at(-1)?.instances).toBe(3));
      fail(1, 2, 3);
      await vi.waitFor(() => expect(w.reports.at(-1)?.mode).toBe('kept-last'));
      await vi.waitFor(() => expect(statuses.at(-1)?.index).toBe(server.index));
      expect(statuses.at(-1)?.instances).toBe(3);
      expect(ports(w.values.at(-1))).toEqual([1, 2, 3]);
      w.subscription.unsubscribe();
    },
  );

  it('keeps serving the last set by default, and reports that it does', async () => {
    const w = watch();
    await vi.waitFor(() => expect(ports(w.values.at(-1))).toEqual([1, 2, 3]));
    fail(1, 2, 3);
    await vi.waitFor(() => expect(w.reports.at(-1)?.mode).toBe('kept-last'));
    w.subscription.unsubscribe();
    expect(w.reports.at(-1)).toMatchObject({ policy: 'keep-last', healthy: 0 });
    expect(w.values.map(ports)).toEqual([[1, 2, 3]]);
  });

  it('serves the healthy set again as soon as one comes back', async () => {
    const w = watch();
    await vi.waitFor(() => expect(w.values).toHaveLength(1));
    fail(1, 2, 3);
    await vi.waitFor(() => expect(w.reports.at(-1)?.mode).toBe('kept-last'));
    server.setCheckStatus('c2', 'passing', 'back');
    await vi.waitFor(() => expect(ports(w.values.at(-1))).toEqual([2]));
    w.subscription.unsubscribe();
    expect(w.reports.at(-1)?.mode).toBe('healthy');
  });

  it('passes the empty set on at once with whenNobody: false', async () => {
    const w = watch({ whenNobody: false });
    await vi.waitFor(() => expect(w.values).toHaveLength(1));
    fail(1, 2, 3);
    await vi.waitFor(() => expect(w.values.at(-1)?.size).toBe(0));
    w.subscription.unsubscribe();
  });

  it('falls back to every registered instance, watched with passing=false', async () => {
    const w = watch({ whenNobody: { policy: 'fallback' } });
    await vi.waitFor(() => expect(ports(w.values.at(-1))).toEqual([1, 2, 3]));
    fail(1, 2, 3);
    await vi.waitFor(() => expect(w.reports.at(-1)?.mode).toBe('fallback'));
    w.subscription.unsubscribe();
    expect(ports(w.reports.at(-1)?.served)).toEqual([1, 2, 3]);
    const asked = healthQueries(server.requests, SERVICE).map((q) => params(q).get('passing'));
    expect(asked).toContain('true');
    expect(asked).toContain(null); // the registered watch: no passing filter
  });

  it('panics below the threshold: serves all three while only one is healthy', async () => {
    const w = watch({ whenNobody: { policy: 'panic', thresholdPercent: 50 } });
    await vi.waitFor(() => expect(ports(w.values.at(-1))).toEqual([1, 2, 3]));
    fail(1, 2);
    await vi.waitFor(() => expect(w.reports.at(-1)?.mode).toBe('panic'));
    w.subscription.unsubscribe();
    expect(ports(w.values.at(-1))).toEqual([1, 2, 3]);
    expect(w.reports.at(-1)).toMatchObject({ healthy: 1, registered: 3 });
  });

  it('applies each subscriber its own policy over one shared watch', async () => {
    const keep = watch({}, sharedConsulInstances$);
    const fast = watch({ whenNobody: false }, sharedConsulInstances$);
    await vi.waitFor(() => expect([keep.values.length, fast.values.length]).toEqual([1, 1]));
    fail(1, 2, 3);
    await vi.waitFor(() => expect(fast.values.at(-1)?.size).toBe(0));
    await vi.waitFor(() => expect(keep.reports.at(-1)?.mode).toBe('kept-last'));
    keep.subscription.unsubscribe();
    fast.subscription.unsubscribe();
    expect(keep.values.map(ports)).toEqual([[1, 2, 3]]);
    // one loop for both: a single first query without an index
    const first = healthQueries(server.requests, SERVICE).filter((q) => !params(q).has('index'));
    expect(first).toHaveLength(1);
  });

  it("keeps watching when onReport throws: the error goes to RxJS, as onError's would", async () => {
    const thrown: unknown[] = [];
    rxjsConfig.onUnhandledError = (error) => thrown.push(error);
    try {
      const seen = record(
        consulInstances$(SERVICE, {
          address: server.address,
          wait: '2s',
          whenNobody: {
            onReport: () => {
              throw new Error('report bug');
            },
          },
        }),
      );
      await vi.waitFor(() => expect(seen.values).toHaveLength(1));
      fail(1, 2, 3);
      await vi.waitFor(() => expect(thrown).toHaveLength(1));
      server.setCheckStatus('c1', 'passing', 'back');
      await vi.waitFor(() => expect(ports(seen.values.at(-1))).toEqual([1]));
      seen.subscription.unsubscribe();
      expect(seen.error).toBeUndefined();
      expect((thrown[0] as Error).message).toBe('report bug');
    } finally {
      rxjsConfig.onUnhandledError = null;
    }
  });

  it.each([
    [{ whenNobody: 'keep' }, /option "whenNobody" must be an object or false/],
    [{ whenNobody: { policy: 'hope' } }, /consulInstances\$\(\): option "whenNobody.policy"/],
    [{ whenNobody: { graceMs: -1 } }, /consulInstances\$\(\): option "whenNobody.graceMs"/],
    [
      { whenNobody: { policy: 'panic', registered$: consulInstances$('x', { address: 'h:1' }) } },
      /whenNobody.registered\$/,
    ],
  ])('refuses %j with a TypeError naming the option', (options, message) => {
    const bad = options as unknown as ConsulInstancesOptions;
    expect(() => consulInstances$(SERVICE, { address: server.address, ...bad })).toThrow(TypeError);
    expect(() => consulInstances$(SERVICE, { address: server.address, ...bad })).toThrow(message);
    // and the whole message, as a user reads it (test/consul/__snapshots__/)
    expect(() =>
      consulInstances$(SERVICE, { address: server.address, ...bad }),
    ).toThrowErrorMatchingSnapshot();
  });
});
