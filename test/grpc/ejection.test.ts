import { createClientFactory, Status } from 'nice-grpc';
import { BehaviorSubject } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BalancedChannelOptions } from '../../src/grpc/options.js';
import type { EjectionEvent } from '../../src/grpc/outlier-detection.js';
import { retryOnAnotherInstance } from '../../src/grpc/retry-on-another-instance.js';
import { startEchoServer } from '../support/echo-server.js';
import { EchoService } from '../support/echo-service.js';
import { tally, useEchoServers } from '../support/fixture.js';
import { type HttpErrorServer, startHttpErrorServer } from '../support/http-error-server.js';
import { manualClock } from '../support/manual-clock.js';
import { roundRobinPicker } from '../support/pickers.js';
import { allReady } from '../support/ready.js';

const fixture = useEchoServers(2);
let broken: HttpErrorServer;
beforeEach(async () => {
  broken = await startHttpErrorServer(503);
});
afterEach(() => broken.stop());

const BASE = 10_000;

/** Two echo servers and the broken one, all listed by discovery; a client that retries. */
async function setup(outlierDetection: BalancedChannelOptions['outlierDetection'] = {}) {
  const clock = manualClock();
  const events: EjectionEvent[] = [];
  const options: BalancedChannelOptions = {
    name: 'echo',
    outlierDetection: outlierDetection && {
      baseEjectionMs: BASE,
      clock,
      onEjection: (event) => events.push(event),
      ...outlierDetection,
    },
  };
  const addresses = [...fixture.addresses(), broken.address];
  const channel = fixture.channel(new BehaviorSubject(roundRobinPicker(addresses)), options);
  await allReady(channel);
  const client = createClientFactory().use(retryOnAnotherInstance()).create(EchoService, channel);
  const calls = async (n: number) => {
    const replies = [];
    for (let i = 0; i < n; i++) replies.push(await client.unary({ text: '' }));
    return replies;
  };
  const ejected = () =>
    channel
      .backends()
      .filter((backend) => backend.ejected)
      .map((backend) => backend.instance.address);
  return { client, clock, events, calls, ejected };
}

describe('createBalancedChannel: outlier detection', () => {
  it('ejects a READY backend whose calls keep failing with connection errors, though discovery lists it', async () => {
    const { calls, events, ejected } = await setup();
    const replies = await calls(30);
    expect(tally(replies).get(broken.address)).toBeUndefined();
    expect(broken.received).toBe(5);
    expect(ejected()).toEqual([broken.address]);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'ejected',
        address: broken.address,
        reason: 'consecutiveFailures',
        lastError: expect.stringContaining('503'),
        ejections: 1,
        durationMs: BASE,
      }),
    ]);
  });

  it('picks it again when its ejection ends, and ejects it for longer when it still fails', async () => {
    const { calls, clock, events, ejected } = await setup();
    await calls(30);
    clock.advance(BASE);
    expect(ejected()).toEqual([]);
    expect(events.at(-1)).toMatchObject({ type: 'unejected', reason: 'expired' });
    await calls(30);
    expect(broken.received).toBe(10);
    expect(events.at(-1)).toMatchObject({ type: 'ejected', ejections: 2, durationMs: 2 * BASE });
  });

  it('never ejects more than maxEjectionPercent of the backends', async () => {
    const { calls, events } = await setup({ maxEjectionPercent: 30 });
    const replies = await calls(30);
    expect(tally(replies).get(broken.address)).toBeUndefined();
    expect(events).toEqual([]);
    expect(broken.received).toBeGreaterThan(10);
  });

  it('does not eject a backend that answers UNAVAILABLE itself: that is an application error', async () => {
    const { client, events, ejected } = await setup({ consecutiveFailures: 1 });
    const failOn = fixture.server(0).address;
    const request = { text: '', failWith: Status.UNAVAILABLE, failOn };
    for (let i = 0; i < 12; i++) await client.unary(request);
    expect(events.filter((event) => event.address === failOn)).toEqual([]);
    expect(ejected()).toEqual([broken.address]);
    // It is picked first for every call (the one after it is skipped while ejected).
    expect(fixture.server(0).received).toBe(12);
  });

  it('returns an ejected backend to picking as soon as its connection is made again (a restart)', async () => {
    const { calls, events, ejected } = await setup();
    await calls(30);
    expect(ejected()).toEqual([broken.address]);
    // The broken process dies; a healthy one starts on its port, long before BASE is over.
    broken.stop();
    const restarted = await startEchoServer(Number(broken.address.split(':')[1]));
    try {
      await vi.waitFor(() => expect(ejected()).toEqual([]), { timeout: 5_000 });
      expect(events.at(-1)).toMatchObject({
        type: 'unejected',
        address: broken.address,
        reason: 'reconnected',
      });
      const replies = await calls(30);
      expect(tally(replies).get(broken.address)).toBe(10);
    } finally {
      restarted.stop();
    }
  });

  it('keeps sending calls to a failing backend when turned off', async () => {
    const { calls, ejected } = await setup(false);
    const replies = await calls(30);
    expect(tally(replies).get(broken.address)).toBeUndefined();
    expect(ejected()).toEqual([]);
    expect(broken.received).toBeGreaterThan(10);
  });
});
