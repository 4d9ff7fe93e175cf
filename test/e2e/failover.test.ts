/**
 * Failover between two datacenters, end to end: greeter servers with gRPC health checks
 * register with the agent of their own datacenter (two ConsulTestServers joined over the
 * WAN), and a client of dc1's agent balances over consulInstances$('greeter', { failover:
 * ['dc2'] }) → diff() → roundRobin() → createBalancedChannel(), with retryOnAnotherInstance().
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createClientFactory } from 'nice-grpc';
import { type Observable, ReplaySubject, share } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GreeterDefinition } from '../../examples/greeter/generated/greeter.js';
import type { GreeterServer } from '../../examples/greeter/server.js';
import {
  type ConsulFailure,
  consulInstances$,
  createBalancedChannel,
  diff,
  type Picker,
  retryOnAnotherInstance,
  roundRobin,
} from '../../src/index.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { registeredGreeters } from '../support/greeters.js';

let dc1: ConsulTestServer;
let dc2: ConsulTestServer;
const cleanup: (() => unknown)[] = [];

beforeEach(async () => {
  dc1 = await new ConsulTestServer({ datacenter: 'dc1', nodeName: 'node-1' }).start();
  dc2 = await new ConsulTestServer({ datacenter: 'dc2', nodeName: 'node-2', wanJoin: dc1 }).start();
});
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  await dc2.stop();
  await dc1.stop();
});

/** `count` greeters registered, with a gRPC health check, with the agent of `consul`. */
async function greeters(consul: ConsulTestServer, count: number): Promise<GreeterServer[]> {
  const servers = await registeredGreeters(consul.address, count, cleanup);
  return servers.map((s) => s.greeter);
}

/** A greeter client of dc1's agent that fails over to dc2; the latest picker's addresses. */
function failoverClient(onError?: (failure: ConsulFailure) => void) {
  let latest: Picker | undefined;
  const picker$: Observable<Picker> = consulInstances$('greeter', {
    address: dc1.address,
    wait: '5s',
    backoff: { initialMs: 10, maxMs: 50 },
    failover: ['dc2'],
    ...(onError && { onError }),
  }).pipe(diff(), roundRobin(), share({ connector: () => new ReplaySubject(1) }));
  const watcher = picker$.subscribe((picker) => {
    latest = picker;
  });
  const channel = createBalancedChannel(picker$, { name: 'greeter' });
  cleanup.push(() => watcher.unsubscribe());
  cleanup.push(() => channel.close());
  const client = createClientFactory()
    .use(retryOnAnotherInstance())
    .create(GreeterDefinition, channel);
  const addresses = () => (latest?.instances ?? []).map((i) => i.address).sort();
  return { client, addresses };
}

type Client = ReturnType<typeof failoverClient>['client'];

/** Calls from a few callers, one after the other each, until stopped. */
function steadyTraffic(client: Client, callers = 4) {
  const replies: { readonly backend: string; readonly startedAt: number }[] = [];
  const errors: unknown[] = [];
  let running = true;
  const caller = async () => {
    while (running) {
      const startedAt = performance.now();
      await client.sayHello({ name: 'rxlb' }).then(
        ({ backend }) => replies.push({ backend, startedAt }),
        (error: unknown) => errors.push(error),
      );
      await sleep(2);
    }
  };
  const done = Promise.all(Array.from({ length: callers }, caller));
  cleanup.push(async () => {
    running = false;
    await done;
  });
  /** The backends of the calls started at `from` or later, once there are `count` of them. */
  const backendsFrom = async (from: number, count = 40) => {
    const since = () => replies.filter((r) => r.startedAt >= from);
    await vi.waitFor(() => expect(since().length).toBeGreaterThanOrEqual(count), {
      timeout: 10_000,
    });
    return new Set(since().map((r) => r.backend));
  };
  return { errors, backendsFrom };
}

const sorted = (values: Iterable<string>) => [...values].sort();
const addressesOf = (servers: readonly GreeterServer[]) => sorted(servers.map((s) => s.address));

describe('failover between two datacenters, end to end', () => {
  it('moves calls to dc2 while dc1 has nobody healthy, and back when dc1 recovers, failing none', async () => {
    const local = await greeters(dc1, 2);
    const remote = await greeters(dc2, 2);
    const { client, addresses } = failoverClient();
    await vi.waitFor(() => expect(addresses()).toEqual(addressesOf(local)));
    const traffic = steadyTraffic(client);
    expect(sorted(await traffic.backendsFrom(performance.now()))).toEqual(addressesOf(local));

    for (const greeter of local) greeter.health.setStatus('unhealthy'); // dc1's checks fail
    await vi.waitFor(() => expect(addresses()).toEqual(addressesOf(remote)), { timeout: 10_000 });
    expect(sorted(await traffic.backendsFrom(performance.now()))).toEqual(addressesOf(remote));

    for (const greeter of local) greeter.health.setStatus('healthy');
    await vi.waitFor(() => expect(addresses()).toEqual(addressesOf(local)), { timeout: 10_000 });
    expect(sorted(await traffic.backendsFrom(performance.now()))).toEqual(addressesOf(local));
    expect(traffic.errors).toEqual([]);
  });

  it("leaves dc1's traffic undisturbed while dc2's watch fails", async () => {
    const local = await greeters(dc1, 2);
    await greeters(dc2, 1);
    const failures: ConsulFailure[] = [];
    const { client, addresses } = failoverClient((failure) => failures.push(failure));
    await vi.waitFor(() => expect(addresses()).toEqual(addressesOf(local)));
    await vi.waitFor(() => expect(dc1.activeRequests).toBe(2)); // both loops are blocking
    const traffic = steadyTraffic(client);
    dc1.inject({ kind: 'status', status: 500, datacenter: 'dc2', count: Number.POSITIVE_INFINITY });
    await greeters(dc2, 1); // wakes dc2's blocking query: its next ones fail
    await vi.waitFor(() => expect(failures.length).toBeGreaterThanOrEqual(3));

    const [newcomer] = await greeters(dc1, 1); // dc1's changes still come through
    const all = addressesOf([...local, ...(newcomer ? [newcomer] : [])]);
    await vi.waitFor(() => expect(addresses()).toEqual(all));
    expect(sorted(await traffic.backendsFrom(performance.now(), 60))).toEqual(all);
    expect(traffic.errors).toEqual([]);
    expect(new Set(failures.map((f) => f.datacenter))).toEqual(new Set(['dc2']));
  });
});
