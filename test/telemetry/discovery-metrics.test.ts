/** consulInstances$'s metrics, read through the OpenTelemetry SDK's in-memory reader. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import { METRICS } from '../../src/telemetry/instruments.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { testMeters } from '../support/metrics.js';
import { record } from '../support/observe.js';

const SERVICE = { 'rxlb.service': 'greeter' };
let consul: ConsulTestServer;
let meters: ReturnType<typeof testMeters>;
beforeEach(async () => {
  consul = await new ConsulTestServer().start();
  meters = testMeters();
  for (const port of [1, 2]) {
    consul.registerService({
      Name: 'greeter',
      ID: `g${port}`,
      Address: '127.0.0.1',
      Port: port,
      Check: { CheckID: `c${port}`, TTL: '1h', Status: 'passing' },
    });
  }
});
afterEach(async () => {
  await consul.stop();
  await meters.shutdown();
});

describe('consulInstances$ metrics', () => {
  it('counts the answers that changed the set, the failures by code, and the watches by what they serve', async () => {
    const { total } = meters;
    const watch = record(
      consulInstances$('greeter', {
        address: consul.address,
        wait: '1s',
        backoff: { initialMs: 10, maxMs: 20 },
        meterProvider: meters.meterProvider,
      }),
    );
    await vi.waitFor(() => expect(watch.values).toHaveLength(1));
    expect(await total(METRICS.discoveryUpdates, SERVICE)).toBe(1);
    expect(await total(METRICS.nobodyMode, { ...SERVICE, 'rxlb.mode': 'healthy' })).toBe(1);

    consul.inject({ kind: 'status', status: 500, path: '/v1/health/service/greeter' });
    consul.setCheckStatus('c1', 'critical', 'down');
    consul.setCheckStatus('c2', 'critical', 'down');
    await vi.waitFor(async () =>
      expect(await total(METRICS.nobodyMode, { ...SERVICE, 'rxlb.mode': 'kept-last' })).toBe(1),
    );
    expect(await total(METRICS.nobodyMode, { ...SERVICE, 'rxlb.mode': 'healthy' })).toBe(0);
    expect(
      await total(METRICS.discoveryFailures, { ...SERVICE, 'rxlb.error': 'ERR_CONSUL_HTTP' }),
    ).toBe(1);

    watch.subscription.unsubscribe();
    expect(await total(METRICS.nobodyMode, SERVICE)).toBe(0);
  });

  it('labels updates and failures with the datacenter a watch names, and only then', async () => {
    const attributesOf = async (name: string) =>
      (await meters.metric(name))?.dataPoints.map((point) => point.attributes) ?? [];
    for (const dc of [undefined, consul.datacenter]) {
      consul.inject({ kind: 'status', status: 500, path: '/v1/health/service/greeter' });
      const watch = record(
        consulInstances$('greeter', {
          address: consul.address,
          ...(dc !== undefined && { dc }),
          backoff: { initialMs: 10, maxMs: 20 },
          meterProvider: meters.meterProvider,
        }),
      );
      // an unresolved empty set at the failure, then the two instances
      await vi.waitFor(() => expect(watch.values.at(-1)?.size).toBe(2));
      watch.subscription.unsubscribe();
    }
    const withDc = { ...SERVICE, 'rxlb.datacenter': consul.datacenter };
    expect(await attributesOf(METRICS.discoveryUpdates)).toStrictEqual([SERVICE, withDc]);
    expect(await attributesOf(METRICS.discoveryFailures)).toEqual([
      { ...SERVICE, 'rxlb.error': 'ERR_CONSUL_HTTP' },
      { ...withDc, 'rxlb.error': 'ERR_CONSUL_HTTP' },
    ]);
  });
});
