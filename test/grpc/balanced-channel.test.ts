import { connectivityState, Metadata } from '@grpc/grpc-js';
import fc from 'fast-check';
import { createClient, Status } from 'nice-grpc';
import { BehaviorSubject, Subject } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { type BalancedChannel, createBalancedChannel } from '../../src/grpc/balanced-channel.js';
import type { Picker } from '../../src/picker.js';
import { EchoService } from '../support/echo-service.js';
import { tally, useEchoServers } from '../support/fixture.js';
import { grpcJsUnary } from '../support/grpc-js-client.js';
import { roundRobinPicker } from '../support/pickers.js';
import { allReady } from '../support/ready.js';
import { runs } from '../support/runs.js';

const fixture = useEchoServers(3);

function setup<S extends Subject<Picker>>(picker$: S) {
  const channel = fixture.channel(picker$);
  return { picker$, channel, client: createClient(EchoService, channel) };
}

const allThree = () => new BehaviorSubject(roundRobinPicker(fixture.addresses()));

/** A channel over the three servers, once all are connected: round robin is then exact. */
async function connected() {
  const setUp = setup(allThree());
  await allReady(setUp.channel);
  return setUp;
}

function stateOf(channel: BalancedChannel, address: string) {
  return channel.backends().find((backend) => backend.instance.address === address)?.state;
}

const addressesOf = (channel: BalancedChannel) =>
  channel.backends().map((backend) => backend.instance.address);

describe('createBalancedChannel: picking', () => {
  it('spreads 300 calls over 3 backends exactly 100 each', async () => {
    const { client } = await connected();
    const replies = await Promise.all(
      Array.from({ length: 300 }, () => client.unary({ text: '' })),
    );
    expect([...tally(replies).entries()].sort()).toEqual(
      fixture
        .addresses()
        .map((address) => [address, 100] as const)
        .sort(),
    );
  });

  it('stops calling a removed backend at once, and lets its calls in flight end', async () => {
    const { picker$, channel, client } = await connected();
    const [a, b, c] = [fixture.server(0), fixture.server(1), fixture.server(2)];
    a.release();
    b.release();
    const held = Promise.all([1, 2, 3].map(() => client.unary({ text: 'held', hold: true })));
    await vi.waitFor(() => expect(c.held).toBe(1));

    picker$.next(roundRobinPicker([a.address, b.address]));
    expect(addressesOf(channel)).toEqual([a.address, b.address]);
    const replies = await Promise.all(Array.from({ length: 20 }, () => client.unary({ text: '' })));
    expect(tally(replies).get(c.address)).toBeUndefined();

    c.release();
    expect(tally(await held).get(c.address)).toBe(1);
    channel.close();
    await vi.waitFor(() =>
      expect([a, b, c].map((server) => server.connections)).toEqual([0, 0, 0]),
    );
  });

  it('keeps one backend per address of the current picker through churn, and no more', async () => {
    // Live servers and two ports where nobody listens.
    const addresses = [...fixture.addresses(), '127.0.0.1:1', '127.0.0.1:2'];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.subarray(addresses), { maxLength: 8 }), async (sets) => {
        const picker$ = new Subject<Picker>();
        const channel = createBalancedChannel(picker$);
        try {
          for (const set of sets) {
            picker$.next(roundRobinPicker(set));
            expect(addressesOf(channel)).toEqual(set);
          }
        } finally {
          channel.close();
        }
      }),
      { numRuns: runs(20) },
    );
    const connections = () => [0, 1, 2].map((i) => fixture.server(i).connections);
    await vi.waitFor(() => expect(connections()).toEqual([0, 0, 0]));
  });

  it('keeps the connection of an address that leaves and comes back', async () => {
    const { picker$, client } = await connected();
    const [a, b] = [fixture.server(0), fixture.server(1)];
    a.release();
    const held = Promise.all([1, 2].map(() => client.unary({ text: '', hold: true })));
    await vi.waitFor(() => expect(b.held).toBe(1));
    picker$.next(roundRobinPicker([a.address]));
    picker$.next(roundRobinPicker([a.address, b.address]));
    b.release();
    await held;
    const replies = await Promise.all(Array.from({ length: 4 }, () => client.unary({ text: '' })));
    expect(tally(replies).get(b.address)).toBe(2);
    expect(b.accepted).toBe(1);
  });

  it('skips a backend whose server died, before any picker update', async () => {
    const { channel, client } = await connected();
    await Promise.all(Array.from({ length: 6 }, () => client.unary({ text: '' })));
    const dead = fixture.server(1);
    dead.kill();
    await vi.waitFor(() => expect(stateOf(channel, dead.address)).toBe('TRANSIENT_FAILURE'));
    const replies = await Promise.all(Array.from({ length: 30 }, () => client.unary({ text: '' })));
    expect(tally(replies)).toEqual(
      new Map([
        [fixture.server(0).address, 15],
        [fixture.server(2).address, 15],
      ]),
    );
  });

  it('fails a call with the last connection error once every backend failed to connect', async () => {
    const { channel, client } = await connected();
    for (let i = 0; i < 3; i++) fixture.server(i).kill();
    await vi.waitFor(() =>
      expect(channel.getConnectivityState(false)).toBe(connectivityState.TRANSIENT_FAILURE),
    );
    await expect(client.unary({ text: '' })).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      details: expect.stringMatching(
        /^no connection to any of the 3 instances of "echo"; last error: .*ECONNREFUSED/,
      ),
    });
  });
});

describe('createBalancedChannel: before and without pickers', () => {
  it('makes calls wait for the first picker', async () => {
    const { picker$, client } = setup(new Subject<Picker>());
    const reply = client.unary({ text: 'early' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(fixture.server(0).received).toBe(0);
    picker$.next(roundRobinPicker([fixture.server(0).address]));
    await expect(reply).resolves.toMatchObject({
      text: 'early',
      backend: fixture.server(0).address,
    });
  });

  it('bounds the wait for the first picker by the deadline', async () => {
    const { channel } = setup(new Subject<Picker>());
    const reply = grpcJsUnary(channel, { text: '' }, { deadline: Date.now() + 100 });
    await expect(reply).rejects.toMatchObject({ code: Status.DEADLINE_EXCEEDED });
  });

  it('cancels a call that waits for the first picker', async () => {
    const { picker$, client } = setup(new Subject<Picker>());
    const abort = new AbortController();
    const reply = client.unary({ text: '' }, { signal: abort.signal });
    abort.abort();
    await expect(reply).rejects.toMatchObject({ name: 'AbortError' });
    picker$.next(roundRobinPicker(fixture.addresses()));
    expect(fixture.server(0).received).toBe(0);
  });

  it('fails a call at once with UNAVAILABLE naming the service when the picker is empty', async () => {
    const { channel, client } = setup(new BehaviorSubject(roundRobinPicker([])));
    expect(channel.getConnectivityState(false)).toBe(connectivityState.TRANSIENT_FAILURE);
    await expect(client.unary({ text: '' })).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      details: 'no healthy instance of "echo"',
    });
  });

  it('makes a waitForReady call wait through an empty picker', async () => {
    const { picker$, channel } = setup(new BehaviorSubject(roundRobinPicker([])));
    const metadata = new Metadata({ waitForReady: true });
    const reply = grpcJsUnary(channel, { text: 'patient' }, { metadata });
    await new Promise((resolve) => setImmediate(resolve));
    picker$.next(roundRobinPicker([fixture.server(2).address]));
    await expect(reply).resolves.toMatchObject({ backend: fixture.server(2).address });
  });

  it("fails waiting and later calls with UNAVAILABLE carrying picker$'s error", async () => {
    const { picker$, client } = setup(new Subject<Picker>());
    const waiting = client.unary({ text: '' });
    picker$.error(new Error('discovery is down'));
    const failure = {
      code: Status.UNAVAILABLE,
      details: expect.stringContaining('discovery is down'),
    };
    await expect(waiting).rejects.toMatchObject(failure);
    await expect(client.unary({ text: '' })).rejects.toMatchObject(failure);
  });

  it('fails calls with a clear UNAVAILABLE while picker$ emits something that is not a Picker', async () => {
    const { picker$, client } = setup(new Subject<Picker>());
    picker$.next({ pick: 'round robin' } as unknown as Picker);
    await expect(client.unary({ text: '' })).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      details: 'picker$ of "echo" emitted object, not a Picker',
    });
    picker$.next(roundRobinPicker([fixture.server(0).address]));
    await expect(client.unary({ text: '' })).resolves.toMatchObject({
      backend: fixture.server(0).address,
    });
  });

  it('keeps using the last picker after picker$ completes', async () => {
    const { picker$, client } = await connected();
    picker$.complete();
    const replies = await Promise.all(Array.from({ length: 3 }, () => client.unary({ text: '' })));
    expect(tally(replies).size).toBe(3);
  });

  it('close() fails waiting calls and unsubscribes from picker$', async () => {
    const picker$ = new Subject<Picker>();
    const { channel, client } = setup(picker$);
    const waiting = client.unary({ text: '' });
    channel.close();
    await expect(waiting).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      details: 'Channel closed before call started',
    });
    expect(picker$.observed).toBe(false);
    expect(channel.getConnectivityState(false)).toBe(connectivityState.SHUTDOWN);
    expect(channel.backends()).toEqual([]);
    await expect(client.unary({ text: '' })).rejects.toThrow(/shut down/);
  });

  it('close() in the tick a backend lost its connection: the closed channel does not connect again', async () => {
    const { channel, client } = setup(
      new BehaviorSubject(roundRobinPicker([fixture.server(0).address])),
    );
    await client.unary({ text: '' });
    expect(fixture.server(0).accepted).toBe(1);
    // The lost connection makes the balancer ask for a new one on the next tick, then tell
    // grpc-js the channel's new state, whose watchers run at once: close() runs in that tick.
    const closed = new Promise<void>((resolve) => {
      channel.watchConnectivityState(connectivityState.READY, Number.POSITIVE_INFINITY, () => {
        channel.close();
        resolve();
      });
    });
    fixture.server(0).drop();
    await closed;
    // a reconnection, were one made, would reach the server (still listening) in milliseconds
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(fixture.server(0).accepted).toBe(1);
    expect(fixture.server(0).connections).toBe(0);
  });

  it('close() closes every backend connection once the calls in flight end', async () => {
    const { picker$, channel, client } = await connected();
    await client.unary({ text: '' });
    const held = client.unary({ text: '', hold: true });
    await vi.waitFor(() => expect(fixture.server(1).held).toBe(1));
    picker$.next(roundRobinPicker([fixture.server(0).address]));
    channel.close();
    fixture.server(1).release();
    await expect(held).resolves.toMatchObject({ backend: fixture.server(1).address });
    await vi.waitFor(() =>
      expect(fixture.addresses().map((_, i) => fixture.server(i).connections)).toEqual([0, 0, 0]),
    );
  });
});
