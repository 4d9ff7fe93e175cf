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
      baseEjectionTime: BASE,
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
    // no ejection left, and no rule over intervals configured: no timer left either
    expect(clock.pending).toBe(0);
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

  it.each([Status.UNAVAILABLE, Status.INTERNAL, Status.UNKNOWN, Status.DATA_LOSS])(
    'ejects a backend whose server answers every call with status %i: it fails for its own sake',
    async (code) => {
      const { client, events, ejected } = await setup({ maxEjectionPercent: 100 });
      const failOn = fixture.server(0).address;
      const request = { text: '', failWith: code, failOn };
      for (let i = 0; i < 20; i++) await client.unary(request).catch(() => undefined);
      expect(ejected().sort()).toEqual([failOn, broken.address].sort());
      expect(events.find((event) => event.address === failOn)).toMatchObject({
        type: 'ejected',
        reason: 'consecutiveFailures',
        detail: '5 failures in a row',
      });
    },
  );

  it("does not eject a backend that answers the caller's errors (NOT_FOUND, INVALID_ARGUMENT, ...)", async () => {
    const { client, events, ejected } = await setup({ consecutiveFailures: 1 });
    const failOn = fixture.server(0).address;
    for (const code of [Status.NOT_FOUND, Status.INVALID_ARGUMENT, Status.FAILED_PRECONDITION]) {
      const request = { text: '', failWith: code, failOn };
      for (let i = 0; i < 4; i++) await client.unary(request).catch(() => undefined);
    }
    expect(events.filter((event) => event.address === failOn)).toEqual([]);
    expect(ejected()).toEqual([broken.address]);
    // It keeps its share: half of the 12 calls, give or take the one the broken one took.
    expect(fixture.server(0).received).toBeGreaterThanOrEqual(5);
  });

  it('sweeps every interval by failure percentage when that rule is given, and its event names the rule', async () => {
    const { client, clock, events, ejected } = await setup({
      consecutiveFailures: Infinity,
      interval: 1_000,
      failurePercentageEjection: { threshold: 50, minimumHosts: 3, requestVolume: 5 },
      maxEjectionPercent: 100,
    });
    const failOn = fixture.server(0).address;
    const request = { text: '', failWith: Status.INTERNAL, failOn };
    for (let i = 0; i < 30; i++) await client.unary(request).catch(() => undefined);
    // then a few that succeed everywhere: its last call is a success, its failures the most
    const before = fixture.server(0).received;
    for (let i = 0; i < 10 && fixture.server(0).received === before; i++) {
      await client.unary({ text: '' });
    }
    expect(fixture.server(0).received).toBeGreaterThan(before);
    expect(ejected()).toEqual([]); // no rule over intervals until the interval ends
    clock.advance(1_000);
    expect(ejected().sort()).toEqual([failOn, broken.address].sort());
    expect(events.map((event) => [event.type, event.address, event.reason])).toEqual(
      expect.arrayContaining([['ejected', failOn, 'failurePercentage']]),
    );
    // its event tells the last failure, not the success that came after
    expect(events.find((event) => event.address === failOn)).toMatchObject({
      type: 'ejected',
      lastError: expect.stringContaining(`asked to fail by ${failOn}`),
    });
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

  it('sends calls to the ejected backends that are connected when every connected one is ejected, rather than failing them', async () => {
    const events: EjectionEvent[] = [];
    const picker$ = new BehaviorSubject(roundRobinPicker(fixture.addresses()));
    const channel = fixture.channel(picker$, {
      name: 'echo',
      outlierDetection: {
        consecutiveFailures: 1,
        maxEjectionPercent: 100,
        clock: manualClock(),
        onEjection: (event) => events.push(event),
      },
    });
    await allReady(channel);
    const client = createClientFactory().create(EchoService, channel);
    const failing = { text: '', failWith: Status.UNAVAILABLE };
    for (let i = 0; i < 2; i++) await client.unary(failing).catch(() => undefined);
    const ejected = channel.backends().filter((backend) => backend.ejected);
    expect(ejected.map((backend) => backend.instance.address).sort()).toEqual(
      fixture.addresses().sort(),
    );
    expect(events.map((event) => event.type)).toEqual(['ejected', 'ejected']);

    // both are ejected and both still connected: they serve, in turn, as if none were ejected
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(await client.unary({ text: String(i) }));
    expect([...tally(replies).values()]).toEqual([2, 2]);
    expect(fixture.server(0).received + fixture.server(1).received).toBe(6);
  });

  it('keeps sending calls to a failing backend when turned off', async () => {
    const { calls, ejected } = await setup(false);
    const replies = await calls(30);
    expect(tally(replies).get(broken.address)).toBeUndefined();
    expect(ejected()).toEqual([]);
    expect(broken.received).toBeGreaterThan(10);
  });
});
