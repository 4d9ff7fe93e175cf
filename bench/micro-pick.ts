/**
 * The cost of choosing a backend for one call, at 3, 100 and 10,000 instances: rxlb's
 * `Picker.pick()` over its members and over the channel's usable backends; the balanced
 * channel's whole per-call pick (the grpc-js picker its policy publishes: rxlb's choice among
 * the usable backends, the retry middleware's check, the backend's own pick_first result and
 * the callbacks that count the call); grpc-js's own `RoundRobinPicker.pick()`; and a bare
 * array-index loop, the floor no picker can beat.
 *
 * rxlb runs from its build (dist/), as users run it: the channel's pick creates its call's
 * callbacks, and tsx would wrap each in a `__name()` that the build does not have. Its
 * channel picker is taken from a live channel to the backends, as grpc-js's is (see
 * grpc-js-picker.ts), and built again over a view of `size` backends cycled from its own.
 */

import { type experimental, Metadata } from '@grpc/grpc-js';
import { do_not_optimize } from 'mitata';
import { firstValueFrom, of } from 'rxjs';
import { backend } from '../marbles/fixtures.js';
import type { Instance } from '../src/instance.js';
import type { Backend, Backends, Picker } from '../src/picker.js';
import type { Benchmark } from './benchmark.js';
import { addAll, sizeLabel } from './fixtures.js';
import { cycle } from './grpc-js-picker.js';
import { policyPickBenchmarks } from './micro-policy-pick.js';
import { field } from './reflect.js';
import type { RxlbApi } from './rxlb.js';

export const PICK_SIZES = [3, 100, 10_000] as const;

export const PICK_NAMES = Object.freeze({
  floor: 'floor: bare array index',
  floorBackends: "floor: bare index into the usable backends, and the backend's instance",
  members: 'rxlb Picker.pick() (members only)',
  usable: 'rxlb Picker.pick(backends)',
  channel: 'rxlb balanced channel per call (its grpc-js picker)',
  grpcJs: 'grpc-js RoundRobinPicker.pick()',
});

export const pickGroup = (size: number) => `pick(), ${sizeLabel(size)}`;

type GrpcJsPicker = experimental.Picker;

/** What the benchmark needs of the channel's picker and its backends (dist's classes). */
interface ChannelPicker extends GrpcJsPicker {
  readonly constructor: new (
    grpc: unknown, // the channel's grpc-js module
    policy: Picker,
    view: Backends,
    members: ReadonlyMap<string, Backend>,
    name: string,
    exhausted: () => void,
  ) => GrpcJsPicker;
}
type LiveBackend = Backend & { view: Backends | undefined };

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

/** What `pick(backends)` cannot beat: the same, through the backend objects it reads. */
function bareBackendLoop(size: number, backends: Backends): Benchmark {
  const items = [...backends.usable];
  let next = 0;
  return {
    group: pickGroup(size),
    name: PICK_NAMES.floorBackends,
    fn: () => {
      const item = items[next];
      next = next + 1 < items.length ? next + 1 : 0;
      do_not_optimize(item?.instance);
    },
  };
}

/** A balanced channel over `addresses` once every backend is READY, and its live picker. */
async function liveChannelPicker(rxlb: RxlbApi, addresses: readonly string[]) {
  const channel = rxlb.createBalancedChannel(of(addresses).pipe(rxlb.diff(), rxlb.roundRobin()));
  const deadline = Date.now() + 5_000;
  const ready = () => {
    const backends = channel.backends();
    return backends.length === addresses.length && backends.every((b) => b.state === 'READY');
  };
  while (!ready()) {
    if (Date.now() > deadline) {
      channel.close();
      throw new Error('the balanced channel did not make every backend READY in 5 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const picker = field(field(channel, 'internalChannel'), 'currentPicker') as ChannelPicker;
  const backends = (field(picker, 'view') as Backends).usable as readonly LiveBackend[];
  return { picker, backends, close: () => channel.close() };
}

/** The channel's pick over `size` usable backends, cycled from the live ones. */
function channelPick(
  size: number,
  live: Awaited<ReturnType<typeof liveChannelPicker>>,
  policy: Picker,
): Benchmark {
  const usable = cycle(live.backends, size);
  const view: Backends = { usable };
  const members = new Map(live.backends.map((backend) => [backend.instance.address, backend]));
  const grpc = field(live.picker, 'grpc');
  const picker = new live.picker.constructor(grpc, policy, view, members, 'bench', () => {});
  const args: experimental.PickArgs = { metadata: new Metadata(), extraPickInfo: {} };
  const [first] = live.backends;
  return {
    group: pickGroup(size),
    name: PICK_NAMES.channel,
    fn: () => {
      // The channel marks the backends of its current view; this group's view is that now.
      if (first?.view !== view) for (const backend of live.backends) backend.view = view;
      do_not_optimize(picker.pick(args));
    },
  };
}

/** `grpcJsPicker(size)` builds grpc-js's RoundRobinPicker; see grpc-js-picker.ts. */
export async function pickBenchmarks(
  rxlb: RxlbApi,
  addresses: readonly string[],
  grpcJsPicker: (size: number) => GrpcJsPicker,
): Promise<{ readonly benchmarks: Benchmark[]; readonly close: () => void }> {
  const args: experimental.PickArgs = { metadata: new Metadata(), extraPickInfo: {} };
  const live = await liveChannelPicker(rxlb, addresses);
  const policyOf = (instances: readonly Instance[]) =>
    firstValueFrom(of(instances).pipe(rxlb.diff(), rxlb.roundRobin()));
  const benchmarks: Benchmark[] = [];
  for (const size of PICK_SIZES) {
    const picker = await firstValueFrom(of(addAll(size)).pipe(rxlb.roundRobin()));
    const backends: Backends = {
      usable: picker.instances.map((instance) => backend(instance)),
    };
    const grpcJs = grpcJsPicker(size);
    const channelPolicy = await policyOf(cycle(live.backends, size).map((b) => b.instance));
    benchmarks.push(
      bareLoop(size, picker.instances),
      bareBackendLoop(size, backends),
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
      channelPick(size, live, channelPolicy),
      {
        group: pickGroup(size),
        name: PICK_NAMES.grpcJs,
        fn: () => do_not_optimize(grpcJs.pick(args)),
      },
      ...(await policyPickBenchmarks(rxlb, size, pickGroup(size))),
    );
  }
  return { benchmarks, close: live.close };
}
