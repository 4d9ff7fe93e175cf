/**
 * Weighted shares through the balanced channel: 3 backends weighted 3:1:1 behind
 * `weightedRoundRobin()`, `calls` unary calls from `concurrency` callers (closed loop), each
 * reply naming the backend that served it. The shares should be 60/20/20 within ±1 %.
 */
import { of } from 'rxjs';
import { type Instance, instanceFromAddress } from '../src/instance.js';
import { unaryCaller } from './load.js';
import type { RxlbApi } from './rxlb.js';

export interface WeightedSharesConfig {
  readonly calls: number;
  readonly concurrency: number;
}

export interface WeightedSharesResult {
  readonly weights: readonly number[];
  /** Each backend's share of the calls, in %, in the order of `weights`. */
  readonly shares: readonly number[];
  readonly calls: number;
  readonly errors: number;
  readonly seconds: number;
}

export const SHARE_WEIGHTS = [3, 1, 1] as const;

export async function runWeightedShares(
  rxlb: RxlbApi,
  addresses: readonly string[],
  { calls, concurrency }: WeightedSharesConfig,
): Promise<WeightedSharesResult> {
  const members: Instance[] = SHARE_WEIGHTS.map((weight, i) => ({
    ...instanceFromAddress(addresses[i] ?? ''),
    weight,
  }));
  const picker$ = of(members).pipe(rxlb.diff(), rxlb.weightedRoundRobin());
  const channel = rxlb.createBalancedChannel(picker$, { name: 'weighted' });
  try {
    await waitUntilReady(channel, members.length);
    const call = unaryCaller(channel);
    const counts = new Map<string, number>();
    let started = 0;
    let errors = 0;
    const start = performance.now();
    const caller = async () => {
      while (started++ < calls) {
        try {
          const { backend } = await call();
          counts.set(backend, (counts.get(backend) ?? 0) + 1);
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, caller));
    const served = calls - errors;
    return {
      weights: SHARE_WEIGHTS,
      shares: members.map((m) => (100 * (counts.get(m.address) ?? 0)) / Math.max(1, served)),
      calls,
      errors,
      seconds: (performance.now() - start) / 1e3,
    };
  } finally {
    channel.close();
  }
}

/** Until `count` backends are READY: the shares are those of the schedule over all of them. */
async function waitUntilReady(
  channel: { backends(): readonly { readonly state: string }[] },
  count: number,
): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const ready = channel.backends().filter((backend) => backend.state === 'READY').length;
    if (ready === count) return;
    if (Date.now() > deadline) throw new Error(`only ${ready} of ${count} backends READY in 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
