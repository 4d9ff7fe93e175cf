/**
 * consulInstances$'s peer, namespace and partition options: sent as peer=, ns= and
 * partition= on every health query (of every loop), answered as Consul answers them, and
 * part of a shared watch's key.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConsulError } from '../../src/consul/errors.js';
import { consulInstances$ } from '../../src/consul/instances.js';
import type { ConsulFailure, ConsulInstancesOptions } from '../../src/consul/options.js';
import { sharedConsulInstances$ } from '../../src/consul/shared-instances.js';
import type { InstanceSet } from '../../src/instance.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { record } from '../support/observe.js';
import { healthQueries, params } from '../support/server.js';

const SERVICE = 'greeter';
const PASSING = { TTL: '1h', Status: 'passing' } as const;
const servers: ConsulTestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0).reverse()) await server.stop();
});

async function start(options: ConstructorParameters<typeof ConsulTestServer>[0] = {}) {
  const server = await new ConsulTestServer(options).start();
  servers.push(server);
  return server;
}

const ids = (set: InstanceSet | undefined) => [...(set?.values() ?? [])].map((i) => i.id).sort();

function watch(server: ConsulTestServer, options: ConsulInstancesOptions) {
  return record(
    consulInstances$(SERVICE, {
      address: server.address,
      wait: '5s',
      backoff: { initialMs: 10, maxMs: 20 },
      minIntervalMs: 0,
      ...options,
    }),
  );
}

describe('consulInstances$ with peer', () => {
  it("serves the peer's imported instances, asking with peer=", async () => {
    const server = await start();
    server.registerService({ Name: SERVICE, ID: 'local', Port: 1, Check: PASSING });
    server.importService('cluster-02', { Name: SERVICE, ID: 'p1', Port: 2, Check: PASSING });
    const w = watch(server, { peer: 'cluster-02' });
    await vi.waitFor(() => expect(ids(w.values.at(-1))).toEqual(['p1']));
    server.importService('cluster-02', { Name: SERVICE, ID: 'p2', Port: 3, Check: PASSING });
    await vi.waitFor(() => expect(ids(w.values.at(-1))).toEqual(['p1', 'p2']));
    const queries = healthQueries(server.requests, SERVICE);
    expect(queries.every((q) => params(q).get('peer') === 'cluster-02')).toBe(true);
    w.subscription.unsubscribe();
  });

  it('refuses failover and translateWanAddresses with it, saying why', () => {
    expect(() => consulInstances$(SERVICE, { peer: 'cluster-02', failover: ['dc2'] })).toThrow(
      'consulInstances$(): option "peer" does not combine with "failover": a peer is another cluster',
    );
    expect(() =>
      consulInstances$(SERVICE, { peer: 'cluster-02', translateWanAddresses: true }),
    ).toThrow('option "peer" does not combine with "translateWanAddresses"');
  });
});

describe('consulInstances$ with namespace and partition', () => {
  it('asks with ns= and partition=, and an Enterprise agent answers that tenancy', async () => {
    const server = await start({ enterprise: true });
    server.registerService({ Name: SERVICE, ID: 'd', Port: 1, Check: PASSING });
    server.registerService({
      Name: SERVICE,
      ID: 'a',
      Port: 2,
      Namespace: 'team-a',
      Partition: 'eu',
      Check: PASSING,
    });
    const w = watch(server, { namespace: 'team-a', partition: 'eu' });
    await vi.waitFor(() => expect(ids(w.values.at(-1))).toEqual(['a']));
    const query = params(healthQueries(server.requests, SERVICE)[0]);
    expect([query.get('ns'), query.get('partition')]).toEqual(['team-a', 'eu']);
    w.subscription.unsubscribe();
  });

  it("reports Consul CE's refusal to onError, with Consul's text", async () => {
    const server = await start();
    const failures: ConsulFailure[] = [];
    const w = watch(server, { namespace: 'team-a', onError: (f) => failures.push(f) });
    await vi.waitFor(() => expect(failures.length).toBeGreaterThan(0));
    const [first] = failures;
    expect(first?.error).toBeInstanceOf(ConsulError);
    expect(first?.error.statusCode).toBe(400);
    expect(first?.error.message).toContain(
      'Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature',
    );
    w.subscription.unsubscribe();
  });

  it('sends them on every loop of a failover watch', async () => {
    const dc1 = await start({ datacenter: 'dc1', enterprise: true });
    const dc2 = await start({ datacenter: 'dc2', enterprise: true, wanJoin: dc1 });
    dc2.registerService({ Name: SERVICE, ID: 'b', Port: 1, Namespace: 'team-a', Check: PASSING });
    const w = watch(dc1, { namespace: 'team-a', failover: ['dc2'] });
    await vi.waitFor(() => expect(ids(w.values.at(-1))).toEqual(['b']));
    const queries = healthQueries(dc1.requests, SERVICE);
    expect(new Set(queries.map((q) => params(q).get('dc')))).toEqual(new Set([null, 'dc2']));
    expect(queries.every((q) => params(q).get('ns') === 'team-a')).toBe(true);
    w.subscription.unsubscribe();
  });

  it('shares a watch only between subscribers of the same peer, namespace and partition', async () => {
    const server = await start({ enterprise: true });
    const base = { address: server.address, wait: '5s' };
    const subscriptions = [
      sharedConsulInstances$(SERVICE, { ...base, namespace: 'team-a' }),
      sharedConsulInstances$(SERVICE, { ...base, namespace: 'team-a' }),
      sharedConsulInstances$(SERVICE, { ...base, namespace: 'team-b' }),
      sharedConsulInstances$(SERVICE, { ...base, namespace: 'team-a', partition: 'eu' }),
      sharedConsulInstances$(SERVICE, { ...base, peer: 'cluster-02' }),
    ].map((set$) => set$.subscribe());
    await vi.waitFor(() => expect(server.activeRequests).toBe(4));
    for (const subscription of subscriptions) subscription.unsubscribe();
  });
});

describe('peer, namespace and partition values', () => {
  it.each([
    ['peer', ''],
    ['peer', 'has space'],
    ['namespace', '-leading'],
    ['partition', 'a'.repeat(64)],
    ['namespace', 7],
  ])('refuses %s %j, naming the option', (key, value) => {
    expect(() =>
      consulInstances$(SERVICE, { [key]: value } as unknown as ConsulInstancesOptions),
    ).toThrow(`consulInstances$(): option "${key}" must be a DNS label`);
  });

  it.each([
    ['peer', 'a'],
    ['peer', 'cluster-02'],
    ['namespace', 'A1'],
    ['partition', 'a'.repeat(63)],
  ])('takes %s %j', (key, value) => {
    expect(() =>
      consulInstances$(SERVICE, { [key]: value } as unknown as ConsulInstancesOptions),
    ).not.toThrow();
  });

  it.each([
    ['peer', '-'],
    ['namespace', 'trailing-'],
    ['partition', 'a_b'],
  ])('refuses %s %j too', (key, value) => {
    expect(() =>
      consulInstances$(SERVICE, { [key]: value } as unknown as ConsulInstancesOptions),
    ).toThrow(`consulInstances$(): option "${key}" must be a DNS label`);
  });

  it('suggests the option a slip is of', () => {
    expect(() =>
      consulInstances$(SERVICE, { namspace: 'a' } as unknown as ConsulInstancesOptions),
    ).toThrow(/did you mean "namespace"/);
  });
});
