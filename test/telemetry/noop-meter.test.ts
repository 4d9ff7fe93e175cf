/**
 * With `@opentelemetry/api` installed but no meter provider registered, the global meter is
 * the API's no-op: rxlb must then skip its per-call attribute work, as without the API, and
 * record once a provider is registered before the channel is made.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { metrics } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { instruments, NO_INSTRUMENTS } from '../../src/telemetry/instruments.js';
import { bundled } from '../support/bundle.js';
import { testMeters } from '../support/metrics.js';

const CHILD = fileURLToPath(new URL('./noop-meter-child.ts', import.meta.url));

afterEach(() => metrics.disable());

describe('rxlb instruments and the OpenTelemetry no-op meter', () => {
  it('records nothing, and builds nothing to record, while no global meter provider is registered', () => {
    expect(instruments()).toBe(NO_INSTRUMENTS);
    expect(instruments().enabled).toBe(false);
  });

  it('does not even load the API while no global meter provider is registered (a fresh process)', () => {
    const child = spawnSync(process.execPath, [bundled(CHILD)], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual({ enabled: false, loaded: 0 });
  });

  it('records through the global provider once one is registered (here by the ESM copy of the API, rxlb loading the CJS one)', async () => {
    const meters = testMeters();
    metrics.setGlobalMeterProvider(meters.meterProvider);
    const registered = instruments();
    expect(registered.enabled).toBe(true);
    registered.retries.add(1, { 'grpc.method': '/a.B/C' });
    expect(await meters.total('rxlb.client.retries')).toBe(1);
    await meters.shutdown();
  });
});
