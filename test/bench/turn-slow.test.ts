import { describe, expect, it } from 'vitest';
import { SHED_SHARE, shedTime } from '../../bench/policies.js';

/** One call started every ms from `from` to `to`, on the turning backend when `slow(t)`. */
function calls(from: number, to: number, slow: (t: number) => boolean) {
  return Array.from({ length: to - from }, (_, i) => ({ at: from + i, slow: slow(from + i) }));
}

describe('the time a backend turning slow takes to shed its calls', () => {
  it('is the end of the first window from which every window is below the share', () => {
    // a third of the calls until 300 ms after the change, none after: a window is below 10 %
    // once less than 30 ms of it overlaps that, so the first below for good starts at 1,280
    const samples = calls(0, 3_000, (t) => t < 1_300 && t % 3 === 0);
    expect(shedTime(samples, 1_000, 100, SHED_SHARE)).toBe(380);
  });

  it('is one window when the share is below from the change on', () => {
    const samples = calls(0, 3_000, (t) => t < 1_000);
    expect(shedTime(samples, 1_000, 100, SHED_SHARE)).toBe(100);
  });

  it('is Infinity when the last window is still above the share', () => {
    const samples = calls(0, 3_000, (t) => t % 5 === 0);
    expect(shedTime(samples, 1_000, 100, SHED_SHARE)).toBe(Number.POSITIVE_INFINITY);
  });

  it('ignores a spell above the share that ends before the last windows', () => {
    const samples = calls(0, 3_000, (t) => (t < 1_200 || (t >= 1_500 && t < 1_550)) && t % 2 === 0);
    // half the calls from 1,500 to 1,550: the window from 1,530 still holds 10 of them
    expect(shedTime(samples, 1_000, 100, SHED_SHARE)).toBe(640);
  });
});
