import { config as rxjsConfig } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallOutcome } from '../../src/grpc/call-outcome.js';
import { CHANNEL_DEFAULTS } from '../../src/grpc/options.js';
import {
  type EjectionEvent,
  type OutlierDetectionConfig,
  OutlierDetector,
} from '../../src/grpc/outlier-detection.js';
import { manualClock } from '../support/manual-clock.js';

const [a, b, c, d] = ['10.0.0.1:1', '10.0.0.2:1', '10.0.0.3:1', '10.0.0.4:1'];
const BASE = CHANNEL_DEFAULTS.outlierDetection.baseEjectionMs;

/** A detector over `addresses`, with the default options but these, recording what it says. */
function setup(addresses: string[], options: Partial<OutlierDetectionConfig> = {}) {
  const clock = manualClock();
  const events: EjectionEvent[] = [];
  const ejected = new Set<string>();
  const config: OutlierDetectionConfig = {
    ...CHANNEL_DEFAULTS.outlierDetection,
    clock,
    onEjection: (event) => events.push(event),
    ...options,
  };
  const detector = new OutlierDetector(
    config,
    () => 'echo',
    (address, now) => {
      if (now) ejected.add(address);
      else ejected.delete(address);
    },
  );
  detector.retain(addresses);
  const record = (address: string, outcome: CallOutcome, times = 1) => {
    for (let i = 0; i < times; i++) detector.record(address, outcome, `failure #${i + 1}`);
  };
  return { detector, clock, events, ejected, record };
}

describe('OutlierDetector', () => {
  it('ejects an address after 5 connection failures in a row, and reports it', () => {
    const { clock, events, ejected, record } = setup([a, b]);
    record(a, 'failure', 4);
    expect(ejected).toEqual(new Set());
    record(a, 'failure');
    expect(ejected).toEqual(new Set([a]));
    expect(events).toEqual([
      {
        type: 'ejected',
        service: 'echo',
        address: a,
        reason: 'consecutiveFailures',
        lastError: 'failure #1',
        ejections: 1,
        durationMs: BASE,
        until: clock.now() + BASE,
      },
    ]);
  });

  it('starts counting again when the connection went down: its failures are explained', () => {
    const { detector, ejected, record } = setup([a, b]);
    record(a, 'failure', 4);
    detector.disconnected(a);
    record(a, 'failure', 4);
    expect(ejected).toEqual(new Set());
  });

  it('returns an ejected address at once when its connection is made again, saying why', () => {
    const { detector, events, ejected, record } = setup([a, b]);
    record(a, 'failure', 5);
    detector.reconnected(b); // not ejected: nothing to say
    detector.reconnected(a);
    expect(ejected).toEqual(new Set());
    expect(events.map((event) => [event.type, event.address, event.reason])).toEqual([
      ['ejected', a, 'consecutiveFailures'],
      ['unejected', a, 'reconnected'],
    ]);
  });

  it('starts counting again after a success', () => {
    const { ejected, record } = setup([a, b]);
    record(a, 'failure', 4);
    record(a, 'success');
    record(a, 'failure', 4);
    expect(ejected).toEqual(new Set());
  });

  it('neither counts nor resets on a neutral outcome', () => {
    const { ejected, record } = setup([a, b]);
    record(a, 'failure', 4);
    record(a, 'neutral', 10);
    expect(ejected).toEqual(new Set());
    record(a, 'failure');
    expect(ejected).toEqual(new Set([a]));
  });

  it('returns an address to picking when its ejection time ends', () => {
    const { clock, events, ejected, record } = setup([a, b]);
    record(a, 'failure', 5);
    clock.advance(BASE - 1);
    expect(ejected).toEqual(new Set([a]));
    clock.advance(1);
    expect(ejected).toEqual(new Set());
    expect(events.at(-1)).toEqual({
      type: 'unejected',
      service: 'echo',
      address: a,
      reason: 'expired',
      ejections: 1,
    });
    expect(clock.pending).toBe(0);
  });

  it('ejects again for base × n after n ejections in a row, up to maxEjectionMs', () => {
    const { clock, events, record } = setup([a, b], { maxEjectionMs: 3.5 * BASE });
    const durations: number[] = [];
    for (let i = 0; i < 5; i++) {
      record(a, 'failure', 5);
      const event = events.at(-1);
      if (event?.type === 'ejected') durations.push(event.durationMs);
      clock.advance(event?.type === 'ejected' ? event.durationMs : 0);
    }
    expect(durations).toEqual([1, 2, 3, 3.5, 3.5].map((n) => n * BASE));
  });

  it('forgets one ejection for every baseEjectionMs spent in picking', () => {
    const { clock, events, record } = setup([a, b]);
    const eject = () => {
      record(a, 'failure', 5);
      const event = events.at(-1);
      if (event?.type !== 'ejected') throw new Error('not ejected');
      clock.advance(event.durationMs);
      return event.ejections;
    };
    expect([eject(), eject(), eject()]).toEqual([1, 2, 3]);
    clock.advance(2 * BASE);
    expect(eject()).toBe(2);
    clock.advance(10 * BASE);
    expect(eject()).toBe(1);
  });

  it('never ejects more than maxEjectionPercent of the addresses, then ejects when room is made', () => {
    const { clock, ejected, record } = setup([a, b, c, d]);
    record(a, 'failure', 5);
    clock.advance(1);
    record(b, 'failure', 5);
    record(c, 'failure', 5);
    expect(ejected).toEqual(new Set([a, b]));
    clock.advance(BASE - 1);
    expect(ejected).toEqual(new Set([b]));
    record(c, 'failure');
    expect(ejected).toEqual(new Set([b, c]));
  });

  it('never ejects a single address at the default 50 %, and does at 100 %', () => {
    const half = setup([a]);
    half.record(a, 'failure', 50);
    expect(half.ejected).toEqual(new Set());
    const all = setup([a], { maxEjectionPercent: 100 });
    all.record(a, 'failure', 5);
    expect(all.ejected).toEqual(new Set([a]));
  });

  it('ignores outcomes on an ejected address, of calls in flight when it was ejected', () => {
    const { clock, ejected, record } = setup([a, b]);
    record(a, 'failure', 5);
    record(a, 'success');
    record(a, 'failure', 4);
    clock.advance(BASE);
    record(a, 'failure', 4);
    expect(ejected).toEqual(new Set());
  });

  it('ignores addresses it was not given, such as those draining', () => {
    const { ejected, record } = setup([a, b]);
    record(c, 'failure', 10);
    expect(ejected).toEqual(new Set());
  });

  it('returns an address discovery removed, and forgets its past', () => {
    const { detector, events, ejected, record } = setup([a, b, c]);
    record(a, 'failure', 5);
    detector.retain([b, c]);
    expect(ejected).toEqual(new Set());
    expect(events.at(-1)).toMatchObject({ type: 'unejected', address: a, reason: 'removed' });
    detector.retain([a, b, c]);
    record(a, 'failure', 4);
    expect(ejected).toEqual(new Set());
  });

  it('returns the soonest back when discovery shrinks the pool under the share', () => {
    const { detector, clock, events, ejected, record } = setup([a, b, c, d]);
    record(a, 'failure', 5);
    clock.advance(1);
    record(b, 'failure', 5);
    detector.retain([a, b, c]);
    expect(ejected).toEqual(new Set([b]));
    expect(events.at(-1)).toMatchObject({ address: a, reason: 'maxEjectionPercent' });
  });

  it('close() cancels every timer, silently', () => {
    const { detector, clock, events, record } = setup([a, b]);
    record(a, 'failure', 5);
    detector.close();
    expect(clock.pending).toBe(0);
    expect(events.map((event) => event.type)).toEqual(['ejected']);
  });

  describe('a throwing onEjection', () => {
    afterEach(() => {
      rxjsConfig.onUnhandledError = null;
    });

    it("does not break ejection; the error goes to RxJS's onUnhandledError", async () => {
      const errors: unknown[] = [];
      rxjsConfig.onUnhandledError = (error) => errors.push(error);
      const boom = new Error('boom');
      const { ejected, record } = setup([a, b], {
        onEjection: () => {
          throw boom;
        },
      });
      record(a, 'failure', 5);
      expect(ejected).toEqual(new Set([a]));
      await Promise.resolve();
      expect(errors).toEqual([boom]);
    });
  });
});
