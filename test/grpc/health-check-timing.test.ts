/**
 * Client-side health checking (gRFC A17), the tests that take time: against Consul, with
 * steady traffic, the bounds (no call 200 ms after NOT_SERVING, calls again within 1 s
 * of SERVING); and a Watch retried after gRPC's connection backoff (about a second). Not in
 * `npm run test:fast`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ServerError, Status } from 'nice-grpc';
import { ReplaySubject, share } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import { registerInstance } from '../../src/consul/register-instance.js';
import type { HealthEvent } from '../../src/grpc/health-watch.js';
import { diff } from '../../src/operators/diff.js';
import { roundRobin } from '../../src/operators/round-robin.js';
import type { Picker } from '../../src/picker.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import {
  allServing,
  answers,
  healthOf,
  over,
  traffic,
  useHealthChecks,
} from '../support/health-checks.js';
import type { HealthServer } from '../support/health-server.js';

const { servers, checkedChannel, defer } = useHealthChecks();

describe('client-side health checking (gRFC A17), in time', () => {
  it('NOT_SERVING takes a backend out of picking while Consul still lists it; SERVING brings it back within 1 s', async () => {
    const consul = await new ConsulTestServer().start();
    defer(() => consul.stop());
    const fleet = await servers(3);
    for (const server of fleet) {
      const registration = await registerInstance({
        name: 'echo',
        address: '127.0.0.1',
        port: server.port,
        consul: { address: consul.address },
        // Consul's check runs once now, and not again during the test
        check: { interval: '1h' },
      });
      defer(() => registration.deregister());
    }
    let listed: readonly string[] = [];
    const picker$ = consulInstances$('echo', { address: consul.address, wait: '5s' }).pipe(
      diff(),
      roundRobin(),
      share({ connector: () => new ReplaySubject<Picker>(1) }),
    );
    const watcher = picker$.subscribe((picker) => {
      listed = picker.instances.map((instance) => instance.address);
    });
    defer(() => watcher.unsubscribe());
    const { channel, client, events } = checkedChannel(picker$);
    await allServing(channel, 3);
    const [sick, ...others] = fleet as [HealthServer, ...HealthServer[]];
    const load = traffic(client);
    defer(() => load.stop());

    sick.health.setStatus('unhealthy');
    const isOut = (e: HealthEvent) => e.address === sick.address && e.health === 'NOT_SERVING';
    await vi.waitFor(() => expect(events.some(isOut)).toBe(true));
    const seenAt = events.find(isOut)?.at ?? 0;
    const reachedThen = sick.calls;
    const inFlightThen = load.inFlight;
    await sleep(200);
    // no call reached it but those already sent when the channel heard NOT_SERVING, and no
    // call sent since was answered by it, while the others took the load
    expect(sick.calls - reachedThen).toBeLessThanOrEqual(inFlightThen);
    const since = load.calls.filter((call) => call.startedAt > seenAt);
    expect(since.filter((call) => call.backend === sick.address)).toEqual([]);
    expect(since.length).toBeGreaterThan(0);
    expect(new Set(since.map((call) => call.backend))).toEqual(
      new Set(others.map((server) => server.address)),
    );
    expect(listed).toContain(sick.address); // Consul still lists it
    expect(healthOf(channel)[sick.address]).toBe('NOT_SERVING');

    const backAt = performance.now();
    sick.health.setStatus('healthy');
    await vi.waitFor(
      () => {
        const served = load.calls.some((c) => c.backend === sick.address && c.startedAt > backAt);
        expect(served).toBe(true);
      },
      { timeout: 1_000, interval: 5 },
    );
    await load.stop();
  });

  it('retries a Watch that fails before any answer after a backoff (about 1 s)', async () => {
    let failedAt = 0;
    const [server] = (await servers(1, {
      watch: (n) => (n === 1 ? brokenAtOnce(() => (failedAt = performance.now())) : undefined),
    })) as [HealthServer];
    const { channel, client } = checkedChannel(over([server]));
    await server.watchCount(2);
    const retriedAfter = performance.now() - failedAt;
    expect(retriedAfter).toBeGreaterThanOrEqual(700); // 1 s ± 20 %, give or take the timer
    await allServing(channel, 1);
    expect(await answers(client, 1)).toEqual([server.address]);
  });
});

/** Fails the stream before any answer. */
// biome-ignore lint/correctness/useYield: a stream that ends before its first message
async function* brokenAtOnce(failed: () => void) {
  failed();
  throw new ServerError(Status.UNAVAILABLE, 'health service not ready');
}
