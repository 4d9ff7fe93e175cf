import { status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { instance } from '../../marbles/fixtures.js';
import { BackendLoad, CEILING_MS, LoadBoard } from '../../src/grpc/backend-load.js';
import type { Instance } from '../../src/instance.js';

const DECAY_MS = 10_000;

/** A backend as the channel measures it, without a connection. */
class Measured extends BackendLoad {
  readonly health = 'UNCHECKED';
  constructor(
    readonly instance: Instance,
    board: LoadBoard,
  ) {
    super(board);
  }
}

/** Backends of one board, on a clock the test moves. */
function backends(count = 2, failureThreshold = 5) {
  let now = 1;
  const board = new LoadBoard(DECAY_MS, failureThreshold);
  const members = Array.from(
    { length: count },
    (_, i) => new Measured(instance(`10.0.0.${i + 1}:80`), board),
  );
  board.members = members;
  return {
    board,
    members,
    at(ms: number) {
      now = 1 + ms;
    },
    /** A call on `backend` ended after `durationMs` with `code`; true: review due. */
    ended(backend: Measured, durationMs: number, code: status = status.OK) {
      backend.started();
      return backend.ended(now, durationMs, code, true);
    },
  };
}

const latency = fc.double({ min: 0.01, max: 10_000, noNaN: true });
const elapsed = fc.double({ min: 0, max: 100_000, noNaN: true });

describe("the channel's latency estimate of a backend, property", () => {
  it('peaks at once: a call slower than the estimate replaces it, however little time passed', () => {
    fc.assert(
      fc.property(latency, latency, elapsed, (first, extra, after) => {
        const b = backends();
        const [a] = b.members as [Measured];
        b.ended(a, first);
        b.at(after);
        b.ended(a, first + extra);
        expect(a.estimateMs).toBe(first + extra);
        expect(a.latencyMs).toBe(first + extra);
      }),
    );
  });

  it('decays towards a faster sample, the further the longer since the previous one', () => {
    fc.assert(
      fc.property(latency, latency, elapsed, elapsed, (sample, extra, t1, t2) => {
        const [shorter, longer] = t1 <= t2 ? [t1, t2] : [t2, t1];
        const moved = (after: number) => {
          const b = backends();
          const [a] = b.members as [Measured];
          b.ended(a, sample + extra);
          b.at(after);
          b.ended(a, sample);
          return a.estimateMs;
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
    const failure = fc
      .constantFrom(
        status.UNKNOWN,
        status.DEADLINE_EXCEEDED,
        status.RESOURCE_EXHAUSTED,
        status.INTERNAL,
        status.UNAVAILABLE,
        status.DATA_LOSS,
      )
      .map((code) => ({ code }));
    fc.assert(
      fc.property(latency, latency, elapsed, failure, (first, duration, after, failed) => {
        const b = backends();
        const [a] = b.members as [Measured];
        b.ended(a, first);
        b.at(after);
        b.ended(a, duration, failed.code);
        expect(a.estimateMs).toBe(Math.min(CEILING_MS, Math.max(duration, 2 * first)));
      }),
    );
  });

  it('an application error is an answer: its time is a sample like any other', () => {
    const answers = fc.constantFrom(3, 5, 6, 7, 9, 10, 11, 12, 16) as fc.Arbitrary<status>;
    fc.assert(
      fc.property(latency, answers, (duration, code) => {
        const b = backends();
        const [a] = b.members as [Measured];
        b.ended(a, duration, code);
        expect(a.estimateMs).toBe(duration);
      }),
    );
  });

  it('a cancelled call can raise an estimate, never lower it', () => {
    fc.assert(
      fc.property(latency, latency, elapsed, (first, duration, after) => {
        const b = backends();
        const [a] = b.members as [Measured];
        b.ended(a, first);
        b.at(after);
        b.ended(a, duration, status.CANCELLED);
        expect(a.estimateMs).toBe(Math.max(first, duration));
      }),
    );
  });

  it('a backend with no call ended reports the mean estimate of those with one, 1 while none has', () => {
    fc.assert(
      fc.property(fc.array(latency, { minLength: 0, maxLength: 6 }), (latencies) => {
        const b = backends(latencies.length + 1);
        latencies.forEach((durationMs, i) => {
          b.at(i);
          b.ended(b.members[i] as Measured, durationMs);
        });
        const mean =
          latencies.length === 0 ? 1 : latencies.reduce((x, y) => x + y, 0) / latencies.length;
        expect(b.members.at(-1)?.latencyMs).toBeCloseTo(mean, 6);
      }),
    );
  });

  it('the latency of a backend that gets no call decays towards zero; its estimate stays until a call ends', () => {
    fc.assert(
      fc.property(latency, fc.double({ min: 1, max: 100_000, noNaN: true }), (first, idle) => {
        const b = backends();
        const [a, other] = b.members as [Measured, Measured];
        b.ended(a, first);
        b.at(idle);
        // each call's end refreshes one member in turn: two refresh both
        b.ended(other, 1);
        b.ended(other, 1);
        expect(a.latencyMs).toBeCloseTo(first * Math.exp(-idle / DECAY_MS), 9);
        expect(a.estimateMs).toBe(first);
      }),
    );
  });

  it("recent successes and failures decay as the latency does, each call's end counting 1", () => {
    const code = fc.constantFrom(...([0, 1, 2, 4, 5, 8, 13, 14, 15] as status[]));
    fc.assert(
      fc.property(fc.array(fc.tuple(code, elapsed), { maxLength: 8 }), (calls) => {
        const b = backends(1);
        const [a] = b.members as [Measured];
        let t = 0;
        let successes = 0;
        let failures = 0;
        for (const [c, after] of calls) {
          const kept = Math.exp(-after / DECAY_MS);
          successes *= kept;
          failures *= kept;
          t += after;
          b.at(t);
          b.ended(a, 1, c);
          if ([2, 13, 14, 15].includes(c)) failures++;
          else if (![1, 4, 8].includes(c)) successes++;
        }
        expect(a.successes).toBeCloseTo(successes, 9);
        expect(a.failures).toBeCloseTo(failures, 9);
      }),
    );
  });
});

describe("the channel's measurements of a backend", () => {
  it('forgets a backend that leaves: its estimate leaves the mean', () => {
    const b = backends(3);
    const [a, other, fresh] = b.members as [Measured, Measured, Measured];
    b.ended(a, 100);
    b.ended(other, 10);
    a.forget();
    expect(b.board.neutral).toBe(10);
    expect(fresh.latencyMs).toBe(10);
    expect(a.latencyMs).toBe(10);
  });

  it('ignores calls of no duration for the latency, but counts them in flight', () => {
    const b = backends();
    const [a] = b.members as [Measured];
    a.started();
    expect(a.inFlight).toBe(1);
    b.ended(a, Number.NaN);
    b.ended(a, -1);
    expect(a.inFlight).toBe(1);
    expect(Number.isNaN(a.estimateMs)).toBe(true);
    expect(b.board.neutral).toBe(1);
  });

  it('never lets an estimate reach 0 or Infinity', () => {
    const b = backends();
    const [a] = b.members as [Measured];
    b.ended(a, 0);
    expect(a.estimateMs).toBeGreaterThan(0);
    for (let i = 0; i < 2_000; i++) b.ended(a, 1, status.UNAVAILABLE);
    expect(a.estimateMs).toBe(CEILING_MS);
  });

  it('asks for a review when failures in a row (any code that counts as a failure) reach the threshold, and at each one beyond', () => {
    const b = backends(1, 3);
    const [a] = b.members as [Measured];
    const fail = (code = status.UNAVAILABLE) => b.ended(a, 1, code);
    expect([fail(), fail(status.INTERNAL), fail(status.UNKNOWN), fail(status.DATA_LOSS)]).toEqual([
      false,
      false,
      true,
      true,
    ]);
    b.ended(a, 1, status.NOT_FOUND); // the caller's error, which the backend answered
    expect(a.consecutiveFailures).toBe(0);
    expect([fail(), fail(), fail()]).toEqual([false, false, true]);
    b.ended(a, 1, status.DEADLINE_EXCEEDED); // neither
    expect(a.consecutiveFailures).toBe(3);
    b.ended(a, 1);
    expect(a.consecutiveFailures).toBe(0);
    expect(fail()).toBe(false);
  });

  it('counts no failure in a row while not counting (not READY, or ejected), nor a neutral outcome', () => {
    const b = backends(1, 1);
    const [a] = b.members as [Measured];
    a.started();
    expect(a.ended(1, 1, status.UNAVAILABLE, false)).toBe(false);
    expect(b.ended(a, 1, status.DEADLINE_EXCEEDED)).toBe(false);
    expect(a.consecutiveFailures).toBe(0);
    expect(a.failures).toBe(1); // still a failure of the backend's, for the policies
    expect([a.intervalSuccesses, a.intervalFailures]).toEqual([0, 1]);
  });
});

describe("the channel's measurements of a backend, at their edges", () => {
  it('lets a call end on a backend before the board knows its members, or while it has none', () => {
    const board = new LoadBoard(DECAY_MS, 5);
    const lone = new Measured(instance('10.0.0.9:80'), board);
    lone.started();
    expect(lone.ended(1, 10, status.OK, true)).toBe(false);
    board.members = [];
    lone.started();
    expect(lone.ended(2, 10, status.OK, true)).toBe(false);
    expect(lone.estimateMs).toBe(10);
  });

  it('refreshes every member in turn: with three, each decays within three call ends', () => {
    const b = backends(3);
    const [busy, , idle] = b.members as [Measured, Measured, Measured];
    b.ended(idle, 100);
    b.at(DECAY_MS);
    b.ended(busy, 1);
    b.ended(busy, 1);
    b.ended(busy, 1);
    expect(idle.latencyMs).toBeCloseTo(100 * Math.exp(-1), 9);
  });

  it('reports 1 again once every backend with an estimate has left, and then exactly the next one', () => {
    const b = backends(4);
    const [x, y, z, fresh] = b.members as [Measured, Measured, Measured, Measured];
    b.ended(x, 0.1);
    b.ended(y, 0.2);
    x.forget();
    y.forget();
    expect(fresh.latencyMs).toBe(1);
    b.ended(z, 0.01);
    expect(fresh.latencyMs).toBe(0.01);
  });

  it('forgetting a backend that never ended a call leaves the mean as it was', () => {
    const b = backends(3);
    const [x, never, fresh] = b.members as [Measured, Measured, Measured];
    b.ended(x, 40);
    never.forget();
    expect(fresh.latencyMs).toBe(40);
  });

  it("moves the mean with a backend's estimate when it changes", () => {
    const b = backends(3);
    const [x, y, fresh] = b.members as [Measured, Measured, Measured];
    b.ended(x, 10);
    b.ended(y, 20);
    b.ended(x, 30); // a peak: x's estimate is now 30
    expect(fresh.latencyMs).toBe(25);
  });

  it('learns nothing from a call cancelled at exactly the neutral latency, on a backend with no estimate', () => {
    const b = backends(2);
    const [x] = b.members as [Measured];
    b.ended(x, 1, status.CANCELLED);
    expect(Number.isNaN(x.estimateMs)).toBe(true);
  });

  it('a success while not counting leaves the failures in a row as they were', () => {
    const b = backends(1, 3);
    const [x] = b.members as [Measured];
    b.ended(x, 1, status.UNAVAILABLE);
    b.ended(x, 1, status.UNAVAILABLE);
    x.started();
    x.ended(1, 1, status.OK, false);
    expect(x.consecutiveFailures).toBe(2);
    expect(b.ended(x, 1, status.UNAVAILABLE)).toBe(true);
  });
});
