import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { added, backend, deleted, instance } from '../../marbles/fixtures.js';
import type { Instance } from '../../src/instance.js';
import { buildSchedule } from '../../src/operators/internal/weighted-schedule.js';
import { weightedRoundRobin } from '../../src/operators/weighted-round-robin.js';
import type { Backend, Picker } from '../../src/picker.js';
import { collect } from './collect.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';

/** The only picker a batch of `members` gives, starting at `Math.floor(start * period)`. */
function pickerOf(members: readonly (Instance | string)[], start = 0): Picker {
  const [picker] = collect(
    of(members.map(added)).pipe(weightedRoundRobin({ random: () => start })),
  ).values;
  if (!picker) throw new Error('no picker');
  return picker;
}

const picks = (picker: Picker, n: number, usable?: readonly Backend[]) =>
  Array.from({ length: n }, () => picker.pick(usable && { usable })?.address);

const usableOf = (picker: Picker, ...addresses: string[]): Backend[] =>
  picker.instances
    .filter((member) => addresses.includes(member.address))
    .map((member) => backend(member));

const weighted = (address: string, weight: number) => instance(address, { weight });

describe('weightedRoundRobin() options', () => {
  it('throws a TypeError naming an unknown option', () => {
    expect(() => weightedRoundRobin({ randm: Math.random } as object)).toThrow(
      'weightedRoundRobin(): unknown option "randm"',
    );
  });

  it('throws a TypeError naming options.random when it is not a function', () => {
    const random = 0.5 as unknown as () => number;
    expect(() => weightedRoundRobin({ random })).toThrow(
      'weightedRoundRobin(): option "random" must be a function, got 0.5',
    );
  });

  it('errors with a RangeError naming options.random when it returns a value outside [0, 1)', () => {
    const { error } = collect(of([added(A)]).pipe(weightedRoundRobin({ random: () => 1 })));
    expect(error).toBeInstanceOf(RangeError);
    expect(String(error)).toContain('weightedRoundRobin(): options.random returned 1');
  });
});

describe('weightedRoundRobin() pickers', () => {
  it('interleaves weights 3:1:1 as A B A C A', () => {
    const picker = pickerOf([weighted(A, 3), B, C]);
    expect(picks(picker, 10)).toEqual([A, B, A, C, A, A, B, A, C, A]);
  });

  it('starts each picker at slot Math.floor(random() * sum of weights)', () => {
    expect(picks(pickerOf([weighted(A, 3), B, C], 0.2), 5)).toEqual([B, A, C, A, A]);
    expect(picks(pickerOf([weighted(A, 3), B, C], 0.99), 2)).toEqual([A, A]);
  });

  it('gives an empty batch a picker whose pick() returns undefined, without consulting random', () => {
    const random = () => expect.unreachable('random called for an empty picker');
    const [picker] = collect(of([]).pipe(weightedRoundRobin({ random }))).values;
    expect(picker).toMatchObject({ instances: [] });
    expect(picker?.pick()).toBeUndefined();
  });

  it('freezes its instances and keeps a replaced instance in its place with its new weight', () => {
    const pickers = collect(
      of([added(A), added(B)], [added(weighted(A, 2))], [deleted(B)]).pipe(
        weightedRoundRobin({ random: () => 0 }),
      ),
    ).values;
    expect(pickers.map((p) => p.instances.map((i) => [i.address, i.weight]))).toEqual([
      [
        [A, 1],
        [B, 1],
      ],
      [
        [A, 2],
        [B, 1],
      ],
      [[A, 2]],
    ]);
    expect(pickers.every((p) => Object.isFrozen(p.instances))).toBe(true);
    expect(picks(pickers[1] as Picker, 6)).toEqual([A, B, A, A, B, A]);
  });

  it('errors with a TypeError on an update whose op it does not know', () => {
    const bogus = { op: 'upsert', address: A } as never;
    const { error } = collect(of([bogus]).pipe(weightedRoundRobin()));
    expect(String(error)).toContain('weightedRoundRobin(): unknown update {"op":"upsert"');
  });
});

describe('weightedRoundRobin() weights', () => {
  it('drains an instance of weight 0 or below while another has a positive weight', () => {
    const picker = pickerOf([weighted(A, 0), B, weighted(C, -2)]);
    expect(picks(picker, 4)).toEqual([B, B, B, B]);
  });

  it('shares calls equally when every instance is drained', () => {
    expect(picks(pickerOf([weighted(A, 0), weighted(B, -1)]), 4)).toEqual([A, B, A, B]);
  });

  it('counts NaN, Infinity and a weight that is not a number as 1', () => {
    const odd = [Number.NaN, Number.POSITIVE_INFINITY, '3' as unknown as number];
    const picker = pickerOf([
      weighted(A, odd[0] ?? 0),
      weighted(B, odd[1] ?? 0),
      weighted(C, odd[2] ?? 0),
    ]);
    expect(picks(picker, 6)).toEqual([A, B, C, A, B, C]);
  });

  it('rounds a fractional weight to the nearest integer, at least 1', () => {
    const picker = pickerOf([weighted(A, 2.6), weighted(B, 0.2)]);
    expect(picks(picker, 4).filter((address) => address === A)).toHaveLength(3);
  });

  it('scales weights that add up to more than 2^16 and keeps their shares', () => {
    const picker = pickerOf([weighted(A, 3e15), weighted(B, 1e15), weighted(C, 1)]);
    const counts = new Map<string | undefined, number>();
    for (const address of picks(picker, 2 ** 16))
      counts.set(address, (counts.get(address) ?? 0) + 1);
    expect(Math.abs((counts.get(A) ?? 0) / 2 ** 16 - 0.75)).toBeLessThan(1e-4);
    expect(Math.abs((counts.get(B) ?? 0) / 2 ** 16 - 0.25)).toBeLessThan(1e-4);
    expect(counts.get(C)).toBeGreaterThanOrEqual(1);
  });

  it('keeps a drained instance drained, and the period at 2^16 slots, when it scales weights', () => {
    const picker = pickerOf([weighted(A, 100_000), weighted(B, 0), weighted(C, 1)]);
    const sequence = picks(picker, 2 ** 17);
    expect(sequence).not.toContain(B);
    // the light one once a period: 2^16 slots apart
    const light = sequence.flatMap((address, i) => (address === C ? [i] : []));
    expect(light).toHaveLength(2);
    expect((light[1] ?? 0) - (light[0] ?? 0)).toBe(2 ** 16);
  });

  it('refuses to build a schedule beyond 2^16 slots plus one a member, before allocating it', () => {
    // scheduledWeights() never asks for one; a bug that did would otherwise take gigabytes
    const weights = new Uint32Array([2 ** 31, 2 ** 31]);
    expect(() => buildSchedule(weights, new Int32Array([0, 1]))).toThrow(RangeError);
    expect(buildSchedule(new Uint32Array([2 ** 16, 1]), new Int32Array([0, 1])).period).toBe(
      2 ** 16 + 1,
    );
  });

  it('survives the largest weights a number holds', () => {
    const picker = pickerOf([weighted(A, Number.MAX_VALUE), weighted(B, Number.MAX_VALUE)]);
    expect(picks(picker, 4)).toEqual([A, B, A, B]);
  });
});

describe("weightedRoundRobin()'s picker among a channel's usable backends", () => {
  it('schedules over the usable backends only, with their weights', () => {
    const picker = pickerOf([weighted(A, 3), weighted(B, 2), C]);
    const usable = usableOf(picker, A, C);
    expect(picks(picker, 8, usable)).toEqual([A, C, A, A, A, C, A, A]);
  });

  it('finds backends whose instances are copies of its members by their addresses', () => {
    const picker = pickerOf([weighted(A, 3), weighted(B, 2), C]);
    // as a caller keeping its own Backend objects would hand them
    const usable = usableOf(picker, A, C).map((b) => backend({ ...b.instance }));
    expect(picks(picker, 8, usable)).toEqual([A, C, A, A, A, C, A, A]);
  });

  it('keeps its place when the usable backends change and change back', () => {
    const picker = pickerOf([A, B, C]);
    const all = usableOf(picker, A, B, C);
    expect(picks(picker, 2, all)).toEqual([A, B]);
    expect(picks(picker, 1, usableOf(picker, A, C))).toEqual([C]);
    expect(picks(picker, 2, all)).toEqual([A, B]);
  });

  it('starts among usable backends at its start slot, as without backends', () => {
    for (const [start, first] of [
      [0, A],
      [0.4, B],
      [0.7, C],
    ] as const) {
      const picker = pickerOf([A, B, C], start);
      expect(picks(picker, 1, usableOf(picker, A, B, C))).toEqual([first]);
      expect(picks(pickerOf([A, B, C], start), 1)).toEqual([first]);
    }
    // 3:1:1 is A B A C A: from slot 0 and from slot 3, with backends or without
    for (const start of [0, 0.6]) {
      const members = [weighted(A, 3), B, C];
      const picker = pickerOf(members, start);
      expect(picks(picker, 5, usableOf(picker, A, B, C))).toEqual(
        picks(pickerOf(members, start), 5),
      );
    }
    expect(picks(pickerOf([weighted(A, 3), B, C], 0.6), 2)).toEqual([C, A]);
  });

  it('resumes a weighted schedule after the slot that stood where its last pick stood', () => {
    // 3:1:1 is A B A C A; A and C alone, 3:1, stand as A A C A
    const picker = pickerOf([weighted(A, 3), B, C]);
    const all = usableOf(picker, A, B, C);
    expect(picks(picker, 2, all)).toEqual([A, B]);
    // B stood at its only pick, between A's first and third: C stands next
    expect(picks(picker, 1, usableOf(picker, A, C))).toEqual([C]);
    // back to all: after C's slot comes A's last, then the period again
    expect(picks(picker, 3, all)).toEqual([A, A, B]);
  });

  it('gives a drained backend calls when only drained backends are usable', () => {
    const picker = pickerOf([weighted(A, 0), B]);
    expect(picks(picker, 2, usableOf(picker, A))).toEqual([A, A]);
  });
});
