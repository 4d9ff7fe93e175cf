/**
 * Policies side by side (issue #10): unary calls through each policy of policies.ts over five
 * backends in the backends' process, closed loop, first with five equal backends, then with one
 * of them slow (every call to it waits `slowMs` more). Rounds are interleaved as in macro.ts:
 * each round runs every policy once, in an order rotated from round to round, and rows quote
 * medians over rounds; ratios are medians of per-round ratios.
 */
import type { Backends } from './backends.js';
import { type LoadResult, runLoad, unaryCaller } from './load.js';
import { rotate } from './macro.js';
import { POLICIES, POLICY_NAMES } from './policies.js';
import type { RxlbApi } from './rxlb.js';
import { median } from './stats.js';

export interface PolicyLoadConfig {
  /**
   * Rounds over equal backends, and with one slow: on equal backends the policies differ by
   * a few percent at most, which takes more rounds to tell from the machine's drift.
   */
  readonly rounds: { readonly equal: number; readonly slow: number };
  /** How long each policy runs in each round. */
  readonly cellMs: number;
  /** Load on every channel before the first round (connections, JIT, what a policy learns). */
  readonly warmupMs: number;
  readonly concurrency: number;
  /** How much slower the slow backend answers. */
  readonly slowMs: number;
}

/** How many backends the policy benchmarks balance over; the last one is the one made slow. */
export const POLICY_BACKENDS = 5;

export type BackendMix = 'equal' | 'one slow';

/** One policy over one mix of backends: medians over the rounds. */
export interface PolicyRow {
  readonly policy: string;
  readonly backends: BackendMix;
  readonly callsPerSecond: number;
  /** Of the calls answered, the share the slow backend answered (the same backend when equal). */
  readonly slowShare: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  /** Median of the per-round ratios of calls/s to rxlb roundRobin()'s and grpc-js's. */
  readonly vsRoundRobin: number;
  readonly vsGrpcJs: number;
}

interface Cell {
  readonly policy: string;
  readonly round: number;
  readonly load: LoadResult;
  readonly slowShare: number;
}

/** The backends the policies balance over, and the one that `runPolicyLoad` makes slow. */
export function policyBackends(backends: Backends): {
  readonly addresses: readonly string[];
  readonly slowIndex: number;
} {
  const addresses = backends.addresses.slice(0, POLICY_BACKENDS);
  if (addresses.length < POLICY_BACKENDS) throw new Error(`need ${POLICY_BACKENDS} backends`);
  return { addresses, slowIndex: POLICY_BACKENDS - 1 };
}

async function measureMix(
  rxlb: RxlbApi,
  backends: Backends,
  config: PolicyLoadConfig,
  mix: BackendMix,
): Promise<PolicyRow[]> {
  const { addresses, slowIndex } = policyBackends(backends);
  const slowAddress = addresses[slowIndex];
  await backends.setDelay(slowIndex, mix === 'equal' ? 0 : config.slowMs);
  const channels = POLICIES.map((policy) => {
    const channel = policy.open(rxlb, addresses);
    const call = unaryCaller(channel);
    let slow = 0;
    const counted = async () => {
      const reply = await call();
      if (reply.backend === slowAddress) slow++;
    };
    const cell = async (ms: number) => {
      slow = 0;
      const load = await runLoad(counted, config.concurrency, ms);
      return { load, slowShare: slow / Math.max(1, load.calls) };
    };
    return { policy: policy.name, channel, cell };
  });
  try {
    for (const { cell } of channels) await cell(config.warmupMs);
    const cells: Cell[] = [];
    const rounds = mix === 'equal' ? config.rounds.equal : config.rounds.slow;
    for (let round = 0; round < rounds; round++) {
      for (const { policy, cell } of rotate(channels, round)) {
        cells.push({ policy, round, ...(await cell(config.cellMs)) });
      }
    }
    return POLICIES.map(({ name }) => summarize(cells, name, mix));
  } finally {
    for (const { channel } of channels) channel.close();
    await backends.setDelay(slowIndex, 0);
  }
}

function summarize(cells: readonly Cell[], policy: string, backends: BackendMix): PolicyRow {
  const mine = cells.filter((c) => c.policy === policy);
  const of = (value: (cell: Cell) => number) => median(mine.map(value));
  const ratio = (other: string) =>
    median(
      mine.map((cell) => {
        const peer = cells.find((c) => c.policy === other && c.round === cell.round);
        return peer ? cell.load.callsPerSecond / peer.load.callsPerSecond : Number.NaN;
      }),
    );
  return {
    policy,
    backends,
    callsPerSecond: of((c) => c.load.callsPerSecond),
    slowShare: of((c) => c.slowShare),
    p50Ms: of((c) => c.load.p50Ms),
    p99Ms: of((c) => c.load.p99Ms),
    p999Ms: of((c) => c.load.p999Ms),
    errors: mine.reduce((sum, c) => sum + c.load.errors, 0),
    firstError: mine.find((c) => c.load.firstError !== undefined)?.load.firstError,
    vsRoundRobin: ratio(POLICY_NAMES.roundRobin),
    vsGrpcJs: ratio(POLICY_NAMES.grpcJs),
  };
}

/** Every policy over five equal backends, then over five of which one is slow. */
export async function runPolicyLoad(
  rxlb: RxlbApi,
  backends: Backends,
  config: PolicyLoadConfig,
): Promise<PolicyRow[]> {
  const equal = await measureMix(rxlb, backends, config, 'equal');
  const slow = await measureMix(rxlb, backends, config, 'one slow');
  return [...equal, ...slow];
}
