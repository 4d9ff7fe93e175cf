import { of, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { added, deleted, instance } from '../../marbles/fixtures.js';
import type { Update } from '../../src/instance.js';
import { roundRobin } from '../../src/operators/round-robin.js';
import type { Picker } from '../../src/picker.js';
import { collect } from './collect.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';

const addresses = (picker: Picker | undefined) => picker?.instances.map((i) => i.address);

describe('roundRobin() options', () => {
  it('throws a TypeError naming options.random when it is not a function', () => {
    const random = 0.5 as unknown as () => number;
    expect(() => roundRobin({ random })).toThrow(TypeError);
    expect(() => roundRobin({ random })).toThrow('option "random" must be a function, got 0.5');
  });

  it('throws a TypeError naming an unknown option', () => {
    expect(() => roundRobin({ randm: Math.random } as object)).toThrow(
      'roundRobin(): unknown option "randm"',
    );
  });

  it('throws a TypeError when the options are not an object', () => {
    expect(() => roundRobin(null as unknown as object)).toThrow(
      'roundRobin(): options must be an object, got null',
    );
  });

  it('errors with a RangeError naming options.random when it returns a value outside [0, 1)', () => {
    for (const value of [1, -0.1, Number.NaN]) {
      const { error } = collect(of([added(A)]).pipe(roundRobin({ random: () => value })));
      expect(error).toBeInstanceOf(RangeError);
      expect(String(error)).toBe(
        `RangeError: roundRobin(): options.random returned ${value}, expected a number in [0, 1)`,
      );
    }
  });

  it('cycles fairly with the default Math.random', () => {
    const [picker] = collect(of([added(A), added(B), added(C)]).pipe(roundRobin())).values;
    const picks = Array.from({ length: 6 }, () => picker?.pick()?.address);
    expect(picks.filter((a) => a === A)).toHaveLength(2);
    expect(new Set(picks.slice(0, 3)).size).toBe(3);
  });
});

describe('roundRobin() pickers', () => {
  it('starts each picker at Math.floor(random() * size)', () => {
    const randoms = [0, 0.34, 0.99];
    const random = () => randoms.shift() ?? 0;
    const batch = [added(A), added(B), added(C)];
    const pickers = collect(of(batch, batch, batch).pipe(roundRobin({ random }))).values;
    expect(pickers.map((p) => p.pick()?.address)).toEqual([A, B, C]);
  });

  it('gives an empty batch a picker whose pick() returns undefined, without consulting random', () => {
    const random = () => expect.unreachable('random called for an empty picker');
    const [picker] = collect(of([]).pipe(roundRobin({ random }))).values;
    expect(picker).toMatchObject({ instances: [] });
    expect(picker?.pick()).toBeUndefined();
    expect(picker?.pick()).toBeUndefined();
  });

  it('never changes a picker once emitted, and freezes its instances', () => {
    const pickers = collect(of([added(A)], [added(B)], [deleted(A)]).pipe(roundRobin())).values;
    expect(pickers.map(addresses)).toEqual([[A], [A, B], [B]]);
    expect(pickers.map((p) => p.instances.length)).toEqual([1, 2, 1]);
    for (const picker of pickers) expect(Object.isFrozen(picker.instances)).toBe(true);
  });

  it('keeps a replaced instance in its place and serves the new attributes', () => {
    const heavier = instance(B, { weight: 5 });
    const pickers = collect(
      of([added(A), added(B), added(C)], [added(heavier)]).pipe(roundRobin({ random: () => 0 })),
    ).values;
    expect(addresses(pickers[1])).toEqual([A, B, C]);
    expect(pickers[1]?.instances[1]).toBe(heavier);
  });

  it('errors with a TypeError on an update whose op it does not know', () => {
    const bogus = { op: 'upsert', address: A } as unknown as Update;
    const { error } = collect(of([bogus]).pipe(roundRobin()));
    expect(error).toBeInstanceOf(TypeError);
    expect(String(error)).toMatch(/^TypeError: roundRobin\(\): unknown update \{"op":"upsert"/);
  });
});

describe('roundRobin() subscriptions', () => {
  it('starts every subscription with no members', () => {
    const batches = new Subject<readonly Update[]>();
    const pickers = batches.pipe(roundRobin({ random: () => 0 }));
    const first: Picker[] = [];
    const second: Picker[] = [];
    pickers.subscribe((p) => first.push(p));
    batches.next([added(A)]);
    pickers.subscribe((p) => second.push(p));
    batches.next([added(B)]);
    expect(first.map(addresses)).toEqual([[A], [A, B]]);
    expect(second.map(addresses)).toEqual([[B]]);
  });
});
