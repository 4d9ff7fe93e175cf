/**
 * The cost of one membership change through the operators, at 100, 1,000 and 10,000
 * instances: `diff()` per source emission and `roundRobin()` per batch, each with one changed
 * instance and with 10 % churn (10 % of the addresses leave and as many new ones arrive).
 * Every emission is a fresh set of fresh objects, as every Consul answer is.
 *
 * Each size has a floor: the least work any operator must do for a keyed set of that size
 * (for diff(), copy it into a new map and look each address up in the previous one; for
 * roundRobin(), copy the members into a new array). Large maps miss the CPU caches, so the
 * floor's cost per instance grows with size too: diff() is linear when its multiple of the
 * floor stays the same at every size.
 */
import { do_not_optimize } from 'mitata';
import { firstValueFrom, from, Subject, toArray } from 'rxjs';
import type { Instance, InstanceSet, Update } from '../src/instance.js';
import { diff } from '../src/operators/diff.js';
import { roundRobin } from '../src/operators/round-robin.js';
import type { Benchmark } from './benchmark.js';
import { instanceSet, sizeLabel } from './fixtures.js';

export const DIFF_SIZES = [100, 1_000, 10_000] as const;

export const CHANGES = ['one change', '10 % churn'] as const;
type Change = (typeof CHANGES)[number];

export const DIFF_FLOOR = 'floor: copy to a new Map + look up each address';
export const ROUND_ROBIN_FLOOR = 'floor: copy the members to a new array';
export const diffGroup = (size: number) => `diff() per emission, ${sizeLabel(size)}`;
const roundRobinGroup = (size: number) => `roundRobin() per batch, ${sizeLabel(size)}`;

/** Two sets of `size` instances that differ by `change`: emitting them in turn changes that. */
function alternatingSets(size: number, change: Change): readonly [InstanceSet, InstanceSet] {
  if (change === 'one change') {
    return [instanceSet(size), instanceSet(size, { changed: size >> 1 })];
  }
  return [instanceSet(size), instanceSet(size, { first: Math.round(size / 10) })];
}

/** Calls `next` with `values` in turn, one per call. */
function alternately<T>(values: readonly [T, T], next: (value: T) => void): () => void {
  let turn = 0;
  return () => next(values[turn++ & 1] ?? values[0]);
}

function diffFloor(size: number): Benchmark {
  let previous: ReadonlyMap<string, Instance> = new Map();
  return {
    group: diffGroup(size),
    name: DIFF_FLOOR,
    baseline: true,
    fn: alternately(alternatingSets(size, 'one change'), (set) => {
      const next = new Map<string, Instance>();
      for (const [address, instance] of set) {
        next.set(address, instance);
        do_not_optimize(previous.get(address));
      }
      previous = next;
    }),
  };
}

function diffBenchmark(size: number, change: Change): Benchmark {
  const source = new Subject<InstanceSet>();
  source.pipe(diff()).subscribe((batch) => do_not_optimize(batch));
  return {
    group: diffGroup(size),
    name: `diff(), ${change}`,
    fn: alternately(alternatingSets(size, change), (set) => source.next(set)),
  };
}

function roundRobinFloor(size: number): Benchmark {
  const members = new Map([...instanceSet(size)]);
  return {
    group: roundRobinGroup(size),
    name: ROUND_ROBIN_FLOOR,
    baseline: true,
    fn: () => do_not_optimize([...members.values()]),
  };
}

async function roundRobinBenchmark(size: number, change: Change): Promise<Benchmark> {
  const [a, b] = alternatingSets(size, change);
  const [first, aToB, bToA] = await firstValueFrom(from([a, b, a]).pipe(diff(), toArray()));
  if (!first || !aToB || !bToA) throw new Error('diff() did not yield three batches');
  const source = new Subject<readonly Update[]>();
  source.pipe(roundRobin()).subscribe((picker) => do_not_optimize(picker));
  source.next(first);
  return {
    group: roundRobinGroup(size),
    name: `roundRobin(), ${change}`,
    fn: alternately([aToB, bToA], (batch) => source.next(batch)),
  };
}

export async function operatorBenchmarks(): Promise<Benchmark[]> {
  const benchmarks: Benchmark[] = [];
  for (const size of DIFF_SIZES) {
    benchmarks.push(diffFloor(size), ...CHANGES.map((change) => diffBenchmark(size, change)));
  }
  for (const size of DIFF_SIZES) {
    benchmarks.push(roundRobinFloor(size));
    for (const change of CHANGES) benchmarks.push(await roundRobinBenchmark(size, change));
  }
  return benchmarks;
}
