import { of, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { added, backend, deleted, instance } from '../../marbles/fixtures.js';
import type { Instance, Update } from '../../src/instance.js';
import { leastRequest } from '../../src/operators/least-request.js';
import type { Backend, Picker } from '../../src/picker.js';
import { countOf, seededRandom } from '../support/seeded-random.js';
import { collect } from './collect.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';

function pickerOf(batch: readonly Update[], options = {}): Picker {
  const [picker] = collect(of(batch).pipe(leastRequest(options))).values;
  if (!picker) throw new Error('no picker');
  return picker;
}

/** The picker's members as usable backends, with the calls in flight `inFlight` lists. */
function backends(picker: Picker, inFlight: readonly number[]): Backend[] {
  return picker.instances.map((member, i) => backend(member, { inFlight: inFlight[i] ?? 0 }));
}

function picks(picker: Picker, usable: readonly Backend[] | undefined, n: number): Instance[] {
  return Array.from({ length: n }, () => {
    const pick = usable ? picker.pick({ usable }) : picker.pick();
    if (!pick) throw new Error('no pick');
    return pick;
  });
}

const tally = (chosen: readonly Instance[]) => countOf(chosen.map((member) => member.address));

describe('leastRequest() options', () => {
  it('throws a TypeError naming choices when it is not an integer of at least 2', () => {
    for (const choices of [1, 2.5, Number.NaN, Number.POSITIVE_INFINITY, '2']) {
      expect(() => leastRequest({ choices } as object)).toThrow(TypeError);
      expect(() => leastRequest({ choices } as object)).toThrow(
        'leastRequest(): option "choices" must be an integer',
      );
    }
  });

  it('throws a TypeError naming random when it is not a function, and an unknown option', () => {
    expect(() => leastRequest({ random: 0.5 } as object)).toThrow(
      'leastRequest(): option "random" must be a function, got 0.5',
    );
    expect(() => leastRequest({ choice: 2 } as object)).toThrow(
      'leastRequest(): unknown option "choice"',
    );
  });

  it('throws a RangeError from pick() when random returns a value outside [0, 1)', () => {
    const picker = pickerOf([added(A), added(B)], { random: () => 1 });
    expect(() => picker.pick()).toThrow(RangeError);
    expect(() => picker.pick()).toThrow('leastRequest(): options.random returned 1');
  });
});

describe('leastRequest() pickers', () => {
  it('sends every pick between two backends to the one with fewer calls in flight', () => {
    const picker = pickerOf([added(A), added(B)]);
    expect(new Set(picks(picker, backends(picker, [3, 1]), 50).map((i) => i.address))).toEqual(
      new Set([B]),
    );
  });

  it('reads the calls in flight live: the same usable array, other counts, another winner', () => {
    const picker = pickerOf([added(A), added(B)]);
    const counts = [0, 2];
    const usable = picker.instances.map((member, i) => ({
      ...backend(member),
      get inFlight() {
        return counts[i] ?? 0;
      },
    }));
    expect(picker.pick({ usable })?.address).toBe(A);
    counts[0] = 5;
    expect(picker.pick({ usable })?.address).toBe(B);
  });

  it('never picks the most loaded of three with two choices, and picks the others alike', () => {
    const picker = pickerOf([added(A), added(B), added(C)], { random: seededRandom(1) });
    const counts = tally(picks(picker, backends(picker, [1, 1, 4]), 3_000));
    expect(counts.get(C)).toBeUndefined();
    // A and B tie: each wins half of the pairs they form, and every pair with C
    expect(counts.get(A)).toBeGreaterThan(1_300);
    expect(counts.get(B)).toBeGreaterThan(1_300);
  });

  it('with its own generator (no random option), picks members of equal load alike, and never the most loaded', () => {
    const picker = pickerOf([added(A), added(B), added(C), added('10.0.0.4:80')]);
    const counts = tally(picks(picker, backends(picker, [1, 1, 1, 3]), 6_000));
    expect(counts.get('10.0.0.4:80')).toBeUndefined();
    for (const address of [A, B, C]) expect(counts.get(address)).toBeGreaterThan(1_800);
  });

  it('weighs the calls in flight as Envoy does: weight 3 with 2 in flight beats weight 1 with 1', () => {
    const picker = pickerOf([added(instance(A, { weight: 3 })), added(B)]);
    expect(tally(picks(picker, backends(picker, [2, 1]), 20)).get(A)).toBe(20);
    expect(tally(picks(picker, backends(picker, [3, 0]), 20)).get(B)).toBe(20);
  });

  it("counts a backend's recent failures into its load: (inFlight + 1) × (1 + failures / (successes + 1))", () => {
    const picker = pickerOf([added(A), added(B)]);
    const [a, b] = picker.instances as [Instance, Instance];
    const winner = (measuredA: Partial<Backend>, measuredB: Partial<Backend>) =>
      new Set(
        picks(picker, [backend(a, measuredA), backend(b, measuredB)], 20).map((i) => i.address),
      );
    // 1 × (1 + 3 / 3) = 2 beats 3 × 1 = 3: failures among successes weigh less
    expect(winner({ failures: 3, successes: 2 }, { inFlight: 2 })).toEqual(new Set([A]));
    // 2 × (1 + 1 / 1) = 4 loses to 3 × 1 = 3: a failure with a call in flight weighs double
    expect(winner({ inFlight: 1, failures: 1 }, { inFlight: 2 })).toEqual(new Set([B]));
  });

  it('counts a weight of NaN or ±Infinity as 1', () => {
    for (const weight of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const picker = pickerOf([added(instance(A, { weight })), added(B)], {
        random: seededRandom(2),
      });
      expect(tally(picks(picker, backends(picker, [0, 1]), 10)).get(A)).toBe(10);
      const tied = tally(picks(picker, backends(picker, [1, 1]), 400));
      expect(tied.get(A)).toBeGreaterThan(150);
      expect(tied.get(B)).toBeGreaterThan(150);
    }
  });

  it('drains a member of weight 0 or below, idle or not, with or without backends, while another can be drawn', () => {
    for (const weight of [0, -2]) {
      const drained = instance(A, { weight });
      const picker = pickerOf([added(drained), added(B), added(C)], { random: seededRandom(4) });
      // A has nothing in flight and the others plenty: it still gets nothing
      const withBackends = tally(picks(picker, backends(picker, [0, 9, 5]), 300));
      expect(withBackends.get(A)).toBeUndefined();
      expect(withBackends.get(C)).toBe(300);
      expect(tally(picks(picker, undefined, 300)).get(A)).toBeUndefined();
      // among usable backends that lack the others, it is the only one left
      const alone = backends(picker, [0, 0, 0]).filter((b) => b.instance.address === A);
      expect(picker.pick({ usable: alone })?.address).toBe(A);
    }
  });

  it('shares calls alike among members when every one is drained, so that none is stranded', () => {
    const picker = pickerOf(
      [added(instance(A, { weight: 0 })), added(instance(B, { weight: 0 }))],
      {
        random: seededRandom(5),
      },
    );
    expect(tally(picks(picker, backends(picker, [2, 0]), 20)).get(B)).toBe(20);
    const counts = tally(picks(picker, undefined, 400));
    expect(counts.get(A)).toBeGreaterThan(150);
    expect(counts.get(B)).toBeGreaterThan(150);
  });

  it('with choices 3 of three members takes the least loaded of all', () => {
    const picker = pickerOf([added(A), added(B), added(C)], { choices: 3 });
    expect(tally(picks(picker, backends(picker, [2, 3, 1]), 50)).get(C)).toBe(50);
  });

  it('with choices 3 of five never picks either of the two most loaded, and the least loaded 3 times in 5', () => {
    const five = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.4:80', '10.0.0.5:80'];
    const picker = pickerOf(
      five.map((a) => added(a)),
      { choices: 3, random: seededRandom(3) },
    );
    const counts = tally(picks(picker, backends(picker, [0, 1, 2, 3, 4]), 5_000));
    // any three distinct members include one of the three least loaded
    expect(counts.get('10.0.0.5:80')).toBeUndefined();
    expect(counts.get('10.0.0.4:80')).toBeUndefined();
    // the least loaded is in 3 of 5 draws of three
    expect((counts.get(A) ?? 0) / 5_000).toBeCloseTo(0.6, 1);
  });

  it('without backends picks uniformly among members of equal weight, and returns undefined when empty', () => {
    const picker = pickerOf([added(A), added(B), added(C)], { random: seededRandom(4) });
    const counts = tally(picks(picker, undefined, 3_000));
    for (const address of [A, B, C]) expect(counts.get(address)).toBeGreaterThan(850);
    expect(pickerOf([]).pick()).toBeUndefined();
  });

  it('with its own generator, picks alike among members without backends, and among five backends with choices 3', () => {
    const members = pickerOf([added(A), added(B), added(C)]);
    const counts = tally(picks(members, undefined, 3_000));
    for (const address of [A, B, C]) expect(counts.get(address)).toBeGreaterThan(850);
    const five = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.4:80', '10.0.0.5:80'];
    const three = pickerOf(
      five.map((a) => added(a)),
      { choices: 3 },
    );
    const ofFive = tally(picks(three, backends(three, [0, 0, 0, 0, 0]), 5_000));
    for (const address of five) expect(ofFive.get(address)).toBeGreaterThan(800);
  });

  it('without backends and with choices 3 of three, takes the heaviest member', () => {
    const picker = pickerOf([added(A), added(B), added(instance(C, { weight: 5 }))], {
      choices: 3,
    });
    expect(tally(picks(picker, undefined, 50)).get(C)).toBe(50);
  });

  it('without backends prefers the heavier member of the two drawn', () => {
    const picker = pickerOf([added(instance(A, { weight: 2 })), added(B)]);
    expect(tally(picks(picker, undefined, 20)).get(A)).toBe(20);
  });

  it('applies every batch to the members, replacing in place, and emits a picker for each', () => {
    const batches = new Subject<readonly Update[]>();
    const { values } = collect(batches.pipe(leastRequest()));
    batches.next([added(A), added(B)]);
    batches.next([added(instance(A, { weight: 2 })), deleted(C)]);
    batches.next([deleted(A)]);
    batches.next([]);
    expect(values.map((p) => p.instances.map((i) => [i.address, i.weight]))).toEqual([
      [
        [A, 1],
        [B, 1],
      ],
      [
        [A, 2],
        [B, 1],
      ],
      [[B, 1]],
      [[B, 1]],
    ]);
    expect(Object.isFrozen(values[0]?.instances)).toBe(true);
  });
});
