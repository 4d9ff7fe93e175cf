/**
 * Micro benchmarks: the cost of one `diff()` emission and of one `pick()`, beside a bare
 * array-index loop as the floor.
 */
import { do_not_optimize } from 'mitata';
import { firstValueFrom, of, Subject } from 'rxjs';
import type { Instance, InstanceSet, Update } from '../src/instance.js';
import { diff } from '../src/operators/diff.js';
import { roundRobin } from '../src/operators/round-robin.js';
import type { Benchmark } from './benchmark.js';

const DIFF_SIZES = [100, 1_000, 10_000];
const PICK_SIZES = [3, 100, 10_000];

/** A Consul-like instance; a fresh object each call, as every Consul answer brings. */
function consulInstance(i: number, version: string): Instance {
  const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:50051`;
  return {
    address,
    id: `greeter-${i}`,
    service: 'greeter',
    node: `node-${i % 50}`,
    datacenter: 'dc1',
    tags: ['grpc', 'v1'],
    meta: { version },
    weight: 1,
  };
}

function instanceSet(size: number, changed: number): InstanceSet {
  const set = new Map<string, Instance>();
  for (let i = 0; i < size; i++) {
    const instance = consulInstance(i, i === changed ? '2' : '1');
    set.set(instance.address, instance);
  }
  return set;
}

/** Each call emits the next of two sets that differ in one instance's metadata. */
function diffBenchmark(size: number): Benchmark {
  const sets = [instanceSet(size, -1), instanceSet(size, size >> 1)];
  const source = new Subject<InstanceSet>();
  source.pipe(diff()).subscribe((batch) => do_not_optimize(batch));
  let turn = 0;
  return {
    group: 'diff(), one change per emission',
    name: `${size.toLocaleString('en')} instances`,
    fn: () => source.next(sets[turn++ & 1] ?? new Map()),
  };
}

async function pickBenchmark(size: number): Promise<Benchmark> {
  const batch: Update[] = [];
  for (let i = 0; i < size; i++) {
    const instance = consulInstance(i, '1');
    batch.push({ op: 'add', address: instance.address, instance });
  }
  const picker = await firstValueFrom(of(batch).pipe(roundRobin()));
  return {
    group: 'pick()',
    name: `${size.toLocaleString('en')} instances`,
    fn: () => do_not_optimize(picker.pick()),
  };
}

/** What `pick()` cannot beat: the next element of an array, wrapping around. */
function arrayIndexBenchmark(): Benchmark {
  const items = Array.from({ length: 100 }, (_, i) => consulInstance(i, '1'));
  let next = 0;
  return {
    group: 'pick()',
    name: 'reference: bare array index, 100 items',
    fn: () => {
      const item = items[next];
      next = next + 1 < items.length ? next + 1 : 0;
      do_not_optimize(item);
    },
  };
}

export async function microBenchmarks(): Promise<Benchmark[]> {
  return [
    ...DIFF_SIZES.map(diffBenchmark),
    ...(await Promise.all(PICK_SIZES.map(pickBenchmark))),
    arrayIndexBenchmark(),
  ];
}
