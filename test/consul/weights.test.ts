/**
 * consulInstances$ against ConsulTestServer: which of Consul's weights an instance carries as
 * its checks change.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import type { InstanceSet } from '../../src/instance.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { record } from '../support/observe.js';

let consul: ConsulTestServer;
beforeEach(async () => {
  consul = await new ConsulTestServer().start();
  for (const [id, port] of [
    ['greeter-1', 50051],
    ['greeter-2', 50052],
  ] as const) {
    consul.registerService({
      Name: 'greeter',
      ID: id,
      Address: '127.0.0.1',
      Port: port,
      Weights: { Passing: 3, Warning: 1 },
      Check: { CheckID: `${id}-ttl`, TTL: '1h', Status: 'passing' },
    });
  }
});
afterEach(() => consul.stop());

const weights = (set: InstanceSet | undefined) =>
  Object.fromEntries([...(set?.values() ?? [])].map((i) => [i.id, i.weight]));

describe('consulInstances$ weights', () => {
  it('carries Weights.Passing, then Weights.Warning once a check warns, when passing: false lets it through', async () => {
    const seen = record(consulInstances$('greeter', { address: consul.address, passing: false }));
    await vi.waitFor(() =>
      expect(weights(seen.values.at(-1))).toEqual({ 'greeter-1': 3, 'greeter-2': 3 }),
    );
    consul.setCheckStatus('greeter-2-ttl', 'warning');
    await vi.waitFor(() =>
      expect(weights(seen.values.at(-1))).toEqual({ 'greeter-1': 3, 'greeter-2': 1 }),
    );
    consul.setCheckStatus('greeter-2-ttl', 'passing');
    await vi.waitFor(() =>
      expect(weights(seen.values.at(-1))).toEqual({ 'greeter-1': 3, 'greeter-2': 3 }),
    );
    seen.subscription.unsubscribe();
  });

  it('leaves an instance whose check warns out by default (passing: true)', async () => {
    consul.setCheckStatus('greeter-2-ttl', 'warning');
    const seen = record(consulInstances$('greeter', { address: consul.address }));
    await vi.waitFor(() => expect(weights(seen.values.at(-1))).toEqual({ 'greeter-1': 3 }));
    seen.subscription.unsubscribe();
  });
});
