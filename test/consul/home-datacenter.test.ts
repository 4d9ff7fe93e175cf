/**
 * How a failover watch learns its home datacenter's name (`GET /v1/agent/self`, asked once):
 * which failures it asks again after (those that may pass) and which it takes as the answer
 * (a refusal), what it reports of each, and that unsubscribing ends it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { agentDatacenter$, homeDatacenter$ } from '../../src/consul/home-datacenter.js';
import type { ConsulFailure } from '../../src/consul/options.js';
import { resolveWatchConfig } from '../../src/consul/options.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { record } from '../support/observe.js';

let consul: ConsulTestServer;
beforeEach(async () => {
  consul = await new ConsulTestServer({ datacenter: 'dc7' }).start();
});
afterEach(() => consul.stop());

const asked = () => consul.requests.filter((r) => r.path === '/v1/agent/self').length;

/** The home datacenter of a watch of `greeter` with `options`, recorded, and its failures. */
function lookup(options: Record<string, unknown> = {}) {
  const failures: ConsulFailure[] = [];
  const config = resolveWatchConfig('greeter', {
    address: consul.address,
    backoff: { initialMs: 5, maxMs: 5 },
    onError: (failure: ConsulFailure) => failures.push(failure),
    ...options,
  });
  return Object.assign(record(homeDatacenter$(config)), { failures });
}

describe('homeDatacenter$()', () => {
  it('is the dc option when there is one, without asking the agent', async () => {
    const home = lookup({ dc: 'dc3' });
    expect(home.values).toEqual(['dc3']);
    expect(home.completed).toBe(true);
    expect(asked()).toBe(0);
  });

  it("asks the agent's datacenter once, emits it and completes", async () => {
    const home = lookup();
    await vi.waitFor(() => expect(home.completed).toBe(true));
    expect(home.values).toEqual(['dc7']);
    expect(home.failures).toEqual([]);
    expect(asked()).toBe(1);
  });

  it.each([500, 503, 429])(
    'asks again after an HTTP %i, with the backoff, emitting undefined at the first failure only, then the name',
    async (status) => {
      consul.inject({ kind: 'status', status, path: '/v1/agent/self', count: 2 });
      const home = lookup();
      await vi.waitFor(() => expect(home.completed).toBe(true));
      expect(home.values).toEqual([undefined, 'dc7']);
      expect(asked()).toBe(3);
      expect(home.failures.map((f) => [f.attempt, f.datacenter])).toEqual([
        [1, undefined],
        [2, undefined],
      ]);
      // the backoff's 5 ms, with jitter: within [2.5, 5]
      const delays = home.failures.map((f) => f.nextDelayMs);
      expect(delays.filter((d) => d < 2.5 || d > 5)).toEqual([]);
      expect(home.failures[0]?.error.statusCode).toBe(status);
    },
  );

  it.each([400, 403, 404, 499])(
    'takes an HTTP %i as lasting: reported once with nextDelayMs Infinity, not asked again',
    async (status) => {
      consul.inject({
        kind: 'status',
        status,
        path: '/v1/agent/self',
        count: Number.POSITIVE_INFINITY,
      });
      const home = lookup();
      await vi.waitFor(() => expect(home.completed).toBe(true));
      expect(home.values).toEqual([undefined]);
      expect(home.failures).toHaveLength(1);
      expect(home.failures[0]).toMatchObject({ attempt: 1, nextDelayMs: Number.POSITIVE_INFINITY });
      expect(asked()).toBe(1);
    },
  );

  it('backs off exponentially between attempts, up to the cap', async () => {
    consul.inject({ kind: 'status', status: 500, path: '/v1/agent/self', count: 4 });
    const home = lookup({ backoff: { initialMs: 2, maxMs: 8 } });
    await vi.waitFor(() => expect(home.completed).toBe(true));
    // with jitter each delay is within [d/2, d] of 2, 4, 8, 8
    const ceilings = [2, 4, 8, 8];
    expect(home.failures.map((f) => f.attempt)).toEqual([1, 2, 3, 4]);
    const outside = home.failures.filter(({ nextDelayMs: d }, i) => {
      const ceiling = ceilings[i] ?? 0;
      return d < ceiling / 2 || d > ceiling;
    });
    expect(outside).toEqual([]);
  });

  it('unsubscribing during a backoff ends it: nothing more is asked or emitted', async () => {
    consul.inject({
      kind: 'status',
      status: 500,
      path: '/v1/agent/self',
      count: Number.POSITIVE_INFINITY,
    });
    const home = lookup({ backoff: { initialMs: 200, maxMs: 200 } });
    await vi.waitFor(() => expect(home.failures).toHaveLength(1));
    home.subscription.unsubscribe();
    await new Promise((resolve) => setTimeout(resolve, 400)); // two backoffs
    expect(asked()).toBe(1);
    expect(home.values).toEqual([undefined]);
    expect(home.completed).toBe(false);
    expect(home.error).toBeUndefined();
  });

  it('unsubscribing while the agent has not answered aborts the request, and reports no failure', async () => {
    consul.inject({ kind: 'hang', path: '/v1/agent/self' });
    const home = lookup();
    await vi.waitFor(() => expect(consul.activeRequests).toBe(1));
    home.subscription.unsubscribe();
    await vi.waitFor(() => expect(consul.activeRequests).toBe(0));
    await new Promise((resolve) => setTimeout(resolve, 50)); // the aborted request's rejection
    expect(home.failures).toEqual([]);
    expect(home.values).toEqual([]);
    expect(asked()).toBe(1);
  });

  it('agentDatacenter$() asks the agent even when the watch names a dc', async () => {
    const config = resolveWatchConfig('greeter', { address: consul.address, dc: 'dc3' });
    const home = record(agentDatacenter$(config));
    await vi.waitFor(() => expect(home.completed).toBe(true));
    expect(home.values).toEqual(['dc7']);
  });
});
