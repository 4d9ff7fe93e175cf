/** Many subscribers of the same service and query share one Consul watch. */
import { config as rxjsConfig } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type {
  ConsulFailure,
  ConsulInstancesOptions,
  ConsulStatus,
} from '../../src/consul/options.js';
import { sharedConsulInstances$ } from '../../src/consul/shared-instances.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { answersOnly } from '../support/answers.js';
import { type Recorder, record } from '../support/observe.js';
import { healthQueries, params } from '../support/server.js';

const SERVICE = 'greeter';
let server: ConsulTestServer;
const open: Recorder<unknown>[] = [];

beforeEach(async () => {
  server = await new ConsulTestServer().start();
  server.registerService({ Name: SERVICE, ID: 'g1', Port: 50051, Address: '127.0.0.1' });
});
afterEach(async () => {
  for (const recorder of open.splice(0)) recorder.subscription.unsubscribe();
  rxjsConfig.onUnhandledError = null;
  await server.stop();
});

const fast = (): ConsulInstancesOptions => ({
  address: server.address,
  wait: '5s',
  backoff: { initialMs: 10, maxMs: 20 },
  minIntervalMs: 0,
});

/** Subscribes to the shared watch with fast timings; unsubscribed after the test. */
function join(options: ConsulInstancesOptions = {}) {
  const recorder = record(
    sharedConsulInstances$(SERVICE, { ...fast(), ...options }).pipe(answersOnly()),
  );
  open.push(recorder);
  return recorder;
}

const queries = () => healthQueries(server.requests, SERVICE);
/** Each watch starts with one query without an index. */
const watchesStarted = () => queries().filter((q) => !params(q).has('index')).length;

describe('sharedConsulInstances$', () => {
  it('runs one blocking-query loop for every subscriber of the same service and query', async () => {
    const subscribers = [join(), join({ passing: true }), join({ tags: [] })];
    await vi.waitFor(() => {
      for (const s of subscribers) expect(s.values).toHaveLength(1);
      expect(server.activeRequests).toBe(1); // the one blocking query
    });
    server.registerService({ Name: SERVICE, ID: 'g2', Port: 50052, Address: '127.0.0.1' });
    await vi.waitFor(() => {
      for (const s of subscribers) expect(s.values.at(-1)?.size).toBe(2);
    });
    expect(watchesStarted()).toBe(1);
    await vi.waitFor(() => expect(server.activeRequests).toBe(1));
  });

  it('replays the latest set to a late subscriber at once, without a request', async () => {
    const first = join();
    await vi.waitFor(() => expect(first.values).toHaveLength(1));
    const sent = server.requests.length;
    const late = join();
    expect(late.values).toEqual(first.values);
    expect(server.requests.length).toBe(sent);
  });

  it('keeps separate watches for queries that differ in tags, node meta, passing or token', async () => {
    const subscribers = [
      join(),
      join({ tags: ['v2'] }),
      join({ nodeMeta: { rack: 'r1' } }),
      join({ passing: false }),
      join({ token: 't' }),
    ];
    await vi.waitFor(() => {
      for (const s of subscribers) expect(s.values).toHaveLength(1);
    });
    expect(watchesStarted()).toBe(5);
  });

  it('shares between tag lists, and node-meta pairs, in another order', async () => {
    const [a, b] = [
      join({ tags: ['v2', 'eu'], nodeMeta: { rack: 'r1', zone: 'a' } }),
      join({ tags: ['eu', 'v2'], nodeMeta: { zone: 'a', rack: 'r1' } }),
    ];
    await vi.waitFor(() => expect([a.values.length, b.values.length]).toEqual([1, 1]));
    expect(watchesStarted()).toBe(1);
  });

  it('stops the watch when the last subscriber leaves, and starts a new one for the next', async () => {
    const [a, b] = [join(), join()];
    await vi.waitFor(() => expect(server.activeRequests).toBe(1));
    a.subscription.unsubscribe();
    expect(server.activeRequests).toBe(1);
    b.subscription.unsubscribe();
    await vi.waitFor(() => expect(server.activeRequests).toBe(0));
    expect(queries().at(-1)?.outcome).toBe('closed-by-client');

    const c = join();
    await vi.waitFor(() => expect(c.values).toHaveLength(1));
    expect(watchesStarted()).toBe(2);
  });
});

describe('sharedConsulInstances$ callbacks', () => {
  it("tells every subscriber's onError about each failure of the shared watch", async () => {
    server.inject({ kind: 'status', status: 500, count: 2, path: `/v1/health/service/${SERVICE}` });
    const heard: [string, number][] = [];
    const onError = (who: string) => (f: ConsulFailure) => heard.push([who, f.attempt]);
    const [a, b] = [join({ onError: onError('a') }), join({ onError: onError('b') })];
    await vi.waitFor(() => expect([a.values.length, b.values.length]).toEqual([1, 1]));
    expect(heard).toEqual([
      ['a', 1],
      ['b', 1],
      ['a', 2],
      ['b', 2],
    ]);
  });

  it('gives a late subscriber the latest status at once, before the replayed set', async () => {
    const first = join();
    await vi.waitFor(() => expect(first.values).toHaveLength(1));
    const order: string[] = [];
    const statuses: ConsulStatus[] = [];
    const late = sharedConsulInstances$(SERVICE, {
      ...fast(),
      onStatus: (s) => {
        statuses.push(s);
        order.push('status');
      },
    }).subscribe(() => order.push('set'));
    late.unsubscribe();
    expect(order).toEqual(['status', 'set']);
    expect(statuses[0]).toMatchObject({ service: SERVICE, state: 'ok', instances: 1 });
  });

  it('gives the first subscriber after the last one left no status of the watch that ended', async () => {
    const first = join();
    await vi.waitFor(() => expect(first.values).toHaveLength(1));
    first.subscription.unsubscribe();
    await vi.waitFor(() => expect(server.activeRequests).toBe(0));
    server.registerService({ Name: SERVICE, ID: 'g2', Port: 50052, Address: '127.0.0.1' });
    const statuses: ConsulStatus[] = [];
    const next = join({ onStatus: (s) => statuses.push(s) });
    await vi.waitFor(() => expect(next.values).toHaveLength(1));
    expect(statuses.map((s) => s.instances)).toEqual([2]);
    expect(watchesStarted()).toBe(2);
  });

  it('stops calling the callbacks of a subscriber that left', async () => {
    const statuses: ConsulStatus[] = [];
    const stays = join();
    const leaves = join({ onStatus: (s) => statuses.push(s) });
    await vi.waitFor(() => expect(statuses).toHaveLength(1));
    leaves.subscription.unsubscribe();
    server.registerService({ Name: SERVICE, ID: 'g2', Port: 50052, Address: '127.0.0.1' });
    await vi.waitFor(() => expect(stays.values).toHaveLength(2));
    expect(statuses).toHaveLength(1);
  });

  it('calls the other callbacks when one throws, and hands the error to RxJS', async () => {
    const thrown: unknown[] = [];
    rxjsConfig.onUnhandledError = (error) => thrown.push(error);
    const statuses: ConsulStatus[] = [];
    join({
      onStatus: () => {
        throw new Error('callback bug');
      },
    });
    const calm = join({ onStatus: (s) => statuses.push(s) });
    await vi.waitFor(() => expect(calm.values).toHaveLength(1));
    await vi.waitFor(() => expect(thrown).toHaveLength(1));
    expect(statuses).toHaveLength(1);
  });

  it('throws a TypeError naming sharedConsulInstances$() and the option', () => {
    expect(() => sharedConsulInstances$(SERVICE, { wait: '1h' })).toThrow(
      /^sharedConsulInstances\$\(\): option "wait"/,
    );
    expect(() => sharedConsulInstances$('')).toThrow(TypeError);
  });
});
