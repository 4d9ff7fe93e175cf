/**
 * The load-aware policies' `pick()` beside micro-pick.ts's floors, in the same groups: over the
 * members (`pick()`) and over usable backends with calls in flight (`pick(backends)`), as a
 * balanced channel asks. peakEwma() first learns a latency for every member, so that its picks
 * read estimates rather than the neutral cost. Add a policy to {@link PICK_POLICIES} and its
 * rows and targets follow.
 */

import { do_not_optimize } from 'mitata';
import { firstValueFrom, type OperatorFunction, of } from 'rxjs';
import { backend } from '../marbles/fixtures.js';
import type { Update } from '../src/instance.js';
import type { Backend, Backends, Picker } from '../src/picker.js';
import type { Benchmark } from './benchmark.js';
import { addAll, instanceSet } from './fixtures.js';
import type { RxlbApi } from './rxlb.js';

export interface PickPolicy {
  /** e.g. `leastRequest()` */
  readonly name: string;
  /** The target: p50 at most this many times its floor's. */
  readonly maxVsFloor: number;
  operator(rxlb: RxlbApi): OperatorFunction<readonly Update[], Picker>;
}

export const PICK_POLICIES: readonly PickPolicy[] = [
  { name: 'leastRequest()', maxVsFloor: 5, operator: (rxlb) => rxlb.leastRequest() },
  { name: 'peakEwma()', maxVsFloor: 5, operator: (rxlb) => rxlb.peakEwma() },
];

/** The row of what no P2C pick can beat, beside the bare loop that the targets compare with. */
export const P2C_FLOOR =
  'floor: P2C by hand (one xorshift32 draw, two backends at random positions, the one with fewer calls in flight)';

/**
 * What a P2C pick cannot beat: a draw of a generator written inline, split into two distinct
 * positions, their two backends' counts compared, the winner's instance. It reads two backends
 * at random positions where the bare loop reads the next one: at 10,000 members they are
 * rarely in the processor's caches.
 */
function p2cFloor(backends: Backends, group: string): Benchmark {
  const usable = [...backends.usable];
  const n = usable.length;
  const state = new Int32Array([0x2545f491]);
  return {
    group,
    name: P2C_FLOOR,
    fn: () => {
      let x = state[0] as number;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      state[0] = x;
      const drawn = (x >>> 0) * 2 ** -32 * n;
      const first = drawn | 0;
      let second = ((drawn - first) * (n - 1)) | 0;
      second += Number(second >= first);
      const a = usable[first] as Backend;
      const b = usable[second] as Backend;
      const winner = first + (second - first) * Number(b.inFlight < a.inFlight);
      do_not_optimize((usable[winner] as Backend).instance);
    },
  };
}

/** The row of `policy`'s pick over the members, or over usable backends. */
export function policyPickName(policy: PickPolicy, over: 'members' | 'backends'): string {
  return over === 'members'
    ? `rxlb ${policy.name} Picker.pick() (members only)`
    : `rxlb ${policy.name} Picker.pick(backends)`;
}

/** Every policy's two rows over `size` instances, in `group` (micro-pick.ts's of that size). */
export async function policyPickBenchmarks(
  rxlb: RxlbApi,
  size: number,
  group: string,
): Promise<Benchmark[]> {
  const benchmarks: Benchmark[] = [];
  const floorBackends: Backends = {
    usable: [...instanceSet(size).values()].map((instance, i) =>
      backend(instance, { inFlight: i % 4 }),
    ),
  };
  benchmarks.push(p2cFloor(floorBackends, group));
  for (const policy of PICK_POLICIES) {
    const picker = await firstValueFrom(of(addAll(size)).pipe(policy.operator(rxlb)));
    // latencies as the channel would have measured them, 1 to 7 ms
    const backends: Backends = {
      usable: picker.instances.map((instance, i) =>
        backend(instance, { inFlight: i % 4, latencyMs: 1 + (i % 7) }),
      ),
    };
    benchmarks.push(
      {
        group,
        name: policyPickName(policy, 'members'),
        fn: () => do_not_optimize(picker.pick()),
      },
      {
        group,
        name: policyPickName(policy, 'backends'),
        fn: () => do_not_optimize(picker.pick(backends)),
      },
    );
  }
  return benchmarks;
}
