/** The balanced channel's metrics, read through the OpenTelemetry SDK's in-memory reader. */
import type { DataPoint, Histogram } from '@opentelemetry/sdk-metrics';
import { createClient, createClientFactory, Status } from 'nice-grpc';
import { BehaviorSubject } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { instance } from '../../marbles/fixtures.js';
import { retryOnAnotherInstance } from '../../src/grpc/retry-on-another-instance.js';
import type { Instance } from '../../src/instance.js';
import { diff } from '../../src/operators/diff.js';
import { zoneAware } from '../../src/operators/zone-aware.js';
import type { Picker } from '../../src/picker.js';
import { METRICS } from '../../src/telemetry/instruments.js';
import { EchoService } from '../support/echo-service.js';
import { useEchoServers } from '../support/fixture.js';
import { startHealthServers } from '../support/health-server.js';
import { type HttpErrorServer, startHttpErrorServer } from '../support/http-error-server.js';
import { testMeters } from '../support/metrics.js';
import { freePort } from '../support/net.js';
import { roundRobinPicker } from '../support/pickers.js';
import { allReady } from '../support/ready.js';

const fixture = useEchoServers(2);
let meters: ReturnType<typeof testMeters>;
let broken: HttpErrorServer;
beforeEach(async () => {
  meters = testMeters();
  broken = await startHttpErrorServer(503);
});
afterEach(async () => {
  broken.stop();
  await meters.shutdown();
});

const TARGET = { 'grpc.target': 'rxlb:///echo' };
const UNARY = '/rxlb.test.Echo/Unary';

describe('createBalancedChannel metrics', () => {
  it('counts attempts by method and status, and connections as gRFC A66 and A94 name them', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const picker$ = new BehaviorSubject<Picker>(roundRobinPicker([...fixture.addresses(), dead]));
    const channel = fixture.channel(picker$, { name: 'echo', meterProvider: meters.meterProvider });
    const { total } = meters;
    await vi.waitFor(async () =>
      expect(await total(METRICS.connectionsFailed, TARGET)).toBeGreaterThan(0),
    );
    const client = createClient(EchoService, channel);
    for (let i = 0; i < 4; i++) await client.unary({ text: '' });

    const attempt = { ...TARGET, 'grpc.method': UNARY };
    expect(await total(METRICS.attemptStarted, attempt)).toBe(4);
    expect(await total(METRICS.attemptDuration, { ...attempt, 'grpc.status': 'OK' })).toBe(4);
    expect(await total(METRICS.connectionsSucceeded, TARGET)).toBe(2);
    expect(await total(METRICS.openConnections, TARGET)).toBe(2);
    expect(await total(METRICS.backends, { ...TARGET, 'rxlb.backend.state': 'ready' })).toBe(2);
    expect(await total(METRICS.backends, { ...TARGET, 'rxlb.backend.state': 'failed' })).toBe(1);

    fixture.server(0).kill();
    await vi.waitFor(async () => expect(await total(METRICS.openConnections, TARGET)).toBe(1));
    expect(await total(METRICS.disconnections, TARGET)).toBe(1);

    picker$.next(roundRobinPicker([]));
    await expect(client.unary({ text: '' })).rejects.toMatchObject({ code: 14 });
    expect(await total(METRICS.noBackend, { ...TARGET, 'rxlb.reason': 'none' })).toBe(1);
    expect(await total(METRICS.backends, TARGET)).toBe(0);
    expect(await total(METRICS.openConnections, TARGET)).toBe(0);
  });

  it("labels a zone-aware channel's attempts with the picked member's zone (grpc.lb.locality)", async () => {
    const [a, b] = fixture
      .addresses()
      .map((address, i) => instance(address, { meta: { zone: i === 0 ? 'a' : 'b' } })) as [
      Instance,
      Instance,
    ];
    const members$ = new BehaviorSubject<Instance[]>([a, b]);
    const channel = fixture.channel(members$.pipe(diff(), zoneAware({ zone: 'a' })), {
      name: 'echo',
      meterProvider: meters.meterProvider,
    });
    await allReady(channel);
    const client = createClient(EchoService, channel);
    for (let i = 0; i < 4; i++) await client.unary({ text: '' });
    members$.next([b]); // nobody left in a: calls go to b
    await vi.waitFor(() => expect(channel.backends()).toHaveLength(1));
    for (let i = 0; i < 2; i++) await client.unary({ text: '' });

    const attempt = { ...TARGET, 'grpc.method': UNARY };
    const { total } = meters;
    expect(await total(METRICS.attemptStarted, { ...attempt, 'grpc.lb.locality': 'a' })).toBe(4);
    expect(await total(METRICS.attemptStarted, { ...attempt, 'grpc.lb.locality': 'b' })).toBe(2);
    const ok = { ...attempt, 'grpc.status': 'OK', 'grpc.lb.locality': 'a' };
    expect(await total(METRICS.attemptDuration, ok)).toBe(4);
  });

  it("labels '' when a policy's localityOf throws, and the call goes on", async () => {
    const base = roundRobinPicker(fixture.addresses());
    const picker: Picker = {
      instances: base.instances,
      pick: (backends, call) => base.pick(backends, call),
      localityOf: () => {
        throw new Error('no zones here');
      },
    };
    const channel = fixture.channel(new BehaviorSubject<Picker>(picker), {
      name: 'echo',
      meterProvider: meters.meterProvider,
    });
    await allReady(channel);
    await createClient(EchoService, channel).unary({ text: '' });
    const started = { ...TARGET, 'grpc.method': UNARY, 'grpc.lb.locality': '' };
    expect(await meters.total(METRICS.attemptStarted, started)).toBe(1);
  });

  it('labels no locality for a policy that does not route by zone', async () => {
    const picker$ = new BehaviorSubject<Picker>(roundRobinPicker(fixture.addresses()));
    const channel = fixture.channel(picker$, { name: 'echo', meterProvider: meters.meterProvider });
    await allReady(channel);
    await createClient(EchoService, channel).unary({ text: '' });
    const metric = await meters.metric(METRICS.attemptStarted);
    const [point] = metric?.dataPoints ?? [];
    expect(point?.attributes).not.toHaveProperty('grpc.lb.locality');
  });

  it("records attempt durations in seconds, in gRFC A66's buckets", async () => {
    const picker$ = new BehaviorSubject<Picker>(roundRobinPicker([fixture.server(0).address]));
    const channel = fixture.channel(picker$, { name: 'echo', meterProvider: meters.meterProvider });
    await allReady(channel);
    fixture.server(0).delayMs = 150;
    await createClient(EchoService, channel).unary({ text: '' });

    const metric = await meters.metric(METRICS.attemptDuration);
    expect(metric?.descriptor.unit).toBe('s');
    const [point] = (metric?.dataPoints ?? []) as DataPoint<Histogram>[];
    // gRFC A66: "Buckets: 0, 0.00001, 0.00005, ..., 20, 50, 100" (seconds)
    expect(point?.value.buckets.boundaries).toEqual([
      0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006,
      0.008, 0.01, 0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13, 0.16, 0.2,
      0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1, 2, 5, 10, 20, 50, 100,
    ]);
    // one attempt of 150 ms and a little more: 0.15 s, not 150
    expect(point?.value.count).toBe(1);
    expect(point?.value.sum).toBeGreaterThanOrEqual(0.15);
    expect(point?.value.sum).toBeLessThan(2);
  });

  it("still applies the service config's method configs, as grpc-js's own selector does", async () => {
    const serviceConfig = {
      methodConfig: [{ name: [{ service: 'rxlb.test.Echo', method: 'Unary' }], timeout: '0.1s' }],
    };
    const picker$ = new BehaviorSubject<Picker>(roundRobinPicker([fixture.server(0).address]));
    const channel = fixture.channel(picker$, {
      name: 'echo',
      channelOptions: { 'grpc.service_config': JSON.stringify(serviceConfig) },
      meterProvider: meters.meterProvider,
    });
    await allReady(channel);
    const client = createClient(EchoService, channel);
    await expect(client.unary({ text: '', hold: true })).rejects.toMatchObject({ code: 4 });
    fixture.server(0).release();
    const attempt = { ...TARGET, 'grpc.method': UNARY, 'grpc.status': 'DEADLINE_EXCEEDED' };
    expect(await meters.total(METRICS.attemptDuration, attempt)).toBe(1);
  });

  it('counts ejections and retries on another instance', async () => {
    const picker$ = new BehaviorSubject<Picker>(
      roundRobinPicker([fixture.server(0).address, broken.address]),
    );
    const channel = fixture.channel(picker$, {
      name: 'echo',
      outlierDetection: { consecutiveFailures: 1 },
      meterProvider: meters.meterProvider,
    });
    await allReady(channel);
    const client = createClientFactory()
      .use(retryOnAnotherInstance({ meterProvider: meters.meterProvider }))
      .create(EchoService, channel);
    for (let i = 0; i < 4; i++) await client.unary({ text: '' });
    expect(await meters.total(METRICS.ejections, TARGET)).toBe(1);
    const method = {
      ...TARGET,
      'grpc.lb.outlier_detection.detection_method': 'consecutive_failures',
    };
    expect(await meters.total(METRICS.ejections, method)).toBe(1);
    expect(
      await meters.total(METRICS.backends, { ...TARGET, 'rxlb.backend.state': 'ejected' }),
    ).toBe(1);
    expect(await meters.total(METRICS.retries, { 'grpc.method': UNARY })).toBe(1);
  });

  it('counts a backend whose health service says NOT_SERVING as unhealthy, and the calls that found none serving', async () => {
    const servers = await startHealthServers(2);
    try {
      const picker$ = new BehaviorSubject<Picker>(roundRobinPicker(servers.map((s) => s.address)));
      const channel = fixture.channel(picker$, {
        name: 'echo',
        healthCheck: {},
        meterProvider: meters.meterProvider,
      });
      await allReady(channel);
      const state = (name: string) => ({ ...TARGET, 'rxlb.backend.state': name });
      expect(await meters.total(METRICS.backends, state('ready'))).toBe(2);
      for (const server of servers) server.health.setStatus('unhealthy');
      await vi.waitFor(async () =>
        expect(await meters.total(METRICS.backends, state('unhealthy'))).toBe(2),
      );
      expect(await meters.total(METRICS.backends, state('ready'))).toBe(0);
      const client = createClient(EchoService, channel);
      await expect(client.unary({ text: '' })).rejects.toMatchObject({ code: 14 });
      const unhealthy = { ...TARGET, 'rxlb.reason': 'unhealthy' };
      expect(await meters.total(METRICS.noBackend, unhealthy)).toBe(1);
    } finally {
      for (const server of servers) server.stop();
    }
  });

  it('counts the retries its budget refused', async () => {
    const picker$ = new BehaviorSubject<Picker>(roundRobinPicker(fixture.addresses()));
    const channel = fixture.channel(picker$, { name: 'echo', outlierDetection: false });
    await allReady(channel);
    const retryBudget = { retryRatio: 0.5, minRetriesPerSecond: 0, ttl: '1h' };
    const client = createClientFactory()
      .use(retryOnAnotherInstance({ retryBudget, meterProvider: meters.meterProvider }))
      .create(EchoService, channel);
    const failing = { text: '', failWith: Status.UNAVAILABLE };
    for (let i = 0; i < 4; i++) await client.unary(failing).catch(() => undefined);
    // 4 calls: 2 retries in the budget; each call wanted 2 (maxAttempts 3)
    expect(await meters.total(METRICS.retries, { 'grpc.method': UNARY })).toBe(2);
    expect(await meters.total(METRICS.retriesThrottled, { 'grpc.method': UNARY })).toBe(4);
  });
});
