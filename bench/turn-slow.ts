/**
 * A backend that turns slow mid-run (issue #10): each policy of policies.ts runs over the five
 * backends of policy-load.ts, all fast, then one of them becomes `slowMs` slower while the calls
 * go on. The result is how long after the change its share of the calls fell below half its
 * round-robin share (1/5 ÷ 2 = 10 %) for good: the end of the first window of `windowMs` (by
 * the time calls started, stepped by 10 ms) from which every later window shows less. So
 * `windowMs` is the shortest time it can report: that of a share below 10 % from the change on.
 */
import type { Backends } from './backends.js';
import { runLoad, unaryCaller } from './load.js';
import { rotate } from './macro.js';
import { POLICIES, type Policy } from './policies.js';
import { POLICY_BACKENDS, policyBackends } from './policy-load.js';
import type { RxlbApi } from './rxlb.js';
import { sleep } from './stats.js';

export interface TurnSlowConfig {
  /** Runs of every policy, interleaved; rows quote the median and the worst. */
  readonly runs: number;
  /** Calls with every backend fast, before the change. */
  readonly beforeMs: number;
  /** Calls after the change. */
  readonly afterMs: number;
  readonly windowMs: number;
  readonly concurrency: number;
  readonly slowMs: number;
}

/** Half the share round robin gives one of the five backends. */
export const SHED_SHARE = 1 / POLICY_BACKENDS / 2;
const STEP_MS = 10;

export interface TurnSlowRow {
  readonly policy: string;
  /** Per run: ms from the change until the share was below {@link SHED_SHARE} for good. */
  readonly shedMs: readonly number[];
  /** The share of the calls started in the last `windowMs` of each run. */
  readonly finalShare: readonly number[];
}

/** One call: when it started (ms, performance.now()) and whether the turning backend served it. */
interface Sample {
  readonly at: number;
  readonly slow: boolean;
}

/**
 * How long after `changedAt` the share of slow samples, over windows of `windowMs` by start
 * time, was below `threshold` for good: the end of the first window from which every window is
 * below; Infinity when the last window is still above it.
 */
export function shedTime(
  samples: readonly Sample[],
  changedAt: number,
  windowMs: number,
  threshold: number,
): number {
  const after = samples.filter((s) => s.at >= changedAt);
  const end = Math.max(changedAt, ...after.map((s) => s.at));
  let shed = 0;
  let lastStart = Number.NaN;
  for (let start = changedAt; start + windowMs <= end; start += STEP_MS) {
    lastStart = start;
    const window = after.filter((s) => s.at >= start && s.at < start + windowMs);
    const slow = window.filter((s) => s.slow).length;
    if (window.length === 0 || slow / window.length >= threshold)
      shed = start + STEP_MS - changedAt;
  }
  // too short a run to tell, or still above in its last window
  if (Number.isNaN(lastStart) || shed > lastStart - changedAt) return Number.POSITIVE_INFINITY;
  return shed + windowMs;
}

async function runOnce(rxlb: RxlbApi, backends: Backends, config: TurnSlowConfig, policy: Policy) {
  const { addresses, slowIndex } = policyBackends(backends);
  const turning = addresses[slowIndex];
  const channel = policy.open(rxlb, addresses);
  const call = unaryCaller(channel);
  const samples: Sample[] = [];
  const recorded = async () => {
    const at = performance.now();
    const reply = await call();
    samples.push({ at, slow: reply.backend === turning });
  };
  try {
    await runLoad(recorded, config.concurrency, config.beforeMs / 2); // connections, JIT
    samples.length = 0;
    const load = runLoad(recorded, config.concurrency, config.beforeMs + config.afterMs);
    await sleep(config.beforeMs);
    const changedAt = performance.now();
    await backends.setDelay(slowIndex, config.slowMs);
    await load;
    const lastStart = Math.max(...samples.map((s) => s.at));
    const lastWindow = samples.filter((s) => s.at >= lastStart - config.windowMs);
    return {
      shedMs: shedTime(samples, changedAt, config.windowMs, SHED_SHARE),
      finalShare: lastWindow.filter((s) => s.slow).length / Math.max(1, lastWindow.length),
    };
  } finally {
    channel.close();
    await backends.setDelay(slowIndex, 0);
  }
}

export async function runTurnSlow(
  rxlb: RxlbApi,
  backends: Backends,
  config: TurnSlowConfig,
): Promise<TurnSlowRow[]> {
  const rows = new Map(
    POLICIES.map((p) => [p.name, { shedMs: [] as number[], finalShare: [] as number[] }]),
  );
  for (let run = 0; run < config.runs; run++) {
    for (const policy of rotate(POLICIES, run)) {
      const result = await runOnce(rxlb, backends, config, policy);
      rows.get(policy.name)?.shedMs.push(result.shedMs);
      rows.get(policy.name)?.finalShare.push(result.finalShare);
    }
  }
  return [...rows].map(([policy, row]) => ({ policy, ...row }));
}
