/**
 * What the balanced channel's picker does when a retry of {@link retryOnAnotherInstance} has
 * no usable instance left to try: it waits for an instance still connecting (or still waiting
 * for its health service's first answer), and otherwise fails at once, DROP (so that even a
 * `waitForReady` call ends), with a message that says what was tried. And what it does with a
 * policy that returns something other than a usable member: the channel rotates over the
 * usable ones itself.
 */
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import { Metadata, status } from '@grpc/grpc-js';
import { createClient, createClientFactory, Status } from 'nice-grpc';
import { BehaviorSubject } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ATTEMPT_KEY, closeAttemptLog, openAttemptLog } from '../../src/grpc/attempts.js';
import type { BalancedChannel } from '../../src/grpc/balanced-channel.js';
import { retryOnAnotherInstance } from '../../src/grpc/retry-on-another-instance.js';
import { instanceFromAddress } from '../../src/instance.js';
import type { Picker } from '../../src/picker.js';
import { EchoService } from '../support/echo-service.js';
import { useEchoServers } from '../support/fixture.js';
import { grpcJsUnary } from '../support/grpc-js-client.js';
import { useHealthChecks } from '../support/health-checks.js';
import { startHealthServer } from '../support/health-server.js';
import { testMeters } from '../support/metrics.js';
import { freePort } from '../support/net.js';
import { roundRobinPicker } from '../support/pickers.js';

const fixture = useEchoServers(3);
const health = useHealthChecks();
const unavailable = { failWith: Status.UNAVAILABLE } as const;

/**
 * A TCP listener in front of `target` that accepts connections but holds them, so that a
 * gRPC client stays CONNECTING (it waits for the server's HTTP/2 settings), until `open()`
 * pipes them (and the next ones) through to `target`.
 */
async function startGate(target: string) {
  const sockets = new Set<Socket>();
  let open = false;
  const pipe = (socket: Socket) => {
    const [host, port] = target.split(':') as [string, string];
    const upstream = connect(Number(port), host);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
  };
  const tcp: NetServer = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (open) pipe(socket);
    else socket.pause();
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(tcp.address() as { port: number }).port}`;
  return {
    address,
    get held() {
      return sockets.size;
    },
    open() {
      open = true;
      for (const socket of sockets) {
        pipe(socket);
        socket.resume();
      }
    },
    stop() {
      tcp.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

const gates: { stop(): void }[] = [];
afterEach(() => {
  for (const gate of gates.splice(0)) gate.stop();
});

/** A picker whose `pick()` returns `choose(instances)`, whatever the usable backends. */
function pickerThat(
  addresses: readonly string[],
  choose: (instances: readonly ReturnType<typeof instanceFromAddress>[]) => unknown,
): Picker {
  const instances = addresses.map(instanceFromAddress);
  return { instances, pick: () => choose(instances) as never };
}

async function until(channel: BalancedChannel, states: string[]): Promise<void> {
  await vi.waitFor(() => expect(channel.backends().map((b) => b.state)).toEqual(states), {
    timeout: 10_000,
    interval: 10,
  });
}

const retrying = (channel: BalancedChannel) =>
  createClientFactory()
    .use(retryOnAnotherInstance({ maxAttempts: Number.POSITIVE_INFINITY, initialBackoff: 0 }))
    .create(EchoService, channel);

describe('a retry with no usable instance left', () => {
  it('waits for an instance it has not tried that is still connecting, and is served there', async () => {
    const [s0] = [fixture.server(0)];
    const late = fixture.server(1);
    const gate = await startGate(late.address);
    gates.push(gate);
    const picker$ = new BehaviorSubject(roundRobinPicker([s0.address, gate.address]));
    const channel = fixture.channel(picker$, { name: 'echo', outlierDetection: false });
    await until(channel, ['READY', 'CONNECTING']);
    const client = retrying(channel);

    const call = client.unary(
      { text: 'late', ...unavailable, failOn: s0.address },
      { signal: AbortSignal.timeout(8_000) },
    );
    await vi.waitFor(() => expect(s0.received).toBe(1));
    // the retry waits in the channel: nothing fails it while the gate holds the connection
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(late.received).toBe(0);
    gate.open();
    const reply = await call;
    expect([reply.text, reply.backend]).toEqual(['late', late.address]);
    expect([s0.received, late.received]).toEqual([1, 1]);
  });

  it('waits for an instance it has not tried whose health service has not answered yet, and is served once it says SERVING', async () => {
    const s0 = fixture.server(0); // no health service: UNIMPLEMENTED, so it takes calls
    let answer: (() => void) | undefined;
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    const checked = await startHealthServer({
      async *watch(_n, _request, context) {
        await answered;
        yield { status: 1 }; // SERVING
        await new Promise((resolve) => context.signal.addEventListener('abort', resolve));
      },
    });
    health.defer(() => checked.stop());
    const picker$ = new BehaviorSubject(roundRobinPicker([s0.address, checked.address]));
    const { channel } = health.checkedChannel(picker$, {
      healthCheck: {},
      outlierDetection: false,
    });
    await vi.waitFor(
      () =>
        expect(channel.backends().map((b) => [b.state, b.health])).toEqual([
          ['READY', 'UNIMPLEMENTED'],
          ['READY', 'PENDING'],
        ]),
      { timeout: 10_000, interval: 10 },
    );
    const client = retrying(channel);
    const call = client.unary(
      { text: 'checked', ...unavailable, failOn: s0.address },
      { signal: AbortSignal.timeout(8_000) },
    );
    await vi.waitFor(() => expect(s0.received).toBe(1));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(checked.calls).toBe(0);
    answer?.();
    const reply = await call;
    expect([reply.text, reply.backend]).toEqual(['checked', checked.address]);
  });

  it('fails at once with the error of its last attempt when the instances it has not tried are unreachable or not serving', async () => {
    const s0 = fixture.server(0);
    const refused = `127.0.0.1:${await freePort()}`;
    const notServing = await startHealthServer();
    health.defer(() => notServing.stop());
    notServing.health.setStatus('unhealthy');
    const picker$ = new BehaviorSubject(
      roundRobinPicker([s0.address, refused, notServing.address]),
    );
    const { channel } = health.checkedChannel(picker$, {
      healthCheck: {},
      outlierDetection: false,
    });
    await vi.waitFor(
      () =>
        expect(channel.backends().map((b) => [b.state, b.health])).toEqual([
          ['READY', 'UNIMPLEMENTED'],
          ['TRANSIENT_FAILURE', 'PENDING'],
          ['READY', 'NOT_SERVING'],
        ]),
      { timeout: 10_000, interval: 10 },
    );
    const client = retrying(channel);
    const error = await client
      .unary(
        { text: '', ...unavailable, failOn: s0.address },
        { signal: AbortSignal.timeout(5_000) },
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: Status.UNAVAILABLE,
      details: `asked to fail by ${s0.address}`,
    });
    expect([s0.received, notServing.calls]).toEqual([1, 0]);
  });
});

/**
 * The channel's side of the attempt log (src/grpc/attempts.ts), which a middleware of another
 * copy of rxlb also speaks: a call whose log lists every instance, or every connected one,
 * fails with DROP (a `waitForReady` call too) and says why.
 */
describe('a call whose attempt log leaves no instance to try', () => {
  async function callWith(channel: BalancedChannel, tried: readonly string[]) {
    const log = openAttemptLog();
    for (const address of tried) log.tried.add(address);
    const metadata = new Metadata();
    metadata.set(ATTEMPT_KEY, log.token);
    try {
      return await grpcJsUnary(
        channel,
        { text: '' },
        { metadata, waitForReady: true, deadline: Date.now() + 5_000 },
      ).catch((e: unknown) => e);
    } finally {
      closeAttemptLog(log);
    }
  }

  it('fails, waitForReady or not, saying every instance was already tried (one still connecting too), and which', async () => {
    const [a, b] = fixture.addresses() as [string, string];
    const gate = await startGate(fixture.server(2).address);
    gates.push(gate);
    const channel = fixture.channel(new BehaviorSubject(roundRobinPicker([a, b, gate.address])));
    await until(channel, ['READY', 'READY', 'CONNECTING']);
    const tried = [b, gate.address, a];
    expect(await callWith(channel, tried)).toMatchObject({
      code: status.UNAVAILABLE,
      details: `every instance of "echo" was already tried (${tried.join(', ')})`,
    });
    expect(fixture.addresses().map((_, i) => fixture.server(i).received)).toEqual([0, 0, 0]);
  });

  it('fails, waitForReady or not, saying no instance it has not tried is connected', async () => {
    const s0 = fixture.server(0);
    const refused = `127.0.0.1:${await freePort()}`;
    const channel = fixture.channel(new BehaviorSubject(roundRobinPicker([s0.address, refused])));
    await until(channel, ['READY', 'TRANSIENT_FAILURE']);
    expect(await callWith(channel, [s0.address])).toMatchObject({
      code: status.UNAVAILABLE,
      details: `no instance of "echo" that this call has not tried (${s0.address}) is connected`,
    });
    expect(s0.received).toBe(0);
  });
});

describe('a policy that returns something other than a usable member', () => {
  const backendsOf = async (channel: BalancedChannel, n: number) => {
    const client = createClient(EchoService, channel);
    const served: string[] = [];
    for (let i = 0; i < n; i++) served.push((await client.unary({ text: '' })).backend);
    return served;
  };

  it('has the channel rotate over the usable backends in their order, when it returns nothing', async () => {
    const [a, b, c] = fixture.addresses() as [string, string, string];
    const picker$ = new BehaviorSubject(pickerThat([a, b, c], () => undefined));
    const channel = fixture.channel(picker$);
    await until(channel, ['READY', 'READY', 'READY']);
    expect(await backendsOf(channel, 7)).toEqual([b, c, a, b, c, a, b]);
  });

  it('has the channel rotate over the usable backends, when it returns a member that is not connected', async () => {
    const [a, b] = fixture.addresses() as [string, string];
    const refused = `127.0.0.1:${await freePort()}`;
    const picker$ = new BehaviorSubject(pickerThat([refused, a, b], (instances) => instances[0]));
    const channel = fixture.channel(picker$);
    await until(channel, ['TRANSIENT_FAILURE', 'READY', 'READY']);
    expect(await backendsOf(channel, 5)).toEqual([b, a, b, a, b]);
  });

  it('has the channel rotate over the usable backends, when it returns an instance that is no member', async () => {
    const [a, b] = fixture.addresses() as [string, string];
    const stranger = instanceFromAddress('127.0.0.1:1');
    const picker$ = new BehaviorSubject(pickerThat([a, b], () => stranger));
    const channel = fixture.channel(picker$);
    await until(channel, ['READY', 'READY']);
    expect(await backendsOf(channel, 4)).toEqual([b, a, b, a]);
  });
});

describe('the usable backends a policy is handed', () => {
  it('are the same array from call to call under retryOnAnotherInstance, as without it', async () => {
    const addresses = fixture.addresses();
    const seen = new Set<unknown>();
    const instances = addresses.map(instanceFromAddress);
    const picker: Picker = {
      instances,
      pick: (backends) => {
        seen.add(backends?.usable);
        return backends?.usable[0]?.instance;
      },
    };
    const channel = fixture.channel(new BehaviorSubject(picker));
    await until(channel, ['READY', 'READY', 'READY']);
    const client = retrying(channel);
    for (let i = 0; i < 3; i++) await client.unary({ text: '' });
    expect(seen.size).toBe(1);
  });
});

describe('calls that find no backend', () => {
  it('are counted as calls without a backend when they fail, not while a waitForReady call waits', async () => {
    const meters = testMeters();
    try {
      const refused = `127.0.0.1:${await freePort()}`;
      const channel = fixture.channel(new BehaviorSubject(roundRobinPicker([refused])), {
        name: 'echo',
        meterProvider: meters.meterProvider,
      });
      await until(channel, ['TRANSIENT_FAILURE']);
      const count = () => meters.total('rxlb.client.calls_without_backend');
      await expect(grpcJsUnary(channel, { text: '' })).rejects.toMatchObject({
        code: status.UNAVAILABLE,
      });
      expect(await count()).toBe(1);
      await expect(
        grpcJsUnary(channel, { text: '' }, { waitForReady: true, deadline: Date.now() + 1_000 }),
      ).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
      expect(await count()).toBe(1);
    } finally {
      await meters.shutdown();
    }
  });
});
