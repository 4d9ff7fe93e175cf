import { from, of, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { added, backend, deleted, instance } from '../../marbles/fixtures.js';
import type { Instance, Update } from '../../src/instance.js';
import { type ZoneAwareOptions, zoneAware } from '../../src/operators/zone-aware.js';
import type { Picker } from '../../src/picker.js';
import { collect } from './collect.js';

let port = 1000;
const inZone = (zone: string) => instance(`10.0.0.1:${port++}`, { meta: { zone } });
const fleet = (counts: Readonly<Record<string, number>>): Instance[] =>
  Object.entries(counts).flatMap(([zone, count]) =>
    Array.from({ length: count }, () => inZone(zone)),
  );

function pickersOf(members: readonly Instance[], options: ZoneAwareOptions): Picker[] {
  return collect(from([members.map((m) => added(m))]).pipe(zoneAware(options))).values;
}

/** Each zone's share of `count` picks among all members as usable backends. */
function shares(picker: Picker, count = 10_000): Record<string, number> {
  const usable = picker.instances.map((m) => backend(m));
  const tally: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const zone = picker.pick({ usable })?.meta.zone ?? 'none';
    tally[zone] = (tally[zone] ?? 0) + 1 / count;
  }
  return tally;
}

describe('zoneAware()', () => {
  it('keeps every call in the local zone while it has anyone usable (3 in a, 3 in b)', () => {
    const [picker] = pickersOf(fleet({ a: 3, b: 3 }), { zone: 'a' });
    if (picker === undefined) throw new Error('no picker');
    expect(shares(picker).a).toBeCloseTo(1);
  });

  it('plans over every member as usable when pick() has no backends (no channel)', () => {
    const [all] = pickersOf(fleet({ a: 3, b: 3 }), { zone: 'a' });
    const zones = Array.from({ length: 100 }, () => all?.pick()?.meta.zone);
    expect(new Set(zones)).toEqual(new Set(['a']));
    const callers = fleet({ a: 5, b: 5 });
    const pickers = pickersOf(fleet({ a: 1, b: 3 }), { zone: 'a', callers$: of(callers) });
    const picker = pickers.at(-1);
    const tally: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++) {
      const zone = picker?.pick()?.meta.zone ?? 'none';
      tally[zone] = (tally[zone] ?? 0) + 1 / 10_000;
    }
    expect(tally.a).toBeGreaterThan(0.45);
    expect(tally.a).toBeLessThan(0.55);
    expect(tally.b).toBeCloseTo(1 - (tally.a ?? 0));
  });

  it('round-robins inside the local zone', () => {
    const members = fleet({ a: 3, b: 3 });
    const [picker] = pickersOf(members, { zone: 'a', random: () => 0 });
    const usable = picker?.instances.map((m) => backend(m)) ?? [];
    const picks = Array.from({ length: 6 }, () => picker?.pick({ usable })?.address);
    const local = members.slice(0, 3).map((m) => m.address);
    expect(picks).toEqual([...local, ...local]);
  });

  it('sends every call elsewhere when nobody in the local zone is usable', () => {
    const members = fleet({ a: 2, b: 3 });
    const [picker] = pickersOf(members, { zone: 'a' });
    const usable = (picker?.instances ?? [])
      .filter((m) => m.meta.zone === 'b')
      .map((m) => backend(m));
    for (let i = 0; i < 100; i++) expect(picker?.pick({ usable })?.meta.zone).toBe('b');
  });

  it('keeps about half the calls local with 1 in a, 3 in b and callers 5 in a, 5 in b', () => {
    const callers = fleet({ a: 5, b: 5 });
    const pickers = pickersOf(fleet({ a: 1, b: 3 }), { zone: 'a', callers$: of(callers) });
    const picker = pickers.at(-1);
    if (picker === undefined) throw new Error('no picker');
    const share = shares(picker).a ?? 0;
    expect(share).toBeGreaterThan(0.45);
    expect(share).toBeLessThan(0.55);
  });

  it('keeps every call local when the local zone has at least its share of the callers', () => {
    const callers = fleet({ a: 1, b: 9 });
    const picker = pickersOf(fleet({ a: 1, b: 3 }), { zone: 'a', callers$: of(callers) }).at(-1);
    if (picker === undefined) throw new Error('no picker');
    expect(shares(picker).a).toBeCloseTo(1);
  });

  it('spreads what does not stay local over the other zones by their surplus', () => {
    // members: a 1, b 3, c 6 (10%, 30%, 60%); callers a 50%, b 30%, c 20%:
    // a keeps 0.1 / 0.5 = 20%; b has no surplus, c all of it
    const callers = [...fleet({ a: 5, b: 3, c: 2 })];
    const picker = pickersOf(fleet({ a: 1, b: 3, c: 6 }), { zone: 'a', callers$: of(callers) }).at(
      -1,
    );
    if (picker === undefined) throw new Error('no picker');
    const tally = shares(picker);
    expect(tally.a).toBeGreaterThan(0.17);
    expect(tally.a).toBeLessThan(0.23);
    expect(tally.b ?? 0).toBe(0);
  });

  it('serves later batches when callers$ completes at once (a static list through of())', () => {
    const batches = new Subject<readonly Update[]>();
    const seen: Picker[] = [];
    const subscription = batches
      .pipe(zoneAware({ zone: 'a', callers$: of(fleet({ a: 5, b: 5 })) }))
      .subscribe((p) => seen.push(p));
    const members = fleet({ a: 1, b: 3 });
    batches.next(members.map((m) => added(m)));
    batches.next([deleted(members[3]?.address ?? '')]);
    expect(seen).toHaveLength(2);
    // the callers' shares still apply: a has 1 of 3 members, and half the callers
    expect(shares(seen[1] as Picker).a).toBeCloseTo(2 / 3, 1);
    subscription.unsubscribe();
  });

  it('emits a new picker when the callers change, and completes with the source', () => {
    const callers$ = new Subject<Instance[]>();
    const batches = new Subject<readonly Update[]>();
    const seen: Picker[] = [];
    let completed = false;
    batches.pipe(zoneAware({ zone: 'a', callers$ })).subscribe({
      next: (p) => seen.push(p),
      complete: () => {
        completed = true;
      },
    });
    const members = fleet({ a: 1, b: 3 });
    batches.next(members.map((m) => added(m)));
    expect(shares(seen[0] as Picker).a).toBeCloseTo(1);
    callers$.next(fleet({ a: 5, b: 5 }));
    expect(seen).toHaveLength(2);
    expect(seen[1]?.instances).toEqual(seen[0]?.instances);
    expect(shares(seen[1] as Picker).a).toBeLessThan(0.55);
    batches.next([deleted(members[0]?.address ?? '')]);
    expect(seen).toHaveLength(3);
    batches.complete();
    expect(completed).toBe(true);
    expect(callers$.observed).toBe(false);
  });

  it("reads a member's zone from its node's meta when its service meta has none", () => {
    const a = instance('10.0.0.1:80', { nodeMeta: { zone: 'a' } });
    const b = instance('10.0.0.2:80', { nodeMeta: { zone: 'b' }, meta: { zone: 'a' } });
    const c = instance('10.0.0.3:80', { nodeMeta: { zone: 'b' } });
    const [picker] = pickersOf([a, b, c], { zone: 'a' });
    const usable = (picker?.instances ?? []).map((m) => backend(m));
    const picked = new Set(Array.from({ length: 10 }, () => picker?.pick({ usable })?.address));
    expect(picked).toEqual(new Set([a.address, b.address]));
  });

  it('rejects a missing zone and a callers$ that is no Observable, naming the option', () => {
    const make = (options: unknown) => () => zoneAware(options as ZoneAwareOptions);
    expect(make({})).toThrow(/zoneAware\(\): missing option "zone"/);
    expect(make({ zone: 'a', callers$: [] })).toThrow(/"callers\$"/);
    expect(make({ zone: 'a', zones: 'b' })).toThrow(/unknown option "zones"/);
  });
});
