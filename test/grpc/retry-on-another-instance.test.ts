import { ClientError, createChannel, createClientFactory, Metadata, Status } from 'nice-grpc';
import { BehaviorSubject } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import type { BalancedChannelOptions } from '../../src/grpc/options.js';
import { retryOnAnotherInstance } from '../../src/grpc/retry-on-another-instance.js';
import { instanceFromAddress } from '../../src/instance.js';
import type { Picker } from '../../src/picker.js';
import { type EchoReply, type EchoRequest, EchoService } from '../support/echo-service.js';
import { tally, useEchoServers } from '../support/fixture.js';
import { roundRobinPicker } from '../support/pickers.js';
import { allReady } from '../support/ready.js';

const fixture = useEchoServers(3);
const unavailable = { failWith: Status.UNAVAILABLE } as const;

async function setup(
  options?: Parameters<typeof retryOnAnotherInstance>[0],
  channelOptions: BalancedChannelOptions = { name: 'echo' },
) {
  const picker$ = new BehaviorSubject(roundRobinPicker(fixture.addresses()));
  const channel = fixture.channel(picker$, channelOptions);
  await allReady(channel);
  return createClientFactory().use(retryOnAnotherInstance(options)).create(EchoService, channel);
}

const received = () => [0, 1, 2].map((i) => fixture.server(i).received);

/**
 * A policy that ignores `backends` (which `src/picker.ts` allows: the channel then chooses):
 * the first member, always. Every call's first attempt goes to server 0.
 */
function stubbornPicker(addresses: readonly string[]): Picker {
  const instances = addresses.map(instanceFromAddress);
  return { instances, pick: () => instances[0] };
}

/** A client whose calls all go first to server 0; no outlier detection to pass over it. */
async function stubbornSetup(options?: Parameters<typeof retryOnAnotherInstance>[0]) {
  const picker$ = new BehaviorSubject(stubbornPicker(fixture.addresses()));
  const channel = fixture.channel(picker$, { name: 'echo', outlierDetection: false });
  await allReady(channel);
  return createClientFactory().use(retryOnAnotherInstance(options)).create(EchoService, channel);
}

async function collect<T>(iterable: AsyncIterable<T>, into: T[] = []): Promise<T[]> {
  for await (const item of iterable) into.push(item);
  return into;
}

describe('retryOnAnotherInstance', () => {
  it('costs no failed call when one of three servers is killed under steady traffic', async () => {
    const client = await setup();
    const victim = fixture.server(1);
    fixture.server(0).release();
    fixture.server(2).release();
    const trailers: Metadata[] = [];
    const onTrailer = (trailer: Metadata) => trailers.push(trailer);
    // One call per server that waits there: the victim's is in flight when it dies.
    const held = Promise.all(
      [0, 1, 2].map(() => client.unary({ text: '', hold: true }, { onTrailer })),
    );
    await vi.waitFor(() => expect(victim.held).toBe(1));

    const errors: unknown[] = [];
    const replies: EchoReply[] = [];
    let afterKill = 0;
    let killed = false;
    const worker = async () => {
      while (afterKill < 300) {
        await client
          .unary({ text: '' })
          .then((reply) => replies.push(reply), errors.push.bind(errors));
        if (killed) afterKill++;
        else if (replies.length >= 100) {
          killed = true;
          victim.kill();
        }
      }
    };
    await Promise.all(Array.from({ length: 10 }, worker));

    expect(errors).toEqual([]);
    const heldReplies = await held;
    expect(heldReplies.map((reply) => reply.backend)).not.toContain(victim.address);
    expect(trailers.filter((trailer) => !trailer.has('x-served-by')).length).toBeGreaterThan(0);
    expect(replies.length).toBeGreaterThanOrEqual(400);
  });

  it('tries each instance at most once', async () => {
    const client = await setup({ maxAttempts: Number.POSITIVE_INFINITY });
    const error = await client.unary({ text: '', ...unavailable }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({ code: Status.UNAVAILABLE, details: /asked to fail by/ });
    expect(received()).toEqual([1, 1, 1]);
  });

  it('stops after maxAttempts, and after one attempt when a call says maxInstanceAttempts: 1', async () => {
    const client = await setup({ maxAttempts: 2 });
    await expect(client.unary({ text: '', ...unavailable })).rejects.toThrow(/UNAVAILABLE/);
    expect(received()).toEqual([1, 1, 0]);
    const once = client.unary({ text: '', ...unavailable }, { maxInstanceAttempts: 1 });
    await expect(once).rejects.toThrow(/UNAVAILABLE/);
    expect(received()).toEqual([1, 1, 1]);
  });

  it('does not retry other status codes', async () => {
    const client = await setup();
    const call = client.unary({ text: '', failWith: Status.INTERNAL });
    await expect(call).rejects.toMatchObject({ code: Status.INTERNAL });
    expect(received()).toEqual([1, 0, 0]);
  });

  it('retries a server stream that failed before its first message', async () => {
    const client = await setup();
    const request = { text: 's', count: 2, ...unavailable, failOn: fixture.server(0).address };
    const replies = await collect(client.serverStream(request));
    expect(replies.map((reply) => [reply.text, reply.backend])).toEqual([
      ['s#0', fixture.server(1).address],
      ['s#1', fixture.server(1).address],
    ]);
  });

  it('never retries a server stream that delivered a message', async () => {
    const client = await setup();
    const victim = fixture.server(0);
    const replies: EchoReply[] = [];
    const stream = collect(
      client.serverStream({ text: 's', count: 2, holdAfterFirst: true }),
      replies,
    );
    await vi.waitFor(() => expect(victim.held).toBe(1));
    victim.kill();
    await expect(stream).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    expect(replies.map((reply) => reply.text)).toEqual(['s#0']);
    expect(received()).toEqual([1, 0, 0]);
  });

  it('never retries client-streaming calls', async () => {
    const client = await setup();
    async function* requests(): AsyncIterable<EchoRequest> {
      yield { text: '', ...unavailable };
    }
    await expect(client.clientStream(requests())).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
    });
    expect(received()).toEqual([1, 0, 0]);
  });

  it('stops when the caller aborts', async () => {
    const client = await setup();
    const abort = new AbortController();
    const call = client.unary({ text: '', hold: true }, { signal: abort.signal });
    await vi.waitFor(() => expect(fixture.server(0).held).toBe(1));
    abort.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    expect(received()).toEqual([1, 0, 0]);
  });

  it('keeps its metadata to itself: servers, callers and their metadata never see it', async () => {
    const client = await setup();
    const metadata = Metadata({ 'x-trace': 'abc' });
    const trailers: Metadata[] = [];
    const request = { text: '', ...unavailable, failOn: fixture.server(0).address };
    const reply = await client.unary(request, { metadata, onTrailer: (t) => trailers.push(t) });
    expect(reply.metadataKeys).toContain('x-trace');
    expect(reply.metadataKeys.filter((key) => key.startsWith('rxlb-'))).toEqual([]);
    expect(trailers).toHaveLength(2);
    for (const trailer of trailers)
      expect([...trailer].map(([key]) => key)).not.toContain('rxlb-backend');
    expect([...metadata].map(([key]) => key)).toEqual(['x-trace']);
  });

  it('spreads retried traffic evenly over the instances left', async () => {
    const client = await setup();
    const request = { text: '', ...unavailable, failOn: fixture.server(0).address };
    const replies = await Promise.all(Array.from({ length: 30 }, () => client.unary(request)));
    const counts = tally(replies);
    expect(counts.get(fixture.server(0).address)).toBeUndefined();
    expect(counts.get(fixture.server(1).address)).toBe(15);
    expect(counts.get(fixture.server(2).address)).toBe(15);
  });

  it('never sends a retry back to the instance it failed on, under a policy that ignores `backends`', async () => {
    const client = await stubbornSetup({ maxAttempts: 3, initialBackoff: 0 });
    const failOn = fixture.server(0).address;
    const replies = [];
    for (let i = 0; i < 6; i++)
      replies.push(await client.unary({ text: '', ...unavailable, failOn }));
    expect(replies.map((reply) => reply.backend)).not.toContain(failOn);
    expect(received()[0]).toBe(6); // one attempt per call, never a second
  });

  it('waits for an instance still connecting when it has tried every connected one, and is served there', async () => {
    const [a, b] = [fixture.server(0), fixture.server(1)];
    b.holdConnections = true; // b stays CONNECTING until let through
    const picker$ = new BehaviorSubject(roundRobinPicker([a.address, b.address]));
    const channel = fixture.channel(picker$, { name: 'echo', outlierDetection: false });
    const stateOf = (address: string) =>
      channel.backends().find((backend) => backend.instance.address === address)?.state;
    await vi.waitFor(() => {
      expect(stateOf(a.address)).toBe('READY');
      expect(stateOf(b.address)).toBe('CONNECTING');
    });
    const client = createClientFactory()
      .use(retryOnAnotherInstance({ initialBackoff: 0 }))
      .create(EchoService, channel);
    const call = client.unary(
      { text: '', ...unavailable, failOn: a.address },
      { signal: AbortSignal.timeout(5_000) },
    );
    await vi.waitFor(() => expect(a.received).toBe(1));
    // the retry is picked now: nothing untried is connected, and b is still connecting
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stateOf(b.address)).toBe('CONNECTING');
    b.holdConnections = false;
    await expect(call).resolves.toMatchObject({ backend: b.address });
    expect([a.received, b.received]).toEqual([1, 1]);
  });

  it('waits a backoff drawn anew for each retry, up to its cap: calls that fail together do not retry together', async () => {
    const client = await stubbornSetup({ initialBackoff: 400, maxBackoff: 400 });
    const failOn = fixture.server(0).address;
    const took = await Promise.all(
      Array.from({ length: 16 }, async () => {
        const start = performance.now();
        await client.unary({ text: '', ...unavailable, failOn });
        return performance.now() - start;
      }),
    );
    // A timer never fires early: without jitter every call takes the whole 400 ms. 16 draws
    // from [0, 400) ms all above 200 ms: a chance of 1.5e-5; all within 100 ms of each other:
    // about 1e-8. A busy machine delays calls (the fastest would need 200 ms more to fail the
    // first check) and can bunch them (by far less than the 300 ms the second leaves it).
    expect(Math.min(...took)).toBeLessThan(400);
    expect(Math.max(...took) - Math.min(...took)).toBeGreaterThan(100);
    expect(Math.max(...took)).toBeLessThan(400 + 600); // the cap, and a loaded machine's slack
    expect(received()[0]).toBe(16);
  });

  it('never retries on a channel that is not balanced by rxlb', async () => {
    const channel = createChannel(fixture.server(0).address);
    const client = createClientFactory().use(retryOnAnotherInstance()).create(EchoService, channel);
    try {
      await expect(client.unary({ text: '', ...unavailable })).rejects.toThrow(/UNAVAILABLE/);
      expect(received()).toEqual([1, 0, 0]);
    } finally {
      channel.close();
    }
  });

  it('says once, as a process warning, that it cannot retry on a channel not balanced by rxlb', async () => {
    const warnings: Error[] = [];
    const listen = (warning: Error) => warnings.push(warning);
    process.on('warning', listen);
    const channel = createChannel(fixture.server(0).address);
    const client = createClientFactory().use(retryOnAnotherInstance()).create(EchoService, channel);
    try {
      await client.unary({ text: 'a' });
      await expect(client.unary({ text: '', ...unavailable })).rejects.toThrow(/UNAVAILABLE/);
      await client.unary({ text: 'b' });
      await vi.waitFor(() => expect(warnings).toHaveLength(1));
      expect(warnings[0]).toMatchObject({ name: 'RxlbWarning', code: 'RXLB_RETRY_NOT_BALANCED' });
      expect(warnings[0]?.message).toMatch(
        /^retryOnAnotherInstance\(\): \/rxlb\.test\.Echo\/Unary went out on a channel that is not rxlb's balanced channel .*createBalancedChannel\(\)/,
      );
      // on rxlb's channel, never
      const balanced = await setup();
      await balanced.unary({ text: 'c' });
      await expect(balanced.unary({ text: '', ...unavailable })).rejects.toThrow(/UNAVAILABLE/);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toHaveLength(1);
    } finally {
      process.off('warning', listen);
      channel.close();
    }
  });

  describe('its retry budget', () => {
    it('keeps a storm within 1 + retryRatio attempts per call when every instance fails', async () => {
      const client = await setup({
        retryBudget: { retryRatio: 0.2, minRetriesPerSecond: 0, ttl: '1h' },
      });
      const errors: unknown[] = [];
      for (let i = 0; i < 100; i++)
        await client.unary({ text: '', ...unavailable }).catch((e) => errors.push(e));
      expect(errors).toHaveLength(100);
      // without a budget: 3 attempts per call, 300
      expect(received().reduce((sum, n) => sum + n, 0)).toBe(120);
    });

    it('allows minRetriesPerSecond × ttl retries beyond the ratio, for a client with little traffic', async () => {
      const client = await setup({
        retryBudget: { retryRatio: 0, minRetriesPerSecond: 0.1, ttl: '50s' },
      });
      for (let i = 0; i < 6; i++)
        await client.unary({ text: '', ...unavailable }).catch(() => undefined);
      expect(received().reduce((sum, n) => sum + n, 0)).toBe(6 + 5);
    });

    it('fails a call whose retry it refuses with the error of its attempt', async () => {
      const client = await setup({ retryBudget: { retryRatio: 0, minRetriesPerSecond: 0 } });
      const error = await client.unary({ text: '', ...unavailable }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: Status.UNAVAILABLE, details: /asked to fail by/ });
      expect(received().reduce((sum, n) => sum + n, 0)).toBe(1);
    });

    it('still saves the calls of one failing instance of three with the default budget', async () => {
      const client = await setup();
      const failOn = fixture.server(1).address;
      const errors: unknown[] = [];
      for (let i = 0; i < 60; i++) {
        await client.unary({ text: '', ...unavailable, failOn }).catch((e) => errors.push(e));
      }
      expect(errors).toEqual([]);
    });

    it('is off with retryBudget: false: every call retries up to maxAttempts', async () => {
      // outlier detection off: it would eject one, leaving two instances to try
      const client = await setup(
        { retryBudget: false, initialBackoff: 0 },
        { name: 'echo', outlierDetection: false },
      );
      for (let i = 0; i < 40; i++)
        await client.unary({ text: '', ...unavailable }).catch(() => undefined);
      expect(received().reduce((sum, n) => sum + n, 0)).toBe(120);
    });
  });

  it('rejects bad retry options with a TypeError naming the option', () => {
    const bad = (options: object) => () => retryOnAnotherInstance(options as never);
    expect(bad({ retryBudget: { retryRatio: -1 } })).toThrow(/"retryBudget.retryRatio"/);
    expect(bad({ retryBudget: { ttl: '10 s' } })).toThrow(/"retryBudget.ttl"/);
    expect(bad({ retryBudget: { ratio: 0.2 } })).toThrow(/unknown option "retryBudget.ratio"/);
    expect(bad({ retryBudget: true })).toThrow(/"retryBudget" must be an object/);
    expect(bad({ initialBackoff: -1 })).toThrow(/"initialBackoff"/);
    expect(bad({ backoffMultiplier: 0.5 })).toThrow(/"backoffMultiplier"/);
  });
});
