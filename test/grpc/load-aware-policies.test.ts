/**
 * leastRequest() and peakEwma() through the balanced channel, with real servers, a nice-grpc
 * client, the retry middleware and outlier detection, as an application would run them. The
 * assertions are shares of calls with wide margins (round robin's share is the control), never
 * times: a busy machine slows every backend alike.
 */
import { createClientFactory, Status } from 'nice-grpc';
import { type OperatorFunction, of } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BalancedChannel } from '../../src/grpc/balanced-channel.js';
import { retryOnAnotherInstance } from '../../src/grpc/retry-on-another-instance.js';
import type { Update } from '../../src/instance.js';
import { diff } from '../../src/operators/diff.js';
import { leastRequest } from '../../src/operators/least-request.js';
import { peakEwma } from '../../src/operators/peak-ewma.js';
import { roundRobin } from '../../src/operators/round-robin.js';
import type { Picker } from '../../src/picker.js';
import type { EchoReply, EchoRequest } from '../support/echo-service.js';
import { EchoService } from '../support/echo-service.js';
import { tally, useEchoServers } from '../support/fixture.js';
import { type HttpErrorServer, startHttpErrorServer } from '../support/http-error-server.js';
import { allReady } from '../support/ready.js';

type Policy = () => OperatorFunction<readonly Update[], Picker>;

const fixture = useEchoServers(3);
/** Far slower than a call on a busy machine's loopback, which can take 30 ms. */
const SLOW_MS = 200;

/** A channel over `addresses` with `policy`, outlier detection on, and a client that retries. */
async function setup(policy: Policy, addresses = fixture.addresses()) {
  const channel: BalancedChannel = fixture.channel(of(addresses).pipe(diff(), policy()), {
    name: 'echo',
  });
  await allReady(channel);
  const client = createClientFactory().use(retryOnAnotherInstance()).create(EchoService, channel);
  return { channel, client };
}

/** `callers` callers, each making `calls` calls in turn; the replies and the errors. */
async function load(
  client: { unary(request: EchoRequest): Promise<EchoReply> },
  callers: number,
  calls: number,
  request: EchoRequest = { text: '' },
) {
  const replies: EchoReply[] = [];
  const errors: unknown[] = [];
  const caller = async () => {
    for (let i = 0; i < calls; i++) {
      await client.unary(request).then(
        (reply) => replies.push(reply),
        (error: unknown) => errors.push(error),
      );
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  return { replies, errors };
}

const share = (replies: readonly EchoReply[], address: string) =>
  (tally(replies).get(address) ?? 0) / replies.length;

describe.each([
  ['leastRequest()', () => leastRequest()],
  ['peakEwma()', () => peakEwma()],
])('%s through the balanced channel', (_name, policy) => {
  it('sends a slow backend far fewer calls than round robin does, under concurrency', async () => {
    const slow = fixture.server(0);
    slow.delayMs = SLOW_MS;
    const { client } = await setup(policy);
    const { replies, errors } = await load(client, 16, 25);
    expect(errors).toEqual([]);
    expect(replies).toHaveLength(400);
    // round robin gives it a third: see the control below
    expect(share(replies, slow.address)).toBeLessThan(0.15);
  });

  it('moves calls away from a backend that turns slow while they run', async () => {
    const { client } = await setup(policy);
    const before = await load(client, 16, 10);
    const turning = fixture.server(1);
    expect(share(before.replies, turning.address)).toBeGreaterThan(0.1);
    turning.delayMs = SLOW_MS;
    const after = await load(client, 16, 25);
    expect(after.errors).toEqual([]);
    expect(share(after.replies, turning.address)).toBeLessThan(0.15);
  });

  describe('with a backend whose connection answers every call with HTTP 503', () => {
    let broken: HttpErrorServer;
    beforeEach(async () => {
      broken = await startHttpErrorServer(503);
    });
    afterEach(() => broken.stop());

    it('fails no call: each failed attempt is retried elsewhere, and the backend gets no more than ejecting it takes', async () => {
      const callers = 4;
      const { channel, client } = await setup(policy, [...fixture.addresses(), broken.address]);
      const { replies, errors } = await load(client, callers, 25);
      expect(errors).toEqual([]);
      expect(replies).toHaveLength(100);
      // 5 failures in a row eject it; the other callers' calls may be on their way to it then
      expect(broken.received).toBeLessThanOrEqual(5 + callers - 1);
      const state = channel.backends().find((b) => b.instance.address === broken.address);
      // ejected after its 5th failure in a row, unless the policy stopped sending it calls first
      expect(state?.ejected || broken.received < 5).toBe(true);
    });
  });
});

describe('round robin through the balanced channel (the control)', () => {
  it('sends a slow backend its third of the calls, slow or not', async () => {
    const slow = fixture.server(0);
    slow.delayMs = SLOW_MS;
    const { client } = await setup(() => roundRobin());
    const { replies } = await load(client, 16, 25);
    expect(share(replies, slow.address)).toBeGreaterThan(0.3);
  });
});

describe.each([
  ['leastRequest()', () => leastRequest()],
  ['peakEwma()', () => peakEwma()],
])('%s through the balanced channel, with a backend that fails its calls fast', (_name, policy) => {
  // Outlier detection off: what the policy itself does. A fast failure must not look like a
  // free backend (leastRequest: fewer calls in flight; peakEwma: a short call).
  it('sends it few calls, where round robin sends it a third', async () => {
    const failing = fixture.server(2);
    const channel = fixture.channel(of(fixture.addresses()).pipe(diff(), policy()), {
      name: 'echo',
      outlierDetection: false,
    });
    await allReady(channel);
    const client = createClientFactory().create(EchoService, channel);
    const request = { text: '', failWith: Status.INTERNAL, failOn: failing.address };
    const { replies, errors } = await load(client, 4, 30, request);
    expect(replies.length + errors.length).toBe(120);
    expect(failing.received).toBeLessThan(15); // round robin: 40
  });
});
