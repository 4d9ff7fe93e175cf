/**
 * Client-side health checking (gRFC A17) on real servers on loopback, whose health service is
 * nice-grpc-server-health's, as `registerInstance()`'s servers have it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { type Client, createClient, ServerError, Status } from 'nice-grpc';
import { BehaviorSubject, type Observable, ReplaySubject, share } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import { registerInstance } from '../../src/consul/register-instance.js';
import { type BalancedChannel, createBalancedChannel } from '../../src/grpc/balanced-channel.js';
import type { HealthEvent } from '../../src/grpc/health-watch.js';
import type { BalancedChannelOptions } from '../../src/grpc/options.js';
import { diff } from '../../src/operators/diff.js';
import { roundRobin } from '../../src/operators/round-robin.js';
import type { BackendHealth, Picker } from '../../src/picker.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { EchoService } from '../support/echo-service.js';
import { grpcJsUnary } from '../support/grpc-js-client.js';
import {
  type HealthServer,
  type HealthServerOptions,
  startHealthServers,
} from '../support/health-server.js';
import { roundRobinPicker } from '../support/pickers.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const Unary = { unary: EchoService.unary };
type UnaryClient = Client<typeof Unary>;

async function servers(n: number, options?: HealthServerOptions): Promise<HealthServer[]> {
  const started = await startHealthServers(n, options);
  for (const server of started) cleanup.push(() => server.stop());
  return started;
}

/** A channel over `picker$` that checks health, its client, and the health events it told. */
function checkedChannel(
  picker$: Observable<Picker>,
  options: Omit<BalancedChannelOptions, 'name'> = { healthCheck: {} },
) {
  const events: (HealthEvent & { at: number })[] = [];
  const healthCheck = options.healthCheck;
  const channel = createBalancedChannel(picker$, {
    name: 'echo',
    ...options,
    ...(healthCheck !== undefined && {
      healthCheck: healthCheck && {
        ...healthCheck,
        onHealthChange: (event) => events.push({ ...event, at: performance.now() }),
      },
    }),
  });
  cleanup.push(() => channel.close());
  const client: UnaryClient = createClient(Unary, channel);
  return { channel, client, events };
}

const over = (list: readonly HealthServer[]) =>
  new BehaviorSubject(roundRobinPicker(list.map((server) => server.address)));

/** The health of each backend of `channel`, by address. */
function healthOf(channel: BalancedChannel): Record<string, BackendHealth> {
  return Object.fromEntries(channel.backends().map((b) => [b.instance.address, b.health]));
}

async function allServing(channel: BalancedChannel, count: number): Promise<void> {
  await vi.waitFor(() => {
    const backends = channel.backends();
    expect(backends).toHaveLength(count);
    expect(backends.every((b) => b.state === 'READY' && b.health === 'SERVING')).toBe(true);
  });
}

/** Who answered `n` calls, one after the other. */
async function answers(client: UnaryClient, n: number): Promise<string[]> {
  const backends: string[] = [];
  for (let i = 0; i < n; i++) backends.push((await client.unary({ text: `${i}` })).backend);
  return backends;
}

/**
 * `callers` callers sending call after call until `stop()`, each call recorded with when it
 * went out; `inFlight` counts the calls sent and not answered.
 */
function traffic(client: UnaryClient, callers = 4) {
  const calls: { startedAt: number; backend: string }[] = [];
  let running = true;
  let inFlight = 0;
  const caller = async () => {
    while (running) {
      const startedAt = performance.now();
      inFlight++;
      try {
        const { backend } = await client.unary({ text: '' });
        calls.push({ startedAt, backend });
      } finally {
        inFlight--;
      }
    }
  };
  const done = Promise.all(Array.from({ length: callers }, caller));
  return {
    calls,
    get inFlight() {
      return inFlight;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

describe('client-side health checking (gRFC A17)', () => {
  it('NOT_SERVING takes a backend out of picking while Consul still lists it; SERVING brings it back within 1 s', async () => {
    const consul = await new ConsulTestServer().start();
    cleanup.push(() => consul.stop());
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
      cleanup.push(() => registration.deregister());
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
    cleanup.push(() => watcher.unsubscribe());
    const { channel, client, events } = checkedChannel(picker$);
    await allServing(channel, 3);
    const [sick, ...others] = fleet as [HealthServer, ...HealthServer[]];
    const load = traffic(client);
    cleanup.push(() => load.stop());

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

  it('lets calls made before the first answer wait for it, and sends them once the backends answer', async () => {
    const fleet = await servers(2, {
      // every server answers its first Watch 300 ms late
      watch: (n, _request, context) => (n === 1 ? lateServing(300, context.signal) : undefined),
    });
    const { channel, client } = checkedChannel(over(fleet));
    const replies = Promise.all([0, 1, 2, 3].map((i) => client.unary({ text: `${i}` })));
    await vi.waitFor(() => {
      const backends = channel.backends();
      expect(backends.map((b) => `${b.state} ${b.health}`)).toEqual([
        'READY PENDING',
        'READY PENDING',
      ]);
    });
    expect(fleet.map((server) => server.calls)).toEqual([0, 0]);
    // not UNAVAILABLE, without waitForReady: they waited, and went to the first that answered
    const answered = await replies;
    const addresses = fleet.map((server) => server.address);
    for (const { backend } of answered) expect(addresses).toContain(backend);
  });

  it('keeps a server without a health service (UNIMPLEMENTED) serving, and logs it once per channel', async () => {
    const logged: string[] = [];
    grpc.setLogger({ error: (...args: unknown[]) => logged.push(args.join(' ')) });
    cleanup.push(() => grpc.setLogger(console));
    const fleet = await servers(2, { health: false });
    const { channel, client, events } = checkedChannel(over(fleet));
    await vi.waitFor(() => {
      expect(Object.values(healthOf(channel))).toEqual(['UNIMPLEMENTED', 'UNIMPLEMENTED']);
    });
    expect(new Set(await answers(client, 4))).toEqual(new Set(fleet.map((s) => s.address)));
    const lines = logged.filter((line) => line.includes('UNIMPLEMENTED'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/health service of "echo" at 127\.0\.0\.1:\d+ is UNIMPLEMENTED/);
    expect(events.map((e) => e.health)).toEqual(['UNIMPLEMENTED', 'UNIMPLEMENTED']);
  });

  it('opens a broken Watch again at once after an answer, and the backend keeps serving meanwhile', async () => {
    const fleet = await servers(1, {
      // the first Watch answers SERVING, then the server fails it
      watch: (n) => (n === 1 ? servingThenBroken() : undefined),
    });
    const [server] = fleet as [HealthServer];
    const { channel, client, events } = checkedChannel(over(fleet));
    await server.watchCount(2);
    await allServing(channel, 1);
    expect(await answers(client, 3)).toEqual([server.address, server.address, server.address]);
    expect(events.map((e) => `${e.previous} -> ${e.health}`)).toEqual(['PENDING -> SERVING']);
  });

  it('keeps a NOT_SERVING backend out while its broken Watch is opened again and not answered', async () => {
    const [sick] = (await servers(1, {
      // its first Watch says NOT_SERVING and breaks; the next one never answers
      watch: (n, _request, context) => (n === 1 ? notServingThenBroken() : silent(context.signal)),
    })) as [HealthServer];
    const [healthy] = (await servers(1)) as [HealthServer];
    const fleet = [sick, healthy];
    const { channel, client } = checkedChannel(over(fleet));
    await sick.watchCount(2);
    await vi.waitFor(() => expect(healthOf(channel)[healthy.address]).toBe('SERVING'));
    expect(healthOf(channel)[sick.address]).toBe('NOT_SERVING');
    expect(new Set(await answers(client, 6))).toEqual(new Set([healthy.address]));
    expect(sick.calls).toBe(0);
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

  it('fails a call at once when every connected backend is NOT_SERVING, and lets a waitForReady call wait for one', async () => {
    const fleet = await servers(2);
    const { channel, client } = checkedChannel(over(fleet));
    await allServing(channel, 2);
    for (const server of fleet) server.health.setStatus('unhealthy');
    await vi.waitFor(() => {
      expect(Object.values(healthOf(channel))).toEqual(['NOT_SERVING', 'NOT_SERVING']);
    });
    await expect(client.unary({ text: '' })).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      details: expect.stringMatching(
        /^no serving instance of "echo": each of the 2 connected says it is not serving \(127\.0\.0\.1:\d+ NOT_SERVING, 127\.0\.0\.1:\d+ NOT_SERVING\)$/,
      ),
    });
    const metadata = new grpc.Metadata({ waitForReady: true });
    const waiting = grpcJsUnary(channel, { text: '' }, { metadata });
    await sleep(50);
    const [, second] = fleet as [HealthServer, HealthServer];
    second.health.setStatus('healthy');
    expect((await waiting).backend).toBe(second.address);
  });

  it("asks about the service config's healthCheckConfig.serviceName, which turns health checking on", async () => {
    const fleet = await servers(1);
    const [server] = fleet as [HealthServer];
    const { channel, client } = checkedChannel(over(fleet), {
      channelOptions: {
        'grpc.service_config': JSON.stringify({ healthCheckConfig: { serviceName: 'echo.v1' } }),
      },
    });
    // nice-grpc-server-health knows no "echo.v1" yet
    await vi.waitFor(() => expect(healthOf(channel)[server.address]).toBe('SERVICE_UNKNOWN'));
    server.health.setStatus('healthy', 'echo.v1');
    await allServing(channel, 1);
    expect(await answers(client, 1)).toEqual([server.address]);
  });

  it('checks nothing by default, nor with healthCheck: false over a healthCheckConfig', async () => {
    const fleet = await servers(2);
    const plain = checkedChannel(over(fleet), {});
    const off = checkedChannel(over(fleet), {
      healthCheck: false,
      channelOptions: { 'grpc.service_config': JSON.stringify({ healthCheckConfig: {} }) },
    });
    for (const { channel, client } of [plain, off]) {
      await vi.waitFor(() =>
        expect(channel.backends().map((b) => b.state)).toEqual(['READY', 'READY']),
      );
      expect(Object.values(healthOf(channel))).toEqual(['UNCHECKED', 'UNCHECKED']);
      await answers(client, 2);
    }
    expect(fleet.map((server) => server.watches)).toEqual([0, 0]);
  });

  it("ends a backend's Watch when discovery drops it, and every Watch on close()", async () => {
    const fleet = await servers(2);
    const [leaving, staying] = fleet as [HealthServer, HealthServer];
    const picker$ = over(fleet);
    const { channel } = checkedChannel(picker$);
    await allServing(channel, 2);
    expect(fleet.map((server) => server.openWatches)).toEqual([1, 1]);
    picker$.next(roundRobinPicker([staying.address]));
    await vi.waitFor(() => expect(leaving.openWatches).toBe(0));
    expect(staying.openWatches).toBe(1);
    channel.close();
    await vi.waitFor(() => expect(staying.openWatches).toBe(0));
    expect(fleet.map((server) => server.watches)).toEqual([1, 1]);
  });
});

/** Says SERVING `ms` from now, then nothing until cancelled. */
async function* lateServing(ms: number, signal: AbortSignal) {
  await sleep(ms, undefined, { signal }).catch(() => {});
  yield { status: 1 };
  yield* silent(signal);
}

/** Says SERVING, then fails the stream. */
async function* servingThenBroken() {
  yield { status: 1 };
  throw new ServerError(Status.INTERNAL, 'health service broke');
}

/** Says NOT_SERVING, then fails the stream. */
async function* notServingThenBroken() {
  yield { status: 2 };
  throw new ServerError(Status.INTERNAL, 'health service broke');
}

/** Fails the stream before any answer. */
// biome-ignore lint/correctness/useYield: a stream that ends before its first message
async function* brokenAtOnce(failed: () => void) {
  failed();
  throw new ServerError(Status.UNAVAILABLE, 'health service not ready');
}

/** Answers nothing until cancelled. */
async function* silent(signal: AbortSignal) {
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  if (signal.aborted) return;
  yield { status: 0 };
}
