/** sharedConsulInstances$ with failover: one loop per datacenter, shared with every subscriber. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConsulInstancesOptions, ConsulStatus } from '../../src/consul/options.js';
import { sharedConsulInstances$ } from '../../src/consul/shared-instances.js';
import type { InstanceSet } from '../../src/instance.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { type Recorder, record } from '../support/observe.js';
import { healthQueries, params } from '../support/server.js';

const SERVICE = 'greeter';
let dc1: ConsulTestServer;
let dc2: ConsulTestServer;
const open: Recorder<InstanceSet>[] = [];

beforeEach(async () => {
  dc1 = await new ConsulTestServer({ datacenter: 'dc1' }).start();
  dc2 = await new ConsulTestServer({ datacenter: 'dc2', wanJoin: dc1 }).start();
  dc1.registerService({ Name: SERVICE, ID: 'a1', Address: '127.0.0.1', Port: 50_001 });
  dc2.registerService({ Name: SERVICE, ID: 'b1', Address: '127.0.0.2', Port: 50_001 });
});
afterEach(async () => {
  for (const recorder of open.splice(0)) recorder.subscription.unsubscribe();
  await dc2.stop();
  await dc1.stop();
});

function join(options: ConsulInstancesOptions = {}) {
  const recorder = record(
    sharedConsulInstances$(SERVICE, { address: dc1.address, wait: '5s', ...options }),
  );
  open.push(recorder);
  return recorder;
}

/** Watches started (queries without an index) for `dc`; undefined: the agent's own. */
const watchesStarted = (dc: string | undefined) =>
  healthQueries(dc1.requests, SERVICE).filter(
    (q) => !params(q).has('index') && (params(q).get('dc') ?? undefined) === dc,
  ).length;

describe('sharedConsulInstances$ with failover', () => {
  it("shares each datacenter's loop between failover subscribers and plain ones", async () => {
    const subscribers = [
      join({ failover: ['dc2'] }),
      join({ failover: { datacenters: ['dc2'], minHealthy: 1 } }),
      join({ dc: 'dc2' }),
      join({ whenNobody: false }),
    ];
    await vi.waitFor(() => {
      for (const s of subscribers) expect(s.values.length).toBeGreaterThan(0);
      expect(dc1.activeRequests).toBe(2); // home's blocking query and dc2's
    });
    expect([watchesStarted(undefined), watchesStarted('dc2')]).toEqual([1, 1]);
    dc1.deregisterService('a1');
    await vi.waitFor(() => {
      const served = subscribers.map((s) => [...(s.values.at(-1)?.keys() ?? [])]);
      expect(served).toEqual([['127.0.0.2:50001'], ['127.0.0.2:50001'], ['127.0.0.2:50001'], []]);
    });
    expect([watchesStarted(undefined), watchesStarted('dc2')]).toEqual([1, 1]);
  });

  it("tells a late subscriber each datacenter's status after its replayed set, with the choice", async () => {
    const first = join({ failover: ['dc2'] });
    await vi.waitFor(() => expect(dc1.activeRequests).toBe(2));
    expect(first.values).toHaveLength(1);
    const statuses: ConsulStatus[] = [];
    const late = join({ failover: ['dc2'], onStatus: (status) => statuses.push(status) });
    await vi.waitFor(() => expect(statuses).toHaveLength(2));
    expect(late.values.map((set) => [...set.keys()])).toEqual([['127.0.0.1:50001']]);
    expect(
      statuses.map((s) => [s.datacenter, s.instances, s.failover?.serving?.datacenter]),
    ).toEqual([
      ['dc1', 1, 'dc1'],
      ['dc2', 1, 'dc1'],
    ]);
    expect(watchesStarted('dc2')).toBe(1);
  });

  it('stops every loop once the last subscriber leaves', async () => {
    const a = join({ failover: ['dc2'] });
    const b = join({ failover: ['dc2'] });
    await vi.waitFor(() => expect(dc1.activeRequests).toBe(2));
    a.subscription.unsubscribe();
    expect(dc1.activeRequests).toBe(2);
    b.subscription.unsubscribe();
    await vi.waitFor(() => expect(dc1.activeRequests).toBe(0));
  });
});
