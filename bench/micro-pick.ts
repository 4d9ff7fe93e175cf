/**
 * The cost of choosing a backend for one call, at 3, 100 and 10,000 instances: rxlb's
 * `Picker.pick()`, the balanced channel's whole per-call choice (`pickBackend`: pick, pool
 * lookup, state check), grpc-js's own `RoundRobinPicker.pick()`, and a bare array-index loop,
 * the floor no picker can beat.
 */
import { connectivityState, type experimental, Metadata } from '@grpc/grpc-js';
import { do_not_optimize } from 'mitata';
import { firstValueFrom, of } from 'rxjs';
import { pickBackend } from '../src/grpc/pick-backend.js';
import type { Address, Instance } from '../src/instance.js';
import { roundRobin } from '../src/operators/round-robin.js';
import type { Picker } from '../src/picker.js';
import type { Benchmark } from './benchmark.js';
import { addAll, sizeLabel } from './fixtures.js';

export const PICK_SIZES = [3, 100, 10_000] as const;

const group = (size: number) => `pick(), ${sizeLabel(size)}`;

async function rxlbPicker(size: number): Promise<Picker> {
  return firstValueFrom(of(addAll(size)).pipe(roundRobin()));
}

/** What `pick()` cannot beat: the next element of an array, wrapping around. */
function bareLoop(size: number, instances: readonly Instance[]): Benchmark {
  const items = [...instances];
  let next = 0;
  return {
    group: group(size),
    name: 'floor: bare array index',
    baseline: true,
    fn: () => {
      const item = items[next];
      next = next + 1 < items.length ? next + 1 : 0;
      do_not_optimize(item);
    },
  };
}

function channelChoice(size: number, picker: Picker): Benchmark {
  const backends = new Map<
    Address,
    { readonly state: connectivityState; readonly ejected: boolean }
  >();
  for (const { address } of picker.instances) {
    backends.set(address, { state: connectivityState.READY, ejected: false });
  }
  const avoid: ReadonlySet<Address> = new Set();
  const lookup = (address: Address) => backends.get(address);
  return {
    group: group(size),
    name: 'rxlb balanced channel per call (pickBackend)',
    fn: () => do_not_optimize(pickBackend(picker, lookup, avoid)),
  };
}

/** `grpcJsPicker(size)` builds grpc-js's RoundRobinPicker; see grpc-js-picker.ts. */
export async function pickBenchmarks(
  grpcJsPicker: (size: number) => experimental.Picker,
): Promise<Benchmark[]> {
  const args: experimental.PickArgs = { metadata: new Metadata(), extraPickInfo: {} };
  const benchmarks: Benchmark[] = [];
  for (const size of PICK_SIZES) {
    const picker = await rxlbPicker(size);
    const grpcJs = grpcJsPicker(size);
    benchmarks.push(
      bareLoop(size, picker.instances),
      { group: group(size), name: 'rxlb Picker.pick()', fn: () => do_not_optimize(picker.pick()) },
      channelChoice(size, picker),
      {
        group: group(size),
        name: 'grpc-js RoundRobinPicker.pick()',
        fn: () => do_not_optimize(grpcJs.pick(args)),
      },
    );
  }
  return benchmarks;
}
