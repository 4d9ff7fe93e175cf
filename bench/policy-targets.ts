/** The targets of issue #10 for the load-aware policies, each judged against the measured value. */
import type { BenchmarkResult } from './benchmark.js';
import { sizeLabel } from './fixtures.js';
import { PICK_NAMES, PICK_SIZES, pickGroup } from './micro-pick.js';
import { P2C_FLOOR, PICK_POLICIES, policyPickName } from './micro-policy-pick.js';
import { POLICY_NAMES } from './policies.js';
import type { PolicyRow } from './policy-load.js';
import type { BenchResults } from './suite.js';
import { formatDuration, formatRatio } from './table.js';
import type { TargetResult } from './targets.js';

/** Largest share of calls on the slow backend, by policy. */
export const MAX_SLOW_SHARE: Readonly<Record<string, number>> = {
  [POLICY_NAMES.leastRequest]: 0.05,
  [POLICY_NAMES.peakEwma]: 0.02,
};
/** With one slow backend, the load-aware policies' calls/s ÷ grpc-js round_robin's. */
export const MIN_VS_GRPC_JS = 2;
/** With one slow backend, peakEwma()'s p99 ÷ grpc-js round_robin's. */
export const MAX_P99_VS_GRPC_JS = 0.5;
/** On equal backends, every rxlb policy's calls/s ÷ roundRobin()'s. */
export const MIN_VS_ROUND_ROBIN = 0.97;
/** A backend turning slow: longest time until its share is below half its round-robin share. */
export const MAX_SHED_MS = 1_000;

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

function loadTargets(rows: readonly PolicyRow[]): TargetResult[] {
  const slow = (policy: string) =>
    rows.find((r) => r.backends === 'one slow' && r.policy === policy);
  const roundRobin = slow(POLICY_NAMES.roundRobin);
  const grpcJs = slow(POLICY_NAMES.grpcJs);
  const targets: TargetResult[] = [];
  for (const [policy, max] of Object.entries(MAX_SLOW_SHARE)) {
    const row = slow(policy);
    targets.push(
      {
        target: `one slow backend of five: ${policy} puts ≤ ${percent(max)} of the calls on it`,
        measured: `${percent(row?.slowShare ?? Number.NaN)} (roundRobin() ${percent(roundRobin?.slowShare ?? Number.NaN)})`,
        met: (row?.slowShare ?? Number.NaN) <= max,
      },
      {
        target: `one slow backend of five: ${policy} calls/s ≥ ${MIN_VS_GRPC_JS}× grpc-js round_robin's`,
        measured: `${formatRatio(row?.vsGrpcJs ?? Number.NaN)}× (${row?.callsPerSecond.toFixed(0)} vs ${grpcJs?.callsPerSecond.toFixed(0)} calls/s)`,
        met: (row?.vsGrpcJs ?? Number.NaN) >= MIN_VS_GRPC_JS,
      },
    );
  }
  const ewma = slow(POLICY_NAMES.peakEwma);
  const p99Ratio = (ewma?.p99Ms ?? Number.NaN) / (grpcJs?.p99Ms ?? Number.NaN);
  targets.push({
    target: `one slow backend of five: ${POLICY_NAMES.peakEwma} p99 ≤ ${MAX_P99_VS_GRPC_JS} × grpc-js round_robin's`,
    measured: `${formatRatio(p99Ratio)}× (${ewma?.p99Ms.toFixed(1)} ms vs ${grpcJs?.p99Ms.toFixed(1)} ms)`,
    met: p99Ratio <= MAX_P99_VS_GRPC_JS,
  });
  const equal = rows.filter(
    (r) =>
      r.backends === 'equal' &&
      r.policy.startsWith('rxlb ') &&
      r.policy !== POLICY_NAMES.roundRobin,
  );
  for (const row of equal) {
    targets.push({
      target: `five equal backends: ${row.policy} calls/s ≥ ${MIN_VS_ROUND_ROBIN} × roundRobin()'s`,
      measured: `${row.vsRoundRobin.toFixed(3)} (${row.callsPerSecond.toFixed(0)} calls/s)`,
      met: row.vsRoundRobin >= MIN_VS_ROUND_ROBIN,
    });
  }
  return targets;
}

function turnSlowTargets({ policies }: Pick<BenchResults, 'policies'>): TargetResult[] {
  return [POLICY_NAMES.leastRequest, POLICY_NAMES.peakEwma].map((policy) => {
    const shed = policies.turnSlow.find((row) => row.policy === policy)?.shedMs ?? [];
    const worst = shed.length > 0 ? Math.max(...shed) : Number.NaN;
    return {
      target: `a backend turning slow: ${policy} takes its share below half its round-robin share in < ${MAX_SHED_MS} ms (worst run)`,
      measured: `${shed.map((t) => (Number.isFinite(t) ? `${t.toFixed(0)} ms` : 'never')).join(', ')}`,
      met: worst < MAX_SHED_MS,
    };
  });
}

function pickTargets(micro: readonly BenchmarkResult[]): TargetResult[] {
  const p50 = (group: string, name: string) =>
    micro.find((r) => r.group === group && r.name === name)?.p50 ?? Number.NaN;
  return PICK_POLICIES.flatMap((policy) =>
    PICK_SIZES.flatMap((size) =>
      (
        [
          ['members', PICK_NAMES.floor],
          ['backends', PICK_NAMES.floorBackends],
        ] as const
      ).map(([over, floorName]) => {
        const floor = p50(pickGroup(size), floorName);
        const pick = p50(pickGroup(size), policyPickName(policy, over));
        const p2c = p50(pickGroup(size), P2C_FLOOR);
        return {
          target: `${policyPickName(policy, over)} within ${policy.maxVsFloor}× of its floor, ${sizeLabel(size)}`,
          measured: `${formatRatio(pick / floor)}× (${formatDuration(pick)} vs ${formatDuration(floor)}; P2C by hand ${formatDuration(p2c)}, ${formatRatio(p2c / floor)}×)`,
          met: pick / floor <= policy.maxVsFloor,
        };
      }),
    ),
  );
}

export function policyTargets(results: Pick<BenchResults, 'policies' | 'micro'>): TargetResult[] {
  return [
    ...loadTargets(results.policies.load),
    ...turnSlowTargets(results),
    ...pickTargets(results.micro),
  ];
}
