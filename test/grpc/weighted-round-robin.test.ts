/**
 * weightedRoundRobin() as the policy of a balanced channel, with real echo servers on loopback,
 * a nice-grpc client with retryOnAnotherInstance, and outlier detection on (the default).
 */
import { createClientFactory } from 'nice-grpc';
import { of } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { instance } from '../../marbles/fixtures.js';
import type { BalancedChannel } from '../../src/grpc/balanced-channel.js';
import { retryOnAnotherInstance } from '../../src/grpc/retry-on-another-instance.js';
import { diff } from '../../src/operators/diff.js';
import { weightedRoundRobin } from '../../src/operators/weighted-round-robin.js';
import { type EchoReply, EchoService } from '../support/echo-service.js';
import { tally, useEchoServers } from '../support/fixture.js';
import { type HttpErrorServer, startHttpErrorServer } from '../support/http-error-server.js';
import { allReady } from '../support/ready.js';

const fixture = useEchoServers(3);

/** A channel over `addresses` weighted by `weights`, once all are READY, and its client. */
async function setup(addresses: readonly string[], weights: readonly number[]) {
  const members = addresses.map((address, i) => instance(address, { weight: weights[i] ?? 1 }));
  const channel = fixture.channel(of(members).pipe(diff(), weightedRoundRobin()));
  await allReady(channel);
  const client = createClientFactory().use(retryOnAnotherInstance()).create(EchoService, channel);
  /** `n` unary calls from `concurrency` callers; every reply. */
  const calls = async (n: number, concurrency = 8) => {
    const replies: EchoReply[] = [];
    let started = 0;
    const caller = async () => {
      while (started++ < n) replies.push(await client.unary({ text: '' }));
    };
    await Promise.all(Array.from({ length: concurrency }, caller));
    return replies;
  };
  return { channel, calls };
}

const usable = (channel: BalancedChannel) =>
  channel.backends().filter((backend) => backend.state === 'READY' && !backend.ejected).length;

describe('createBalancedChannel with weightedRoundRobin()', () => {
  it('sends calls 3:1 to backends weighted 3:1', async () => {
    const [a, b] = fixture.addresses();
    const { calls } = await setup([a ?? '', b ?? ''], [3, 1]);
    const counts = tally(await calls(40));
    expect([counts.get(a ?? ''), counts.get(b ?? '')]).toEqual([30, 10]);
  });

  it('loses no call when the heaviest backend dies under traffic, then shares calls by the weights left', async () => {
    const [a, b, c] = fixture.addresses();
    const { channel, calls } = await setup([a ?? '', b ?? '', c ?? ''], [3, 1, 2]);
    const before = calls(300);
    await vi.waitFor(() => expect(fixture.server(0).received).toBeGreaterThan(50));
    fixture.server(0).kill();
    expect((await before).length).toBe(300); // every call answered, through retries
    await vi.waitFor(() => expect(usable(channel)).toBe(2));
    const counts = tally(await calls(60));
    expect([counts.get(a ?? ''), counts.get(b ?? ''), counts.get(c ?? '')]).toEqual([
      undefined,
      20,
      40,
    ]);
  });
});

describe('createBalancedChannel with weightedRoundRobin() and outlier detection', () => {
  let broken: HttpErrorServer;
  beforeEach(async () => {
    broken = await startHttpErrorServer(503);
  });
  afterEach(() => broken.stop());

  it('ejects the heaviest backend when its calls keep failing, loses no call, and shares the rest by weight', async () => {
    const [a, b] = fixture.addresses();
    const { channel, calls } = await setup([broken.address, a ?? '', b ?? ''], [3, 1, 1]);
    const replies = await calls(30, 1);
    expect(replies).toHaveLength(30);
    expect(broken.received).toBe(5); // consecutiveFailures, each retried on another backend
    expect(channel.backends().find((backend) => backend.ejected)?.instance.address).toBe(
      broken.address,
    );
    const counts = tally(await calls(20));
    expect([counts.get(a ?? ''), counts.get(b ?? '')]).toEqual([10, 10]);
  });
});
