/** The events of `rxlb watch`, as the command builds them: each with its answer's index. */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type WatchEvent, watchEvents$ } from '../../src/cli/events.js';
import { ConsulTestServer } from '../../src/testing/index.js';

let consul: ConsulTestServer;

beforeEach(async () => {
  consul = await new ConsulTestServer().start();
});
afterEach(() => consul.stop());

const register = (id: string, port: number) =>
  consul.registerService({ Name: 'greeter', ID: id, Address: '127.0.0.1', Port: port });

/** The `X-Consul-Index` Consul answers the health query of greeter with, now. */
async function consulIndex(): Promise<number> {
  const response = await fetch(`http://${consul.address}/v1/health/service/greeter?passing=true`);
  await response.arrayBuffer();
  return Number(response.headers.get('x-consul-index'));
}

describe('watchEvents$', () => {
  it('reports each set with the X-Consul-Index of the answer that brought it', async () => {
    register('g1', 50051);
    const events: WatchEvent[] = [];
    const arrived = async (count: number) => {
      while (events.length < count) await sleep(10);
    };
    const indexes: number[] = [];
    const subscription = watchEvents$('greeter', { address: consul.address, passing: true })
      // the first answer, then one per registration, each index read once its change is out
      .subscribe((event) => events.push(event));
    try {
      await arrived(1);
      indexes.push(await consulIndex());
      register('g2', 50052);
      await arrived(2);
      indexes.push(await consulIndex());
      register('g3', 50053);
      await arrived(3);
      indexes.push(await consulIndex());
    } finally {
      subscription.unsubscribe();
    }
    expect(indexes[0]).toBeGreaterThan(0);
    expect(new Set(indexes).size).toBe(3);
    expect(events.map((event) => [event.kind, event.index])).toEqual([
      ['current', indexes[0]],
      ['change', indexes[1]],
      ['change', indexes[2]],
    ]);
  });
});
