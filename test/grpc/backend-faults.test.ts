import { createClient, createClientFactory, Status } from 'nice-grpc';
import { BehaviorSubject } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import type { EjectionEvent } from '../../src/grpc/outlier-detection.js';
import { retryOnAnotherInstance } from '../../src/grpc/retry-on-another-instance.js';
import { type EchoReply, type EchoRequest, EchoService } from '../support/echo-service.js';
import { tally, useEchoServers } from '../support/fixture.js';
import { grpcJsUnary } from '../support/grpc-js-client.js';
import { roundRobinPicker } from '../support/pickers.js';
import { allReady } from '../support/ready.js';

const fixture = useEchoServers(3);

/**
 * A channel over the three servers, connected; ejections recorded; a client with and one
 * without retry.
 */
async function setup() {
  const ejections: EjectionEvent[] = [];
  const channel = fixture.channel(new BehaviorSubject(roundRobinPicker(fixture.addresses())), {
    name: 'echo',
    outlierDetection: { consecutiveFailures: 1, onEjection: (event) => ejections.push(event) },
  });
  await allReady(channel);
  const client = createClientFactory().use(retryOnAnotherInstance()).create(EchoService, channel);
  const plain = createClient(EchoService, channel);
  const state = (i: number) =>
    channel.backends().find((backend) => backend.instance.address === fixture.server(i).address)
      ?.state;
  return { channel, client, plain, ejections, state };
}

/** Releases the servers but `i`, so that only `i` holds the calls that ask to be held. */
function onlyHeldBy(i: number): void {
  for (const j of [0, 1, 2]) if (j !== i) fixture.server(j).release();
}

/** A request stream that yields `first`, then waits until `end()`. */
function openRequests(first: EchoRequest) {
  let end = () => {};
  const ended = new Promise<void>((resolve) => {
    end = resolve;
  });
  async function* requests(): AsyncIterable<EchoRequest> {
    yield first;
    await ended;
  }
  return { requests: requests(), end };
}

describe('createBalancedChannel + retryOnAnotherInstance: backend faults', () => {
  it('retries a unary call whose backend is killed while it holds it, on another backend', async () => {
    const { client } = await setup();
    onlyHeldBy(0);
    const reply = client.unary({ text: 'x', hold: true });
    await vi.waitFor(() => expect(fixture.server(0).held).toBe(1));
    fixture.server(0).kill();
    await expect(reply).resolves.toMatchObject({ text: 'x', backend: fixture.server(1).address });
  });

  it('retries a server stream whose backend is killed before its first message', async () => {
    const { client } = await setup();
    onlyHeldBy(0);
    const replies: EchoReply[] = [];
    const stream = (async () => {
      for await (const reply of client.serverStream({ text: 's', count: 2, hold: true })) {
        replies.push(reply);
      }
    })();
    await vi.waitFor(() => expect(fixture.server(0).held).toBe(1));
    fixture.server(0).kill();
    await stream;
    expect(replies.map((reply) => [reply.text, reply.backend])).toEqual([
      ['s#0', fixture.server(1).address],
      ['s#1', fixture.server(1).address],
    ]);
  });

  it('fails a bidi stream with UNAVAILABLE when its backend is killed mid-stream, and never retries it', async () => {
    const { client } = await setup();
    const { requests, end } = openRequests({ text: 'first' });
    const replies: EchoReply[] = [];
    try {
      const stream = (async () => {
        for await (const reply of client.bidi(requests)) {
          replies.push(reply);
          fixture.server(0).kill();
        }
      })();
      await expect(stream).rejects.toMatchObject({
        code: Status.UNAVAILABLE,
        details: expect.stringMatching(/ECONNRESET|Connection dropped/),
      });
    } finally {
      end();
    }
    expect(replies.map((reply) => [reply.text, reply.backend])).toEqual([
      ['first', fixture.server(0).address],
    ]);
    expect([1, 2].map((i) => fixture.server(i).received)).toEqual([0, 0]);
  });

  it('lets calls in flight finish on a backend shutting down gracefully, and sends new calls elsewhere at once', async () => {
    const { client, plain, state } = await setup();
    onlyHeldBy(0);
    // Round robin from server 0: the held unary call there, two others, the stream there.
    const unary = client.unary({ text: 'u', hold: true });
    await Promise.all([1, 2].map(() => plain.unary({ text: '' })));
    const streamed: EchoReply[] = [];
    const stream = (async () => {
      const request = { text: 's', count: 3, holdAfterFirst: true };
      for await (const reply of client.serverStream(request)) streamed.push(reply);
    })();
    await vi.waitFor(() => expect(fixture.server(0).held).toBe(2));
    const draining = fixture.server(0).shutdown();
    await vi.waitFor(() => expect(state(0)).not.toBe('READY'));

    // READY backends are preferred: no call is sent to one that is going away, retry or not.
    const replies = await Promise.all(Array.from({ length: 12 }, () => plain.unary({ text: '' })));
    expect(tally(replies).get(fixture.server(0).address)).toBeUndefined();
    expect(fixture.server(0).received).toBe(2);

    fixture.server(0).release();
    await expect(unary).resolves.toMatchObject({ backend: fixture.server(0).address });
    await stream;
    expect(streamed.map((reply) => [reply.text, reply.backend])).toEqual(
      ['s#0', 's#1', 's#2'].map((text) => [text, fixture.server(0).address]),
    );
    await draining;
  });

  it('sends a slow backend its share of calls; their DEADLINE_EXCEEDED is not a connection failure', async () => {
    const { channel, ejections } = await setup();
    onlyHeldBy(0);
    const deadline = Date.now() + 1_000;
    const results = await Promise.allSettled(
      Array.from({ length: 9 }, () => grpcJsUnary(channel, { text: '', hold: true }, { deadline })),
    );
    const failures = results.flatMap((result) =>
      result.status === 'rejected' ? [result.reason] : [],
    );
    expect(failures).toEqual(
      Array.from({ length: 3 }, () => expect.objectContaining({ code: Status.DEADLINE_EXCEEDED })),
    );
    expect([0, 1, 2].map((i) => fixture.server(i).received)).toEqual([3, 3, 3]);
    // consecutiveFailures is 1 here: one connection failure would have ejected it.
    expect(ejections).toEqual([]);
  });

  it('loses no unary call while one healthy backend remains: one killed, one shut down, under load', async () => {
    const { client, ejections } = await setup();
    const survivor = fixture.server(2);
    const faults = [() => fixture.server(0).kill(), () => void fixture.server(1).shutdown()];
    const errors: unknown[] = [];
    const replies: EchoReply[] = [];
    const worker = async () => {
      while (replies.length < 600) {
        await client.unary({ text: '' }).then(
          (reply) => replies.push(reply),
          (error: unknown) => errors.push(error),
        );
        // After 200 replies, kill one; after 400, shut another down.
        if (replies.length >= 200 * (3 - faults.length)) faults.shift()?.();
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(errors).toEqual([]);
    expect(faults).toEqual([]);
    expect(tally(replies.slice(-100))).toEqual(new Map([[survivor.address, 100]]));
    expect(ejections.map((event) => event.address)).not.toContain(survivor.address);
  });
});
