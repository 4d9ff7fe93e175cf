/**
 * What a dashboard reads of one backend's life, by gRFC A94's subchannel metrics and rxlb's
 * `rxlb.client.backends`: ChannelMetrics fed the transitions a backend goes through, read back
 * through the OpenTelemetry SDK.
 */
import { connectivityState, type experimental } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChannelMetrics, type MeasuredBackend } from '../../src/grpc/channel-metrics.js';
import { METHOD_KEY } from '../../src/grpc/method-config-selector.js';
import type { BackendHealth } from '../../src/picker.js';
import { instruments, METRICS } from '../../src/telemetry/instruments.js';
import { testMeters } from '../support/metrics.js';

const { IDLE, CONNECTING, READY, TRANSIENT_FAILURE } = connectivityState;
const TARGET = 'rxlb:///echo';

let meters: ReturnType<typeof testMeters>;
beforeEach(() => {
  meters = testMeters();
});
afterEach(async () => {
  await meters.shutdown();
});

/** A backend, and a function that moves it to a state as the channel reports it. */
function backendOf(metrics: ChannelMetrics, health: BackendHealth = 'UNCHECKED') {
  const backend: MeasuredBackend & {
    state: connectivityState;
    health: BackendHealth;
    ejected: boolean;
  } = {
    state: IDLE,
    ejected: false,
    health,
    category: undefined,
  };
  return {
    backend,
    to(state: connectivityState, failed = false) {
      const previous = backend.state;
      backend.state = state;
      metrics.connection(backend, previous, failed);
    },
  };
}

/** What the dashboard shows now: the A94 counters, and the backends by state. */
async function dashboard() {
  const where = { 'grpc.target': TARGET };
  const backends: Record<string, number> = {};
  for (const state of ['connecting', 'ready', 'failed', 'ejected', 'unhealthy']) {
    const n = await meters.total(METRICS.backends, { ...where, 'rxlb.backend.state': state });
    if (n !== 0) backends[state] = n;
  }
  return {
    succeeded: await meters.total(METRICS.connectionsSucceeded, where),
    failed: await meters.total(METRICS.connectionsFailed, where),
    open: await meters.total(METRICS.openConnections, where),
    disconnections: {
      unknown: await meters.total(METRICS.disconnections, {
        ...where,
        'grpc.disconnect_error': 'unknown',
      }),
      shutdown: await meters.total(METRICS.disconnections, {
        ...where,
        'grpc.disconnect_error': 'subchannel shutdown',
      }),
      all: await meters.total(METRICS.disconnections, where),
    },
    backends,
  };
}

describe('ChannelMetrics, over a backend’s life', () => {
  it('counts connection attempts that succeeded and failed, open connections, disconnections and backends by state', async () => {
    const metrics = new ChannelMetrics(instruments(meters.meterProvider), TARGET);
    const { backend, to } = backendOf(metrics, 'PENDING');
    metrics.categorize(backend); // it joins, IDLE
    expect((await dashboard()).backends).toEqual({ connecting: 1 });

    to(CONNECTING);
    to(TRANSIENT_FAILURE, true); // an attempt failed
    to(TRANSIENT_FAILURE, true); // and the next one, said while in TRANSIENT_FAILURE
    to(TRANSIENT_FAILURE, false); // said again without an error: no attempt
    to(CONNECTING);
    to(IDLE, true); // not a TRANSIENT_FAILURE: no failed attempt
    expect(await dashboard()).toEqual({
      succeeded: 0,
      failed: 2,
      open: 0,
      disconnections: { unknown: 0, shutdown: 0, all: 0 },
      backends: { connecting: 1 },
    });

    to(CONNECTING);
    to(READY); // connected; its health service has not answered yet
    expect(await dashboard()).toMatchObject({ succeeded: 1, open: 1, backends: { connecting: 1 } });
    backend.health = 'SERVING';
    metrics.categorize(backend);
    to(READY); // said again: nothing new
    expect(await dashboard()).toMatchObject({ succeeded: 1, open: 1, backends: { ready: 1 } });

    to(TRANSIENT_FAILURE, true); // the connection was lost: a disconnection, not a failed attempt
    expect(await dashboard()).toEqual({
      succeeded: 1,
      failed: 2,
      open: 0,
      disconnections: { unknown: 1, shutdown: 0, all: 1 },
      backends: { failed: 1 },
    });

    to(CONNECTING);
    to(READY);
    metrics.removed(backend); // discovery removed it while connected
    expect(await dashboard()).toEqual({
      succeeded: 2,
      failed: 2,
      open: 0,
      disconnections: { unknown: 1, shutdown: 1, all: 2 },
      backends: {},
    });
  });

  it('counts a backend as unhealthy, ejected, or connecting while IDLE, CONNECTING or waiting for its health service', async () => {
    const metrics = new ChannelMetrics(instruments(meters.meterProvider), TARGET);
    const states: string[] = [];
    const { backend, to } = backendOf(metrics, 'PENDING');
    const look = async () => {
      const { backends } = await dashboard();
      states.push(Object.keys(backends).join());
    };
    metrics.categorize(backend);
    await look();
    to(CONNECTING);
    await look();
    to(READY);
    await look();
    backend.health = 'NOT_SERVING';
    metrics.categorize(backend);
    await look();
    backend.health = 'SERVING';
    backend.ejected = true;
    metrics.categorize(backend);
    await look();
    backend.ejected = false;
    metrics.categorize(backend);
    await look();
    to(TRANSIENT_FAILURE, true);
    await look();
    to(IDLE);
    await look();
    expect(states).toEqual([
      'connecting',
      'connecting',
      'connecting',
      'unhealthy',
      'ejected',
      'ready',
      'failed',
      'connecting',
    ]);
  });

  it('removes a backend never counted without a trace, and a counted one from its state', async () => {
    const metrics = new ChannelMetrics(instruments(meters.meterProvider), TARGET);
    metrics.removed(backendOf(metrics).backend);
    expect((await meters.metric(METRICS.backends))?.dataPoints ?? []).toEqual([]);
    const { backend, to } = backendOf(metrics);
    to(CONNECTING);
    to(TRANSIENT_FAILURE, true);
    metrics.removed(backend);
    const points = (await meters.metric(METRICS.backends))?.dataPoints ?? [];
    expect(points.map((p) => [p.attributes['rxlb.backend.state'], p.value])).toEqual([
      ['connecting', 0],
      ['failed', 0],
    ]);
    expect((await dashboard()).disconnections.all).toBe(0);
  });

  it('names ejections by gRFC A91’s detection methods', async () => {
    const metrics = new ChannelMetrics(instruments(meters.meterProvider), TARGET);
    metrics.ejected('consecutiveFailures');
    metrics.ejected('successRate');
    metrics.ejected('successRate');
    metrics.ejected('failurePercentage');
    const points = (await meters.metric(METRICS.ejections))?.dataPoints ?? [];
    expect(
      points.map((p) => [p.attributes['grpc.lb.outlier_detection.detection_method'], p.value]),
    ).toEqual([
      ['consecutive_failures', 1],
      ['success_rate', 2],
      ['failure_percentage', 1],
    ]);
  });

  it('labels an attempt with its method, or `other` when the channel does not know it', () => {
    const metrics = new ChannelMetrics(instruments(meters.meterProvider), TARGET);
    const args = (extraPickInfo: Record<string, string>) =>
      ({ extraPickInfo }) as unknown as experimental.PickArgs;
    expect(metrics.attempt(args({ [METHOD_KEY]: '/echo/Unary' }))).toEqual({
      'grpc.method': '/echo/Unary',
      'grpc.target': TARGET,
    });
    expect(metrics.attempt(args({}))).toEqual({ 'grpc.method': 'other', 'grpc.target': TARGET });
  });
});
