/**
 * The load-aware policies' `pick()` beside micro-pick.ts's floors, in the same groups: over the
 * members (`pick()`) and over usable backends with calls in flight (`pick(backends)`), as a
 * balanced channel asks. peakEwma() first learns a latency for every member, so that its picks
 * read estimates rather than the neutral cost. Add a policy to {@link PICK_POLICIES} and its
 * rows and targets follow.
 */
import { do_not_optimize } from 'mitata';
import { firstValueFrom, type OperatorFunction, of } from 'rxjs';
import type { Update } from '../src/instance.js';
import type { Backends, Picker } from '../src/picker.js';
import type { Benchmark } from './benchmark.js';
import { addAll } from './fixtures.js';
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
  for (const policy of PICK_POLICIES) {
    const picker = await firstValueFrom(of(addAll(size)).pipe(policy.operator(rxlb)));
    picker.instances.forEach((instance, i) => {
      const durationMs = 1 + (i % 7);
      picker.callEnded?.({ instance, durationMs, code: 0, connectionFailure: false });
    });
    const backends: Backends = {
      usable: picker.instances.map((instance, i) => ({ instance, inFlight: i % 4 })),
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
