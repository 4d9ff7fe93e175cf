/**
 * The cost of choosing a backend for one call, at 3, 100 and 10,000 instances: rxlb's
 * `Picker.pick()` over its members and over the channel's usable backends, the balanced
 * channel's whole per-call pick (what grpc-js asks its picker: rxlb's choice among the usable
 * backends, the retry middleware's check, the backend's own pick_first result, and the
 * callbacks that count the call), grpc-js's own `RoundRobinPicker.pick()`, and a bare
 * array-index loop, the floor no picker can beat.
 */
import { type experimental, Metadata } from '@grpc/grpc-js';
import { do_not_optimize } from 'mitata';
import { firstValueFrom, of } from 'rxjs';
import type { BackendEntry } from '../src/grpc/backend.js';
import { type BalancedChannel, createBalancedChannel } from '../src/grpc/balanced-channel.js';
import { BalancedPicker, type View } from '../src/grpc/pickers.js';
import type { Address, Instance } from '../src/instance.js';
import { diff } from '../src/operators/diff.js';
import { roundRobin } from '../src/operators/round-robin.js';
import type { Picker } from '../src/picker.js';
import type { Benchmark } from './benchmark.js';
import { addAll, sizeLabel } from './fixtures.js';
import { cycle } from './grpc-js-picker.js';
import { field } from './reflect.js';

export const PICK_SIZES = [3, 100, 10_000] as const;

export const PICK_NAMES = Object.freeze({
  floor: 'floor: bare array index',
  members: 'rxlb Picker.pick() (members only)',
  usable: 'rxlb Picker.pick(backends)',
  channel: 'rxlb balanced channel per call (its grpc-js picker)',
  grpcJs: 'grpc-js RoundRobinPicker.pick()',
});

export const pickGroup = (size: number) => `pick(), ${sizeLabel(size)}`;

async function rxlbPicker(size: number): Promise<Picker> {
  return firstValueFrom(of(addAll(size)).pipe(roundRobin()));
}

/** What `pick()` cannot beat: the next element of an array, wrapping around. */
function bareLoop(size: number, instances: readonly Instance[]): Benchmark {
  const items = [...instances];
  let next = 0;
  return {
    group: pickGroup(size),
    name: PICK_NAMES.floor,
    baseline: true,
    fn: () => {
      const item = items[next];
      next = next + 1 < items.length ? next + 1 : 0;
      do_not_optimize(item);
    },
  };
}

/** A balanced channel's READY backends, taken from a live channel to `addresses`. */
async function readyBackends(
  addresses: readonly string[],
): Promise<{ readonly entries: readonly BackendEntry[]; readonly channel: BalancedChannel }> {
  const channel = createBalancedChannel(of(addresses).pipe(diff(), roundRobin()), {
    name: 'bench',
  });
  const deadline = Date.now() + 5_000;
  while (!channel.backends().every((backend) => backend.state === 'READY')) {
    if (Date.now() > deadline) {
      channel.close();
      throw new Error('the balanced channel did not make every backend READY in 5 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const balancer = field(field(channel, 'source'), 'balancer');
  const entries = (balancer as { backendsNow(): readonly BackendEntry[] }).backendsNow();
  return { entries, channel };
}

/**
 * The channel's per-call pick over `size` usable backends, cycled from the live READY ones
 * (as grpc-js's picker below is built from its live children).
 */
function channelPick(size: number, entries: readonly BackendEntry[]): Benchmark {
  const usable = cycle(entries, size);
  const view: View = { usable };
  for (const entry of entries) entry.view = view;
  const instances = usable.map((entry) => entry.instance);
  let next = 0;
  // A round-robin policy over the cycled view, as roundRobin()'s picker walks it.
  const policy: Picker = {
    instances,
    size,
    pick: (backends) => {
      const list = backends?.usable ?? usable;
      const backend = list[next];
      next = next + 1 < list.length ? next + 1 : 0;
      return backend?.instance;
    },
  };
  const members = new Map<Address, BackendEntry>(entries.map((entry) => [entry.address, entry]));
  const picker = new BalancedPicker(policy, view, members, 'bench');
  const args: experimental.PickArgs = { metadata: new Metadata(), extraPickInfo: {} };
  return {
    group: pickGroup(size),
    name: PICK_NAMES.channel,
    fn: () => do_not_optimize(picker.pick(args)),
  };
}

/** `grpcJsPicker(size)` builds grpc-js's RoundRobinPicker; see grpc-js-picker.ts. */
export async function pickBenchmarks(
  addresses: readonly string[],
  grpcJsPicker: (size: number) => experimental.Picker,
): Promise<{ readonly benchmarks: Benchmark[]; readonly close: () => void }> {
  const args: experimental.PickArgs = { metadata: new Metadata(), extraPickInfo: {} };
  const { entries, channel } = await readyBackends(addresses);
  const benchmarks: Benchmark[] = [];
  for (const size of PICK_SIZES) {
    const picker = await rxlbPicker(size);
    const backends = { usable: picker.instances.map((instance) => ({ instance, inFlight: 0 })) };
    const grpcJs = grpcJsPicker(size);
    benchmarks.push(
      bareLoop(size, picker.instances),
      {
        group: pickGroup(size),
        name: PICK_NAMES.members,
        fn: () => do_not_optimize(picker.pick()),
      },
      {
        group: pickGroup(size),
        name: PICK_NAMES.usable,
        fn: () => do_not_optimize(picker.pick(backends)),
      },
      channelPick(size, entries),
      {
        group: pickGroup(size),
        name: PICK_NAMES.grpcJs,
        fn: () => do_not_optimize(grpcJs.pick(args)),
      },
    );
  }
  return { benchmarks, close: () => channel.close() };
}
