/**
 * `commitDelayMs`: a write through the HTTP API is applied (visible to reads, waking blocking
 * queries) only once its commit delay has passed, and answered right after, as a Consul server
 * answers a write once Raft applied it; reads, renewals and gossip never wait. Driven through
 * the `consul` npm client.
 */
import type Consul from 'consul';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';
import { consulClient } from './http.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(
  commitDelayMs?: number,
): Promise<{ server: ConsulTestServer; consul: Consul }> {
  const server = await new ConsulTestServer(
    commitDelayMs === undefined ? {} : { commitDelayMs },
  ).start();
  const consul = consulClient(server.address);
  cleanups.push(
    () => server.stop(),
    () => consul.destroy(),
  );
  return { server, consul };
}

/** Polls until `done` holds, for at most 15 s. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

type Entry = { Value: string | null; ModifyIndex: number };

describe('commitDelayMs', () => {
  it('a read sent while a write is in flight sees the state before it; the write answers once it is visible', async () => {
    const DELAY = 3_000;
    const { server, consul } = await start(DELAY);
    const index = server.index;
    // a blocking query waiting on the key wakes when the write is applied, not before
    // the client passes index and wait on, though its typings leave them out
    const blocking = { key: 'k', index, wait: '30s' };
    const blocked = consul.kv.get(blocking);
    const sent = performance.now();
    const write = consul.kv.set('k', 'new');
    await until(() => server.requests.some((r) => r.method === 'PUT'));

    const during = await consul.kv.get('k');
    const put = server.requests.find((r) => r.method === 'PUT');
    // the read was answered within the 3 s the write takes to commit
    expect(put?.outcome).toBe('pending');
    expect(during).toBeUndefined();

    expect(await write).toBe(true);
    expect(performance.now() - sent).toBeGreaterThanOrEqual(DELAY - 50);
    expect(((await consul.kv.get('k')) as Entry).Value).toBe('new');
    const woken = (await blocked) as Entry;
    expect(woken.Value).toBe('new');
    expect(woken.ModifyIndex).toBeGreaterThan(index);
  });

  it('only Raft writes wait: reads, session renewals and user events answer at once', async () => {
    // a read that waited a minute would time this test out
    const { server, consul } = await start(60_000);
    expect(await consul.kv.get('nothing')).toBeUndefined();
    expect(await consul.catalog.services()).toEqual({ consul: [] });
    expect(await consul.event.fire('deploy')).toMatchObject({ Name: 'deploy' });
    expect(await consul.event.list()).toHaveLength(1);
    expect(await consul.agent.members()).toMatchObject([{ Status: 1 }]);
    expect(server.index).toBeGreaterThan(0);
  });

  it('0 applies writes at once; the option is checked', async () => {
    const { consul } = await start(0);
    expect(await consul.kv.set('k', 'v')).toBe(true);
    expect(((await consul.kv.get('k')) as Entry).Value).toBe('v');
    expect(() => new ConsulTestServer({ commitDelayMs: -1 })).toThrow(TypeError);
    expect(() => new ConsulTestServer({ commitDelayMs: Number.NaN })).toThrow(TypeError);
  });

  it('the default (a dev agent: 1 ms) still answers a write only once it is visible', async () => {
    const { consul } = await start();
    const writes = Array.from({ length: 20 }, (_, i) => consul.kv.set(`k/${i}`, String(i)));
    expect(await Promise.all(writes)).toEqual(Array(20).fill(true));
    expect(await consul.kv.keys('k/')).toHaveLength(20);
  });
});
