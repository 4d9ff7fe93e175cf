import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { instance } from '../../marbles/fixtures.js';
import type { Instance } from '../../src/instance.js';
import { CEILING_MS, LatencyEstimates } from '../../src/operators/latency-estimates.js';

const A = instance('10.0.0.1:80');
const B = instance('10.0.0.2:80');
const DECAY_MS = 10_000;

/** Estimates of A and B on a clock the test moves. */
function estimates() {
  let now = 0;
  const state = new LatencyEstimates(DECAY_MS, () => now);
  state.retain([A, B]);
  return {
    state,
    at(ms: number) {
      now = ms;
    },
    ended(member: Instance, durationMs: number, code = 0, connectionFailure = false) {
      state.observe({ instance: member, durationMs, code, connectionFailure });
    },
    cost: (member: Instance) => state.costAt(state.slotOf(member.address)),
    value: (member: Instance) => state.estimateOf(member.address)?.value ?? Number.NaN,
  };
}

const latency = fc.double({ min: 0.01, max: 10_000, noNaN: true });
const elapsed = fc.double({ min: 0, max: 100_000, noNaN: true });

describe('peakEwma() latency estimates, property', () => {
  it('peaks at once: a call slower than the estimate replaces it, however little time passed', () => {
    fc.assert(
      fc.property(latency, latency, elapsed, (first, extra, after) => {
        const e = estimates();
        e.ended(A, first);
        e.at(after);
        e.ended(A, first + extra);
        expect(e.value(A)).toBe(first + extra);
        expect(e.cost(A)).toBe(first + extra);
      }),
    );
  });

  it('decays towards a faster sample, the further the longer since the previous one', () => {
    fc.assert(
      fc.property(latency, latency, elapsed, elapsed, (sample, extra, t1, t2) => {
        const [shorter, longer] = t1 <= t2 ? [t1, t2] : [t2, t1];
        const moved = (after: number) => {
          const e = estimates();
          e.ended(A, sample + extra);
          e.at(after);
          e.ended(A, sample);
          return e.value(A);
        };
        const near = moved(shorter);
        const far = moved(longer);
        for (const value of [near, far]) {
          expect(value).toBeGreaterThanOrEqual(sample - 1e-9);
          expect(value).toBeLessThanOrEqual(sample + extra + 1e-9);
        }
        expect(far).toBeLessThanOrEqual(near + 1e-9);
        // by 1 - exp(-Δ / decayMs), as Finagle's and tower's PeakEwma
        const kept = Math.exp(-shorter / DECAY_MS);
        expect(near).toBeCloseTo((sample + extra) * kept + sample * (1 - kept), 6);
      }),
    );
  });

  it('a failure never lowers an estimate: it counts at least twice the estimate, up to an hour', () => {
    const failure = fc.oneof(
      fc.constantFrom(2, 4, 8, 13, 14, 15).map((code) => ({ code, connectionFailure: false })),
      fc.constant({ code: 14, connectionFailure: true }),
    );
    fc.assert(
      fc.property(latency, latency, elapsed, failure, (first, duration, after, failed) => {
        const e = estimates();
        e.ended(A, first);
        e.at(after);
        e.ended(A, duration, failed.code, failed.connectionFailure);
        expect(e.value(A)).toBe(Math.min(CEILING_MS, Math.max(duration, 2 * first)));
      }),
    );
  });

  it('an application error is an answer: its time is a sample like any other', () => {
    fc.assert(
      fc.property(latency, fc.constantFrom(3, 5, 6, 7, 9, 10, 11, 12, 16), (duration, code) => {
        const e = estimates();
        e.ended(A, duration, code);
        expect(e.value(A)).toBe(duration);
      }),
    );
  });

  it('a cancelled call can raise an estimate, never lower it', () => {
    fc.assert(
      fc.property(latency, latency, elapsed, (first, duration, after) => {
        const e = estimates();
        e.ended(A, first);
        e.at(after);
        e.ended(A, duration, 1);
        expect(e.value(A)).toBe(Math.max(first, duration));
      }),
    );
  });

  it('a member with no report costs the mean estimate of those with one, 1 while none has', () => {
    fc.assert(
      fc.property(fc.array(latency, { minLength: 0, maxLength: 6 }), (latencies) => {
        let now = 0;
        const members = latencies.map((_, i) => instance(`10.0.1.${i + 1}:80`));
        const state = new LatencyEstimates(DECAY_MS, () => now);
        state.retain([...members, B]);
        latencies.forEach((durationMs, i) => {
          const member = members[i] as Instance;
          state.observe({ instance: member, durationMs, code: 0, connectionFailure: false });
          now += 1;
        });
        const mean =
          latencies.length === 0 ? 1 : latencies.reduce((a, b) => a + b, 0) / latencies.length;
        expect(state.costAt(state.slotOf(B.address))).toBeCloseTo(mean, 6);
      }),
    );
  });

  it('the cost of a member that gets no call decays towards zero; its estimate stays until it reports', () => {
    fc.assert(
      fc.property(latency, fc.double({ min: 1, max: 100_000, noNaN: true }), (first, idle) => {
        const e = estimates();
        e.ended(A, first);
        e.at(idle);
        // each report redraws one member's cost in turn: two reports redraw both
        e.ended(B, 1);
        e.ended(B, 1);
        expect(e.cost(A)).toBeCloseTo(first * Math.exp(-idle / DECAY_MS), 9);
        expect(e.value(A)).toBe(first);
      }),
    );
  });
});

describe('peakEwma() latency estimates', () => {
  it('forgets the members that leave: one that comes back has no history', () => {
    const e = estimates();
    e.ended(A, 100);
    e.ended(B, 10);
    e.state.retain([B]);
    expect(e.state.estimateOf(A.address)).toBeUndefined();
    expect(e.state.neutral).toBe(10);
    e.state.retain([A, B]);
    expect(e.cost(A)).toBe(10);
  });

  it('ignores reports on strangers and reports of no duration', () => {
    const e = estimates();
    e.ended(instance('10.9.9.9:80'), 5);
    e.ended(A, Number.NaN);
    e.ended(A, -1);
    expect(e.state.estimateOf(A.address)).toBeUndefined();
    expect(e.state.neutral).toBe(1);
  });

  it('never lets an estimate reach 0 or Infinity', () => {
    const e = estimates();
    e.ended(A, 0);
    expect(e.value(A)).toBeGreaterThan(0);
    for (let i = 0; i < 2_000; i++) e.ended(A, 1, 14);
    expect(e.value(A)).toBe(CEILING_MS);
  });
});
