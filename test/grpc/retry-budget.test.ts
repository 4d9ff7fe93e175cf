import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../src/grpc/retry-budget.js';

/** A budget on a clock the test moves. */
function budget(ratio: number, perSecond: number, ttlMs: number) {
  let now = 0;
  const b = new RetryBudget(ratio, perSecond, ttlMs, () => now);
  return { b, at: (ms: number) => (now = ms) };
}

describe('RetryBudget', () => {
  it('allows retryRatio of the calls of the window, plus minRetriesPerSecond × ttl', () => {
    const { b } = budget(0.25, 0.5, 10_000); // 5 in reserve
    for (let i = 0; i < 20; i++) b.deposit();
    let allowed = 0;
    while (b.tryWithdraw()) allowed++;
    expect(allowed).toBe(5 + 5);
  });

  it('forgets calls and retries older than ttl, slot by slot', () => {
    const { b, at } = budget(1, 0, 1_000);
    b.deposit();
    at(500);
    b.deposit();
    expect([b.tryWithdraw(), b.tryWithdraw(), b.tryWithdraw()]).toEqual([true, true, false]);
    at(1_050); // the slot of t = 0 left the window: 1 call and 2 retries (of t = 500) in it
    expect(b.tryWithdraw()).toBe(false);
    at(1_550); // everything of t=500 is gone too
    b.deposit();
    expect([b.tryWithdraw(), b.tryWithdraw()]).toEqual([true, false]);
  });

  it("allows a retry only while the retries of its window stay within its ratio of the window's calls plus the reserve", () => {
    // The window: the 10 slots of ttl / 10 up to the current one.
    const step = fc.record({
      dt: fc.integer({ min: 0, max: 400 }),
      calls: fc.nat(5),
      retries: fc.nat(5),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const { b, at } = budget(0.2, 1, 1_000); // reserve 1
        let now = 0;
        const log: { at: number; calls: number; retries: number }[] = [];
        for (const { dt, calls, retries } of steps) {
          now += dt;
          at(now);
          for (let i = 0; i < calls; i++) b.deposit();
          let taken = 0;
          for (let i = 0; i < retries; i++) taken += Number(b.tryWithdraw());
          log.push({ at: now, calls, retries: taken });
          const start = (Math.floor(now / 100) - 9) * 100;
          const window = log.filter((entry) => entry.at >= start);
          const sum = (key: 'calls' | 'retries') => window.reduce((s, e) => s + e[key], 0);
          // a retry it allows keeps them within the bound (older ones may leave the window
          // before the calls that allowed them do: then it allows none until they are gone)
          if (taken > 0) expect(sum('retries')).toBeLessThanOrEqual(0.2 * sum('calls') + 1 + 1e-9);
          // and it refuses only what would break that
          if (taken < retries) expect(sum('retries') + 1).toBeGreaterThan(0.2 * sum('calls') + 1);
        }
      }),
    );
  });
});

describe('RetryBudget, over time', () => {
  it('starts afresh after a pause longer than ttl', () => {
    const { b, at } = budget(0, 1, 1_000); // a reserve of 1, no ratio
    expect([b.tryWithdraw(), b.tryWithdraw()]).toEqual([true, false]);
    at(5_000);
    expect([b.tryWithdraw(), b.tryWithdraw()]).toEqual([true, false]);
  });

  it('keeps time by the system clock by default', async () => {
    const b = new RetryBudget(0, 1_000, 1); // a reserve of 1 over 1 ms
    expect([b.tryWithdraw(), b.tryWithdraw()]).toEqual([true, false]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(b.tryWithdraw()).toBe(true);
  });
});
