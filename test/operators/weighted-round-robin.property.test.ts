import fc from 'fast-check';
import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { added, backend, instance } from '../../marbles/fixtures.js';
import type { Instance } from '../../src/instance.js';
import { roundRobin } from '../../src/operators/round-robin.js';
import { weightedRoundRobin } from '../../src/operators/weighted-round-robin.js';
import type { Backend, Picker } from '../../src/picker.js';
import { collect } from './collect.js';

const address = (i: number) => `10.0.0.${i + 1}:80`;

/** The picker that `operator` makes of one batch adding `weights.length` instances. */
function pickerOf(
  weights: readonly number[],
  operator: typeof weightedRoundRobin | typeof roundRobin,
  random: () => number,
): Picker {
  const batch = weights.map((weight, i) => added(instance(address(i), { weight })));
  const [picker] = collect(of(batch).pipe(operator({ random }))).values;
  if (!picker) throw new Error('no picker');
  return picker;
}

/** What the documented rule makes of a weight, before the greatest common divisor. */
function ruleWeight(weight: number): number {
  if (!Number.isFinite(weight)) return 1;
  return weight > 0 ? Math.max(1, Math.round(weight)) : 0;
}

/** The shares the rule gives `weights`, reduced: what one period holds of each. */
function expectedShares(weights: readonly number[]): number[] {
  const read = weights.map(ruleWeight);
  const all = read.every((w) => w === 0) ? read.map(() => 1) : read;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const divisor = all.reduce(gcd, 0);
  return all.map((w) => w / divisor);
}

/** Checks every window of `picks` against the shares: ±1 of its share, exact over a period. */
function expectFairWindows(
  picks: readonly unknown[],
  members: readonly unknown[],
  shares: readonly number[],
) {
  const period = shares.reduce((a, b) => a + b, 0);
  members.forEach((member, m) => {
    const share = shares[m] ?? 0;
    const prefix = [0];
    for (const pick of picks) prefix.push((prefix.at(-1) ?? 0) + (pick === member ? 1 : 0));
    for (let start = 0; start < picks.length; start++) {
      for (let end = start + 1; end <= picks.length; end++) {
        const count = (prefix[end] ?? 0) - (prefix[start] ?? 0);
        const exact = ((end - start) * share) / period;
        if (
          count < Math.floor(exact) - 1 ||
          count > Math.ceil(exact) + 1 ||
          (end - start === period && count !== share)
        ) {
          throw new Error(
            `member ${m} (share ${share}/${period}): ${count} picks in [${start}, ${end})`,
          );
        }
      }
    }
  });
}

const weightArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -3, 2.5, Number.NaN, Number.POSITIVE_INFINITY) },
);
const randomArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('weightedRoundRobin() property', () => {
  it('gives every instance its share ±1 in any window of picks, and exactly its share in any window of one period', () => {
    fc.assert(
      fc.property(fc.array(weightArb, { minLength: 1, maxLength: 7 }), randomArb, (weights, r) => {
        const picker = pickerOf(weights, weightedRoundRobin, () => r);
        const shares = expectedShares(weights);
        const period = shares.reduce((a, b) => a + b, 0);
        const picks = Array.from({ length: 2 * period + 3 }, () => picker.pick());
        expectFairWindows(picks, picker.instances, shares);
        expect(picks[0]).toBeDefined();
      }),
    );
  });

  it('with equal weights picks exactly as roundRobin() does from the same random start', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(0, -1, Number.NaN)),
        randomArb,
        (size, weight, r) => {
          const weights = Array.from({ length: size }, () => weight);
          const weightedPicks = pickerOf(weights, weightedRoundRobin, () => r);
          const plainPicks = pickerOf(weights, roundRobin, () => r);
          for (let i = 0; i < 3 * size; i++)
            expect(weightedPicks.pick()?.address).toBe(plainPicks.pick()?.address);
        },
      ),
    );
  });
});

/** The usable backends a mask leaves of `picker`'s members: a new array, as the channel gives. */
const usableOf = (picker: Picker, mask: readonly boolean[]): Backend[] =>
  picker.instances.filter((_, i) => mask[i]).map((member) => backend(member));

const masksArb = fc.array(fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), {
  minLength: 1,
  maxLength: 8,
});

describe("weightedRoundRobin()'s picker among a channel's usable backends, property", () => {
  it('picks only usable backends, each its share ±1 in any window and exactly per period, whatever came before', () => {
    fc.assert(
      fc.property(
        fc.array(weightArb, { minLength: 1, maxLength: 8 }),
        masksArb,
        randomArb,
        (weights, masks, r) => {
          const picker = pickerOf(weights, weightedRoundRobin, () => r);
          for (const mask of masks) {
            const usable = usableOf(picker, mask);
            if (usable.length === 0) continue;
            const members = usable.map((backend) => backend.instance);
            const shares = expectedShares(members.map((member: Instance) => member.weight));
            const period = shares.reduce((a, b) => a + b, 0);
            const picks = Array.from({ length: 2 * period }, () => picker.pick({ usable }));
            expect(picks.every((pick) => members.includes(pick as Instance))).toBe(true);
            expectFairWindows(picks, members, shares);
          }
        },
      ),
    );
  });

  it('with equal weights picks exactly as roundRobin() does, through every change of the usable backends', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 5 }),
        masksArb,
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 8, maxLength: 8 }),
        randomArb,
        (size, weight, masks, lengths, r) => {
          const weights = Array.from({ length: size }, () => weight);
          const weightedPicker = pickerOf(weights, weightedRoundRobin, () => r);
          const plainPicker = pickerOf(weights, roundRobin, () => r);
          masks.forEach((mask, i) => {
            const usable = usableOf(weightedPicker, mask);
            if (usable.length === 0) return;
            for (let n = 0; n < (lengths[i] ?? 0); n++) {
              expect(weightedPicker.pick({ usable })?.address).toBe(
                plainPicker.pick({ usable })?.address,
              );
            }
          });
        },
      ),
    );
  });
});
