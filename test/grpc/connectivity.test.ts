import { type Channel, connectivityState } from '@grpc/grpc-js';
import fc from 'fast-check';
import { createClient, waitForChannelReady } from 'nice-grpc';
import { BehaviorSubject, Subject } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { aggregateState } from '../../src/grpc/connectivity.js';
import type { Picker } from '../../src/picker.js';
import { EchoService } from '../support/echo-service.js';
import { useEchoServers } from '../support/fixture.js';
import { roundRobinPicker } from '../support/pickers.js';

const { IDLE, CONNECTING, READY, TRANSIENT_FAILURE, SHUTDOWN } = connectivityState;
const fixture = useEchoServers(3);

/** Resolves with the channel's next state (or rejects when the deadline passes first). */
function nextState(channel: Channel, deadline = Number.POSITIVE_INFINITY) {
  const from = channel.getConnectivityState(false);
  return new Promise<connectivityState>((resolve, reject) => {
    channel.watchConnectivityState(from, deadline, (error) => {
      if (error) reject(error);
      else resolve(channel.getConnectivityState(false));
    });
  });
}

describe('aggregateState', () => {
  it("ranks states by gRPC's rule for round_robin", () => {
    expect(aggregateState([])).toBe(TRANSIENT_FAILURE);
    expect(aggregateState([TRANSIENT_FAILURE, IDLE, READY, CONNECTING])).toBe(READY);
    expect(aggregateState([TRANSIENT_FAILURE, CONNECTING, IDLE])).toBe(CONNECTING);
    expect(aggregateState([TRANSIENT_FAILURE, IDLE])).toBe(IDLE);
    expect(aggregateState([TRANSIENT_FAILURE, TRANSIENT_FAILURE])).toBe(TRANSIENT_FAILURE);
  });

  it('is the best state present, whatever the order', () => {
    const rank: connectivityState[] = [READY, CONNECTING, IDLE, TRANSIENT_FAILURE];
    const state = fc.constantFrom<connectivityState>(...rank);
    fc.assert(
      fc.property(fc.array(state, { minLength: 1 }), (states) => {
        const best = rank.find((candidate) => states.includes(candidate));
        expect(aggregateState(states)).toBe(best);
        expect(aggregateState([...states].reverse())).toBe(best);
      }),
    );
  });
});

describe('createBalancedChannel: connectivity', () => {
  it('is IDLE before the first picker, then READY, then SHUTDOWN after close()', async () => {
    const picker$ = new Subject<Picker>();
    const channel = fixture.channel(picker$);
    expect(channel.getConnectivityState(true)).toBe(IDLE);
    const ready = nextState(channel);
    picker$.next(roundRobinPicker(fixture.addresses()));
    await vi.waitFor(() => expect(channel.getConnectivityState(false)).toBe(READY));
    await expect(ready).resolves.not.toBe(IDLE);
    const shutdown = nextState(channel);
    channel.close();
    await expect(shutdown).resolves.toBe(SHUTDOWN);
    expect(() => channel.watchConnectivityState(SHUTDOWN, Date.now() + 1000, () => {})).toThrow(
      /shut down/,
    );
  });

  it('calls a watcher back at once, but not synchronously, when the state already changed', async () => {
    const channel = fixture.channel(new Subject<Picker>());
    let called = false;
    const watched = new Promise<void>((resolve) => {
      channel.watchConnectivityState(READY, Number.POSITIVE_INFINITY, (error) => {
        called = true;
        expect(error).toBeUndefined();
        resolve();
      });
    });
    expect(called).toBe(false);
    await watched;
  });

  it('works with waitForChannelReady of nice-grpc', async () => {
    const channel = fixture.channel(new BehaviorSubject(roundRobinPicker(fixture.addresses())));
    await waitForChannelReady(channel, new Date(Date.now() + 10_000));
    expect(channel.getConnectivityState(false)).toBe(READY);
  });

  it('stays READY while any backend is, and is TRANSIENT_FAILURE when none is left', async () => {
    const channel = fixture.channel(new BehaviorSubject(roundRobinPicker(fixture.addresses())));
    await createClient(EchoService, channel).unary({ text: '' });
    fixture.server(0).kill();
    fixture.server(1).kill();
    await expect(nextState(channel, Date.now() + 300)).rejects.toThrow(/Deadline passed/);
    expect(channel.getConnectivityState(false)).toBe(READY);
    fixture.server(2).kill();
    await vi.waitFor(() => expect(channel.getConnectivityState(false)).toBe(TRANSIENT_FAILURE));
  });

  it('is TRANSIENT_FAILURE with an empty picker and after picker$ errors', () => {
    const picker$ = new BehaviorSubject(roundRobinPicker([]));
    const channel = fixture.channel(picker$);
    expect(channel.getConnectivityState(false)).toBe(TRANSIENT_FAILURE);
    picker$.next(roundRobinPicker(fixture.addresses()));
    expect(channel.getConnectivityState(false)).not.toBe(TRANSIENT_FAILURE);
    picker$.error(new Error('gone'));
    expect(channel.getConnectivityState(false)).toBe(TRANSIENT_FAILURE);
  });

  it('names the service in getTarget() and getChannelzRef()', () => {
    const channel = fixture.channel(new Subject<Picker>(), { name: 'greeter' });
    expect(channel.getTarget()).toBe('rxlb:///greeter');
    expect(channel.getChannelzRef()).toMatchObject({ kind: 'channel', name: 'rxlb:///greeter' });
  });
});
