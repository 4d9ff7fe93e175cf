/**
 * The cost of a weighted pick: `weightedRoundRobin()`'s `Picker.pick()` over its members and
 * over the channel's usable backends, at 3, 100 and 10,000 instances weighted 3, 1, 1, 3, 1,
 * 1, … (a schedule of 5/3 slots per instance), in the `pick()` groups of micro-pick.ts, next to
 * the same floors as round robin's: a bare array index, and a bare index into the usable
 * backends that reads the backend's instance. rxlb runs from `rxlb` (dist/ in `npm run bench`).
 * Each picker is asked once before timing: its schedule is built on its first pick, and the
 * rows time the picks that follow.
 *
 * What a change of the usable backends costs (a backend connects, drops or is ejected: a new
 * schedule over them, then finding the place to go on from) is timed apart, at 100, 1,000 and
 * 10,000 instances, beside round robin's (a binary search for its place) and a floor (copying
 * the usable backends to a new array, as the channel does). Three usable arrays take turns, each
 * without a different member, so that the picker's cache of the last two never answers.
 */

import { do_not_optimize } from 'mitata';
import { firstValueFrom, of } from 'rxjs';
import { backend } from '../marbles/fixtures.js';
import type { Instance, Update } from '../src/instance.js';
import type { Backends } from '../src/picker.js';
import type { Benchmark } from './benchmark.js';
import { consulInstance } from './fixtures.js';
import { PICK_SIZES, pickGroup } from './micro-pick.js';
import type { RxlbApi } from './rxlb.js';

export const WEIGHTED_PICK_NAMES = Object.freeze({
  members: 'rxlb weightedRoundRobin Picker.pick() (members only, weights 3:1:1)',
  usable: 'rxlb weightedRoundRobin Picker.pick(backends) (weights 3:1:1)',
});

/** A batch adding `size` instances weighted 3, 1, 1, 3, 1, 1, … */
export function weightedBatch(size: number, weights: readonly number[] = [3, 1, 1]): Update[] {
  return Array.from({ length: size }, (_, i) => {
    const instance: Instance = { ...consulInstance(i), weight: weights[i % weights.length] ?? 1 };
    return { op: 'add', address: instance.address, instance };
  });
}

export async function weightedPickBenchmarks(rxlb: RxlbApi): Promise<Benchmark[]> {
  const benchmarks: Benchmark[] = [];
  for (const size of PICK_SIZES) {
    const picker = await firstValueFrom(of(weightedBatch(size)).pipe(rxlb.weightedRoundRobin()));
    const backends: Backends = {
      usable: picker.instances.map((instance) => backend(instance)),
    };
    picker.pick(); // builds the members' schedule, which the usable backends (all) share
    picker.pick(backends);
    benchmarks.push(
      {
        group: pickGroup(size),
        name: WEIGHTED_PICK_NAMES.members,
        fn: () => do_not_optimize(picker.pick()),
      },
      {
        group: pickGroup(size),
        name: WEIGHTED_PICK_NAMES.usable,
        fn: () => do_not_optimize(picker.pick(backends)),
      },
    );
  }
  return benchmarks;
}

export const CHANGE_SIZES = [100, 1_000, 10_000] as const;
export const changeGroup = (size: number) =>
  `pick() after a change of the usable backends, ${size.toLocaleString('en')} instances`;
export const CHANGE_NAMES = Object.freeze({
  floor: 'floor: copy the usable backends to a new array',
  roundRobin: 'rxlb roundRobin Picker.pick(backends)',
  weighted: 'rxlb weightedRoundRobin Picker.pick(backends) (weights 3:1:1)',
});

export async function usableChangeBenchmarks(rxlb: RxlbApi): Promise<Benchmark[]> {
  const benchmarks: Benchmark[] = [];
  for (const size of CHANGE_SIZES) {
    const batch = weightedBatch(size);
    const views = async (operator: typeof rxlb.roundRobin) => {
      const picker = await firstValueFrom(of(batch).pipe(operator()));
      const backends = picker.instances.map((instance) => backend(instance));
      const turns = [1, 2, 3].map((gap) => ({
        usable: backends.filter((_, i) => i !== Math.floor((gap * size) / 4)),
      }));
      let turn = 0;
      return () => do_not_optimize(picker.pick(turns[turn++ % 3]));
    };
    const all = batch.map((update) => update.op === 'add' && update.instance);
    benchmarks.push(
      {
        group: changeGroup(size),
        name: CHANGE_NAMES.floor,
        baseline: true,
        fn: () => do_not_optimize(all.filter((_, i) => i !== size >> 1)),
      },
      { group: changeGroup(size), name: CHANGE_NAMES.roundRobin, fn: await views(rxlb.roundRobin) },
      {
        group: changeGroup(size),
        name: CHANGE_NAMES.weighted,
        fn: await views(rxlb.weightedRoundRobin),
      },
    );
  }
  return benchmarks;
}
