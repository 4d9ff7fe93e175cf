/**
 * What the balanced channel's load-balancing policy tells the channel and its callers: the
 * failures calls see (their exact messages, and whether `waitForReady` calls wait), the
 * `rxlb.reason` of the calls that found no backend, and the picker's view of usable backends,
 * which is the same array until the set of usable backends changes (src/picker.ts).
 */
import { createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { createClient, createClientFactory, Status } from 'nice-grpc';
import { BehaviorSubject, Observable } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { instance } from '../../marbles/fixtures.js';
import { type BalancedChannel, createBalancedChannel } from '../../src/grpc/balanced-channel.js';
import type { EjectionEvent } from '../../src/grpc/outlier-detection.js';
import { retryOnAnotherInstance } from '../../src/grpc/retry-on-another-instance.js';
import type { Picker } from '../../src/picker.js';
import { METRICS } from '../../src/telemetry/instruments.js';
import { startEchoServer } from '../support/echo-server.js';
import { type EchoReply, type EchoRequest, EchoService } from '../support/echo-service.js';
import { tally, useEchoServers } from '../support/fixture.js';
import { grpcJsUnary } from '../support/grpc-js-client.js';
import { manualClock } from '../support/manual-clock.js';
import { testMeters } from '../support/metrics.js';
import { freePort } from '../support/net.js';
import { recordingPicker, roundRobinPicker } from '../support/pickers.js';
import { allReady } from '../support/ready.js';

const fixture = useEchoServers(3);
let meters: ReturnType<typeof testMeters>;
const cleanup: (() => unknown)[] = [];
beforeEach(() => {
  meters = testMeters();
});
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  await meters.shutdown();
});

const waitForReady = () => new grpc.Metadata({ waitForReady: true });

/** Calls that found no backend, by `rxlb.reason`, on the channel of target `rxlb:///<name>`. */
const noBackend = (reason: string, name = 'echo') =>
  meters.total(METRICS.noBackend, { 'grpc.target': `rxlb:///${name}`, 'rxlb.reason': reason });

function stateOf(channel: BalancedChannel, address: string) {
  return channel.backends().find((backend) => backend.instance.address === address)?.state;
}

/** A TCP server that accepts connections and says nothing: grpc-js stays CONNECTING. */
async function silentServer(holdMs: number) {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    setTimeout(() => socket.destroy(), holdMs).unref();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  cleanup.push(() => {
    server.close();
    for (const socket of sockets) socket.destroy();
  });
  return address;
}

describe('the policy on a plain grpc-js channel (no picker$ behind it)', () => {
  // a balanced channel registers the rxlb policy and the rxlb: scheme with grpc-js
  beforeEach(() => createBalancedChannel(new Observable<Picker>()).close());

  const byHand = (target: string) => {
    const channel = new grpc.Channel(target, grpc.credentials.createInsecure(), {
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ rxlb: {} }] }),
    });
    cleanup.push(() => channel.close());
    return channel;
  };

  it('fails every call, waitForReady too, with "no picker$ behind this target" on an address target', async () => {
    const channel = byHand(fixture.server(0).address);
    const failure = { code: Status.UNAVAILABLE, details: 'no picker$ behind this target' };
    const deadline = Date.now() + 5_000;
    await expect(grpcJsUnary(channel, { text: '' }, { deadline })).rejects.toMatchObject(failure);
    const patient = grpcJsUnary(channel, { text: '' }, { deadline, metadata: waitForReady() });
    await expect(patient).rejects.toMatchObject(failure);
    expect(channel.getConnectivityState(true)).toBe(grpc.connectivityState.TRANSIENT_FAILURE);
    expect(fixture.server(0).received).toBe(0);
    expect(() => channel.close()).not.toThrow();
  });

  it("fails every call with the resolver's error on an rxlb: target made by hand", async () => {
    const channel = byHand('rxlb:///greeter');
    const deadline = Date.now() + 5_000;
    await expect(
      grpcJsUnary(channel, { text: '' }, { deadline, metadata: waitForReady() }),
    ).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      details: 'rxlb:///greeter: rxlb targets are made by createBalancedChannel(), not by hand',
    });
    expect(channel.getConnectivityState(true)).toBe(grpc.connectivityState.TRANSIENT_FAILURE);
  });
});

describe('the failures calls see, and their rxlb.reason', () => {
  it("fails waitForReady calls too once picker$ errors after a picker, with picker$'s error (picker-failed)", async () => {
    const picker$ = new BehaviorSubject(roundRobinPicker([fixture.server(0).address]));
    const channel = fixture.channel(picker$, { name: 'echo', meterProvider: meters.meterProvider });
    await allReady(channel);
    picker$.error(new Error('discovery is down'));
    expect(channel.getConnectivityState(false)).toBe(grpc.connectivityState.TRANSIENT_FAILURE);
    const deadline = Date.now() + 5_000;
    const call = grpcJsUnary(channel, { text: '' }, { deadline, metadata: waitForReady() });
    await expect(call).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      details: 'picker$ of "echo" failed: discovery is down',
    });
    expect(channel.backends()).toEqual([]);
    expect(await noBackend('picker-failed')).toBe(1);
  });

  it("says why discovery has no member yet, naming discovery's service (unresolved)", async () => {
    const unresolved = 'health query for "greeter" at http://127.0.0.1:8500 failed: ECONNREFUSED';
    const picker: Picker = {
      instances: [],
      pick: () => undefined,
      discovery: { service: 'greeter', unresolved },
    };
    const channel = createBalancedChannel(new BehaviorSubject(picker), {
      meterProvider: meters.meterProvider,
    });
    cleanup.push(() => channel.close());
    expect(channel.getConnectivityState(false)).toBe(grpc.connectivityState.TRANSIENT_FAILURE);
    await expect(createClient(EchoService, channel).unary({ text: '' })).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      details: `no instance of "greeter" known yet: ${unresolved}`,
    });
    expect(await noBackend('unresolved', 'unnamed')).toBe(1);
    expect(await noBackend('none', 'unnamed')).toBe(0);
  });

  it('names the last connection error after a connected member left and the one left is unreachable (unreachable)', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const live = fixture.server(0).address;
    const picker$ = new BehaviorSubject(roundRobinPicker([dead]));
    const channel = fixture.channel(picker$, {
      name: 'echo',
      meterProvider: meters.meterProvider,
      // one failure to connect, and no other during the test
      channelOptions: { 'grpc.initial_reconnect_backoff_ms': 60_000 },
    });
    await vi.waitFor(() => expect(stateOf(channel, dead)).toBe('TRANSIENT_FAILURE'));
    // a member joins, connects and leaves: its connection said nothing of an error
    picker$.next(roundRobinPicker([dead, live]));
    await vi.waitFor(() => expect(stateOf(channel, live)).toBe('READY'));
    picker$.next(roundRobinPicker([dead]));
    expect(channel.getConnectivityState(false)).toBe(grpc.connectivityState.TRANSIENT_FAILURE);
    const client = createClient(EchoService, channel);
    await expect(client.unary({ text: '' })).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      details: `no connection to the 1 instance of "echo"; last error: connect ECONNREFUSED ${dead}`,
    });
    expect(await noBackend('unreachable')).toBe(1);

    const other = `127.0.0.1:${await freePort()}`;
    picker$.next(roundRobinPicker([dead, other]));
    await vi.waitFor(() => expect(stateOf(channel, other)).toBe('TRANSIENT_FAILURE'));
    await expect(client.unary({ text: '' })).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      details: `no connection to any of the 2 instances of "echo"; last error: connect ECONNREFUSED ${other}`,
    });
  });

  it('counts a retry that tried every instance (all-tried)', async () => {
    const channel = fixture.channel(new BehaviorSubject(roundRobinPicker(fixture.addresses())), {
      name: 'echo',
      meterProvider: meters.meterProvider,
      outlierDetection: false,
    });
    await allReady(channel);
    const retry = retryOnAnotherInstance({ maxAttempts: Infinity, initialBackoff: 0 });
    const client = createClientFactory().use(retry).create(EchoService, channel);
    await expect(client.unary({ text: '', failWith: Status.UNAVAILABLE })).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      details: expect.stringMatching(/^asked to fail by 127\.0\.0\.1:\d+$/),
    });
    expect(fixture.addresses().map((a, i) => [a, fixture.server(i).received])).toEqual(
      fixture.addresses().map((a) => [a, 1]),
    );
    expect(await noBackend('all-tried')).toBe(1);
  });
});

describe("the picker's view of usable backends", () => {
  it('stays the same array while other members connect, fail and fail again, and a restarted server serves again (outlier detection off)', async () => {
    const live = fixture.server(0);
    const silent = await silentServer(1_500);
    const dead = `127.0.0.1:${await freePort()}`;
    const { picker, seen } = recordingPicker([live.address, silent, dead]);
    const channel = fixture.channel(new BehaviorSubject(picker), {
      name: 'echo',
      outlierDetection: false,
      // the dead member fails to connect again and again during the test
      channelOptions: {
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 200,
      },
    });
    const client = createClient(EchoService, channel);
    await vi.waitFor(() => expect(stateOf(channel, live.address)).toBe('READY'));
    expect(stateOf(channel, silent)).toBe('CONNECTING');
    await client.unary({ text: '' });
    await vi.waitFor(() => expect(stateOf(channel, silent)).toBe('TRANSIENT_FAILURE'), {
      timeout: 5_000,
    });
    expect(stateOf(channel, dead)).toBe('TRANSIENT_FAILURE');
    for (let i = 0; i < 8; i++) {
      expect((await client.unary({ text: '' })).backend).toBe(live.address);
      await sleep(100);
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]?.map((backend) => backend.instance.address)).toEqual([live.address]);

    // its process dies and another starts on its port: the backend reconnects
    live.stop();
    await vi.waitFor(() => expect(stateOf(channel, live.address)).not.toBe('READY'));
    const restarted = await startEchoServer(Number(live.address.split(':')[1]));
    cleanup.push(() => restarted.stop());
    await vi.waitFor(() => expect(stateOf(channel, live.address)).toBe('READY'), {
      timeout: 5_000,
    });
    expect((await client.unary({ text: '' })).backend).toBe(live.address);
  });

  it('keeps an ejected backend ejected while it is disconnected, and stays the same array when that ejection ends', async () => {
    const clock = manualClock();
    const events: EjectionEvent[] = [];
    const [a, b, c] = [0, 1, 2].map((i) => fixture.server(i).address) as [string, string, string];
    const { picker, seen } = recordingPicker([a, b, c]);
    const channel = fixture.channel(new BehaviorSubject(picker), {
      name: 'echo',
      outlierDetection: {
        consecutiveFailures: 1,
        baseEjectionTime: 10_000,
        clock,
        onEjection: (event) => events.push(event),
      },
      channelOptions: { 'grpc.initial_reconnect_backoff_ms': 60_000 },
    });
    await allReady(channel);
    const client = createClient(EchoService, channel);
    const failing = { text: '', failWith: Status.UNAVAILABLE, failOn: c };
    for (let i = 0; i < 3; i++) await client.unary(failing).catch(() => undefined);
    expect(events).toEqual([expect.objectContaining({ type: 'ejected', address: c })]);

    fixture.server(2).kill();
    await vi.waitFor(() => expect(stateOf(channel, c)).toBe('TRANSIENT_FAILURE'));
    // lost, not made again: still ejected
    expect(channel.backends().map((backend) => backend.ejected)).toEqual([false, false, true]);
    expect(events).toHaveLength(1);
    await client.unary({ text: '' });
    const views = seen.length;
    clock.advance(10_000);
    expect(events.at(-1)).toEqual({
      type: 'unejected',
      service: 'echo',
      address: c,
      reason: 'expired',
      ejections: 1,
    });
    expect(channel.backends().map((backend) => backend.ejected)).toEqual([false, false, false]);
    const replies = await Promise.all([0, 1, 2, 3].map(() => client.unary({ text: '' })));
    expect(tally(replies)).toEqual(
      new Map([
        [a, 2],
        [b, 2],
      ]),
    );
    expect(seen).toHaveLength(views);
  });

  it('sends no call to a backend the interval sweep ejected, and returns it when discovery drops it', async () => {
    const clock = manualClock();
    const events: EjectionEvent[] = [];
    const [a, b] = [0, 1].map((i) => fixture.server(i).address) as [string, string];
    const picker$ = new BehaviorSubject(roundRobinPicker([a, b]));
    const channel = fixture.channel(picker$, {
      name: 'echo',
      outlierDetection: {
        consecutiveFailures: Infinity,
        interval: 1_000,
        failurePercentageEjection: { threshold: 50, minimumHosts: 2, requestVolume: 5 },
        maxEjectionPercent: 100,
        clock,
        onEjection: (event) => events.push(event),
      },
    });
    await allReady(channel);
    const client = createClient(EchoService, channel);
    const failing = { text: '', failWith: Status.INTERNAL, failOn: a };
    for (let i = 0; i < 20; i++) await client.unary(failing).catch(() => undefined);
    clock.advance(1_000);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'ejected',
        service: 'echo',
        address: a,
        reason: 'failurePercentage',
        detail: '100 % of 10 calls failed',
      }),
    ]);
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await client.unary({ text: '' }));
    expect(tally(replies)).toEqual(new Map([[b, 6]]));

    picker$.next(roundRobinPicker([b]));
    expect(events.at(-1)).toEqual({
      type: 'unejected',
      service: 'echo',
      address: a,
      reason: 'removed',
      ejections: 1,
    });
  });

  it('returns the soonest ejected backend to picking, and counts it ready, when discovery drops a member and maxEjectionPercent would be exceeded', async () => {
    const events: EjectionEvent[] = [];
    const [a, b, c] = [0, 1, 2].map((i) => fixture.server(i).address) as [string, string, string];
    const picker$ = new BehaviorSubject(roundRobinPicker([a, b, c]));
    const clock = manualClock();
    const channel = fixture.channel(picker$, {
      name: 'echo',
      meterProvider: meters.meterProvider,
      outlierDetection: {
        consecutiveFailures: 1,
        maxEjectionPercent: 70,
        clock,
        onEjection: (event) => events.push(event),
      },
    });
    await allReady(channel);
    const client = createClient(EchoService, channel);
    for (const failOn of [a, b]) {
      const failing = { text: '', failWith: Status.UNAVAILABLE, failOn };
      for (let i = 0; i < 3; i++) await client.unary(failing).catch(() => undefined);
      clock.advance(1);
    }
    expect(channel.backends().map((backend) => backend.ejected)).toEqual([true, true, false]);

    // 2 members at 70 %: 1 ejection at most; a's ends the soonest
    picker$.next(roundRobinPicker([a, b]));
    expect(events.at(-1)).toEqual({
      type: 'unejected',
      service: 'echo',
      address: a,
      reason: 'maxEjectionPercent',
      ejections: 1,
    });
    const state = (category: string) =>
      meters.total(METRICS.backends, {
        'grpc.target': 'rxlb:///echo',
        'rxlb.backend.state': category,
      });
    expect([await state('ready'), await state('ejected')]).toEqual([1, 1]);
    const replies = await Promise.all([0, 1].map(() => client.unary({ text: '' })));
    expect(tally(replies)).toEqual(new Map([[a, 2]]));
  });
});

describe('the members the channel keeps', () => {
  it('keeps one backend per address listed twice, updates a member whose instance changed, and skips an address it cannot read', async () => {
    const [a, b] = [0, 1].map((i) => fixture.server(i).address) as [string, string];
    const picker$ = new BehaviorSubject<Picker>(roundRobinPicker([a, b, a]));
    const channel = fixture.channel(picker$);
    expect(channel.backends().map((backend) => backend.instance.address)).toEqual([a, b]);
    await allReady(channel);

    const v2 = instance(a, { meta: { version: '2' } });
    picker$.next({ instances: [v2], pick: () => v2 });
    expect(channel.backends().map((backend) => backend.instance)).toEqual([v2]);

    picker$.next(roundRobinPicker(['not an address', b]));
    expect(channel.backends().map((backend) => backend.instance.address)).toEqual([b]);
    await allReady(channel);
    const client = createClient(EchoService, channel);
    expect((await client.unary({ text: '' })).backend).toBe(b);
    channel.close();
    expect(channel.backends()).toEqual([]);
  });

  it('reports, for a member that joins before its first call, the mean latency of the members already measured', async () => {
    const [slow, joining] = [fixture.server(0), fixture.server(1)];
    slow.delayMs = 200;
    const picker$ = new BehaviorSubject(roundRobinPicker([slow.address]));
    const channel = fixture.channel(picker$);
    await createClient(EchoService, channel).unary({ text: '' });
    picker$.next(roundRobinPicker([slow.address, joining.address]));
    const [, joined] = channel.backends();
    expect(joined?.instance.address).toBe(joining.address);
    expect(joined?.latencyMs).toBeGreaterThanOrEqual(200);
  });

  it("gives each backend's connection the channel's options (its user agent)", async () => {
    const server = new grpc.Server();
    server.addService(EchoService, {
      unary: (
        call: grpc.ServerUnaryCall<EchoRequest, EchoReply>,
        callback: grpc.sendUnaryData<EchoReply>,
      ) => {
        const text = String(call.metadata.get('user-agent')[0]);
        callback(null, { text, backend: '', metadataKeys: [] });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
        error ? reject(error) : resolve(p),
      ),
    );
    cleanup.push(() => server.forceShutdown());
    const channel = fixture.channel(new BehaviorSubject(roundRobinPicker([`127.0.0.1:${port}`])), {
      name: 'echo',
      channelOptions: { 'grpc.primary_user_agent': 'rxlb-test/1.0' },
    });
    const reply = await createClient(EchoService, channel).unary({ text: '' });
    expect(reply.text).toMatch(/^rxlb-test\/1\.0 grpc-node-js\//);
  });
});
