/**
 * The benchmark targets (issues #5, #9 and #10 for the load-aware policies), each judged
 * against the measured value.
 */
import type { BenchmarkResult } from './benchmark.js';
import { HEALTH_CHANNELS } from './health.js';
import type { MacroRow } from './macro.js';
import type { MemorySnapshot } from './memory.js';
import {
  CHANGES,
  DIFF_FLOOR,
  DIFF_SIZES,
  diffGroup,
  P2C_FLOOR,
  PICK_NAMES,
  PICK_POLICIES,
  PICK_SIZES,
  pickGroup,
  policyPickName,
  sizeLabel,
  WEIGHTED_PICK_NAMES,
} from './micro.js';
import type { PolicyRow } from './policies.js';
import { POLICY_NAMES } from './policies.js';
import { formatDuration, formatRatio, type TargetResult } from './report.js';
import type { BenchResults } from './suite.js';

/**
 * From 100 to 10,000 instances, diff()'s cost may grow this many times more than the floor's
 * and still count as linear: an n·log n algorithm would grow twice as much, a quadratic one a
 * hundred times. (Both grow more than 100× because large maps miss the CPU caches.)
 */
export const LINEAR_SPREAD = 1.5;
/**
 * Heap objects may grow this much and still count as no growth: the spread seen between
 * repeated runs (sockets, buffers and timers of the HTTP client and grpc-js come and go),
 * plus 4 bytes per change, less than the smallest object (16 bytes) a leak could keep per
 * change. Over 10,000 changes a leak of one object per change exceeds it.
 */
export const ALLOWED_NOISE_BYTES = 64 * 1024;
export const BYTES_PER_CHANGE = 4;
/** rxlb's channel against grpc-js's round_robin on the same backends, calls/s. */
export const MIN_A_OVER_B = 0.99;
/** Failover (issue #12): from the answer that empties or refills home to the switch. */
export const MAX_FAILOVER_MS = 20;
/** The balanced channel's whole per-call pick, at 10,000 members. */
export const MAX_CHANNEL_PICK_NS = 100;

function p50(micro: readonly BenchmarkResult[], group: string, name: string): number {
  return micro.find((r) => r.group === group && r.name === name)?.p50 ?? Number.NaN;
}

export function macroTargets({ macro }: Pick<BenchResults, 'macro'>): TargetResult[] {
  const grpcJs = (row: MacroRow) =>
    macro.find((r) => r.kind === 'grpc-js' && r.concurrency === row.concurrency);
  return macro
    .filter((row) => row.kind === 'rxlb')
    .map((row) => ({
      target: `a/b ≥ ${MIN_A_OVER_B} at concurrency ${row.concurrency} (calls/s, rxlb ÷ grpc-js round_robin)`,
      measured: `${row.vsGrpcJs.toFixed(3)} (a/c ${formatRatio(row.vsSingle)}; client CPU per call ${row.clientCpuUsPerCall.toFixed(1)} µs, (b) ${grpcJs(row)?.clientCpuUsPerCall.toFixed(1)} µs)`,
      met: row.vsGrpcJs >= MIN_A_OVER_B,
    }));
}

/** `members` and `usable` within 3× of their floors, at every pick() size. */
function withinThreeTimesTheFloor(
  micro: BenchResults['micro'],
  members: string,
  usable: string,
): TargetResult[] {
  return PICK_SIZES.flatMap((size) =>
    (
      [
        [members, PICK_NAMES.floor],
        [usable, PICK_NAMES.floorBackends],
      ] as const
    ).map(([name, floorName]) => {
      const floor = p50(micro, pickGroup(size), floorName);
      const pick = p50(micro, pickGroup(size), name);
      return {
        target: `${name} within 3× of its floor (${floorName.replace('floor: ', '')}), ${sizeLabel(size)}`,
        measured: `${formatRatio(pick / floor)}× (${formatDuration(pick)} vs ${formatDuration(floor)})`,
        met: pick / floor <= 3,
      };
    }),
  );
}

function pickTargets({ micro }: Pick<BenchResults, 'micro'>): TargetResult[] {
  const ratios = withinThreeTimesTheFloor(micro, PICK_NAMES.members, PICK_NAMES.usable);
  const largest = PICK_SIZES[PICK_SIZES.length - 1] ?? 0;
  const channel = p50(micro, pickGroup(largest), PICK_NAMES.channel);
  const grpcJs = p50(micro, pickGroup(largest), PICK_NAMES.grpcJs);
  return [
    ...ratios,
    {
      target: `${PICK_NAMES.channel} ≤ ${MAX_CHANNEL_PICK_NS} ns, ${sizeLabel(largest)}`,
      measured: `${formatDuration(channel)} (grpc-js RoundRobinPicker.pick() ${formatDuration(grpcJs)})`,
      met: channel <= MAX_CHANNEL_PICK_NS,
    },
  ];
}

function diffTargets({ micro }: Pick<BenchResults, 'micro'>): TargetResult[] {
  const [small, , large] = DIFF_SIZES;
  const growth = (name: string) =>
    p50(micro, diffGroup(large), name) / p50(micro, diffGroup(small), name);
  return CHANGES.map((change) => {
    const name = `diff(), ${change}`;
    const relative = growth(name) / growth(DIFF_FLOOR);
    const perInstance = DIFF_SIZES.map((size) => p50(micro, diffGroup(size), name) / size);
    return {
      target: `diff() linear in set size, ${change}: cost growth from ${small} to ${large.toLocaleString('en')} instances ÷ the floor's`,
      measured: `${formatRatio(relative)} (diff() ×${growth(name).toFixed(0)}, floor ×${growth(DIFF_FLOOR).toFixed(0)}; ≤ ${LINEAR_SPREAD} is linear); per instance ${perInstance.map((ns) => ns.toFixed(0)).join(' / ')} ns`,
      met: relative <= LINEAR_SPREAD,
    };
  });
}

function convergenceTargets({ convergence: c }: BenchResults): TargetResult[] {
  const clean = c.timeouts === 0 && c.violations === 0;
  const extra = `${c.samples.length} changes, ${c.timeouts} timeouts, ${c.violations} calls to a removed instance`;
  return [
    {
      target: 'convergence p99 < 20 ms: health change → new picker',
      measured: `${c.toPicker.p99.toFixed(1)} ms (p50 ${c.toPicker.p50.toFixed(1)} ms; ${extra})`,
      met: clean && c.toPicker.p99 < 20,
    },
    {
      target: 'convergence p99 < 20 ms: health change → first call that honours it',
      measured: `${c.toCall.p99.toFixed(1)} ms (p50 ${c.toCall.p50.toFixed(1)} ms)`,
      met: clean && c.toCall.p99 < 20,
    },
  ];
}

function consulTargets({ consulLoad }: BenchResults): TargetResult[] {
  return consulLoad.map((load) => ({
    target: `idle watch: at most one request per wait period (${load.watches} watch${load.watches === 1 ? '' : 'es'})`,
    measured: `${load.perWaitPerWatch.toFixed(2)} per wait per watch (wait ${load.waitMs} ms)`,
    met: load.perWaitPerWatch <= 1,
  }));
}

function failoverTargets({ failover: f }: BenchResults): TargetResult[] {
  const clean = f.timeouts === 0 && f.violations === 0 && f.callErrors === 0;
  const extra = `${f.samples.length} switches, ${f.timeouts} timeouts, ${f.violations} calls to the datacenter left, ${f.callErrors} failed calls`;
  return [
    {
      target: `failover p99 < ${MAX_FAILOVER_MS} ms: the answer that empties or refills home → picker of the other datacenter`,
      measured: `${f.toPicker.p99.toFixed(1)} ms (p50 ${f.toPicker.p50.toFixed(1)} ms; ${extra}; first call answered there: p50 ${f.toCall.p50.toFixed(1)} ms, p99 ${f.toCall.p99.toFixed(1)} ms, reported, see the method)`,
      met: clean && f.toPicker.p99 < MAX_FAILOVER_MS,
    },
    ...f.idle.map((idle) => {
      const worst = Math.max(idle.perWait.dc1, idle.perWait.dc2);
      const who = idle.shared
        ? `${idle.subscribers} sharedConsulInstances$ subscribers`
        : `${idle.subscribers} consulInstances$ watch`;
      return {
        target: `idle failover watch: at most one request per wait per watched datacenter (${who})`,
        measured: `dc1 ${idle.perWait.dc1.toFixed(2)}, dc2 ${idle.perWait.dc2.toFixed(2)} per wait (wait ${idle.waitMs} ms)`,
        met: worst <= 1,
      };
    }),
  ];
}

function memoryTargets({ memory }: BenchResults): TargetResult[] {
  const [before, warm, churned, closed] = memory.snapshots;
  if (!before || !warm || !churned || !closed) return [];
  const grown = churned.objects.bytes - warm.objects.bytes;
  const allowed = ALLOWED_NOISE_BYTES + memory.changes * BYTES_PER_CHANGE;
  const handles = (s: MemorySnapshot) =>
    `${s.handles} handles, ${s.backendConnections} connections`;
  return [
    {
      target: `no heap growth after ${memory.changes.toLocaleString('en')} changes (JS objects)`,
      measured: `${grown >= 0 ? '+' : ''}${(grown / 1024).toFixed(1)} KiB, ${churned.objects.count - warm.objects.count} objects (allowed +${(allowed / 1024).toFixed(0)} KiB); heapUsed ${((churned.heapUsed - warm.heapUsed) / 2 ** 20).toFixed(2)} MiB incl. compiled code`,
      met: grown <= allowed,
    },
    {
      target: 'no handle growth after the changes',
      measured: `${handles(warm)} → ${handles(churned)}`,
      met: churned.handles <= warm.handles && churned.backendConnections <= warm.backendConnections,
    },
    {
      target: 'after close(): handles and connections as before the channel',
      measured: `${handles(before)} → ${handles(closed)}; objects ${closed.objects.count - before.objects.count >= 0 ? '+' : ''}${closed.objects.count - before.objects.count} (${((closed.objects.bytes - before.objects.bytes) / 1024).toFixed(1)} KiB)`,
      met: closed.handles <= before.handles && closed.backendConnections === 0,
    },
  ];
}

/** Weighted shares: each within this many percentage points of its weight's share. */
export const MAX_SHARE_ERROR_POINTS = 1;

function weightedTargets({ micro, weightedShares: w }: BenchResults): TargetResult[] {
  const total = w.weights.reduce((a, b) => a + b, 0);
  const exact = w.weights.map((weight) => (100 * weight) / total);
  const error = Math.max(...w.shares.map((share, i) => Math.abs(share - (exact[i] ?? 0))));
  const shares = {
    target: `weightedRoundRobin, weights ${w.weights.join(':')}, ${w.calls.toLocaleString('en')} calls: shares within ±${MAX_SHARE_ERROR_POINTS} % of ${exact.map((e) => e.toFixed(0)).join('/')}`,
    measured: `${w.shares.map((share) => share.toFixed(2)).join(' / ')} % (${w.errors} errors)`,
    met: w.errors === 0 && error <= MAX_SHARE_ERROR_POINTS,
  };
  const picks = withinThreeTimesTheFloor(
    micro,
    WEIGHTED_PICK_NAMES.members,
    WEIGHTED_PICK_NAMES.usable,
  );
  return [shares, ...picks];
}

function subsettingTargets({ subsetting }: BenchResults): TargetResult[] {
  const row = subsetting.rows.find((r) => r.scheme === 'rxlb subset()');
  if (!row) return [];
  const { clients, size, backends } = subsetting.config;
  const { min, max, mean } = row.initial;
  return [
    {
      target: `subset(): ${clients} clients × ${size} over ${backends} backends, every backend serves 0.5× to 1.5× the mean number of clients`,
      measured: `${min} to ${max} clients per backend (mean ${mean.toFixed(2)}; max/min ${formatRatio(max / min)})`,
      met: min >= 0.5 * mean && max <= 1.5 * mean,
    },
    {
      target:
        'subset(): when one backend leaves, only the clients that had it move, by one connection each',
      measured: `${row.leave.moved} connections moved, ${row.leave.clients} clients changed, ${row.leave.had} had it`,
      met: row.leave.moved === row.leave.had && row.leave.clients === row.leave.had,
    },
  ];
}

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

function policyPickTargets(micro: readonly BenchmarkResult[]): TargetResult[] {
  return PICK_POLICIES.flatMap((policy) =>
    PICK_SIZES.flatMap((size) =>
      (
        [
          ['members', PICK_NAMES.floor],
          ['backends', PICK_NAMES.floorBackends],
        ] as const
      ).map(([over, floorName]) => {
        const floor = p50(micro, pickGroup(size), floorName);
        const pick = p50(micro, pickGroup(size), policyPickName(policy, over));
        const p2c = p50(micro, pickGroup(size), P2C_FLOOR);
        return {
          target: `${policyPickName(policy, over)} within ${policy.maxVsFloor}× of its floor, ${sizeLabel(size)}`,
          measured: `${formatRatio(pick / floor)}× (${formatDuration(pick)} vs ${formatDuration(floor)}; P2C by hand ${formatDuration(p2c)}, ${formatRatio(p2c / floor)}×)`,
          met: pick / floor <= policy.maxVsFloor,
        };
      }),
    ),
  );
}

/**
 * Gray failures (issue "Gray failures"): with default options, every rxlb policy fails at most
 * max(5 %, 1.5×) what grpc-js with A50's failure-percentage ejection fails; a retry storm costs
 * at most 1.25 attempts per call plus the budget's floor (10 a second over its 10 s window).
 */
function grayFailureTargets({ policies }: Pick<BenchResults, 'policies'>): TargetResult[] {
  const { failing, storm } = policies.grayFailures;
  const reference = failing.find((row) => row.policy.includes('outlier_detection'));
  const bound = Math.max(0.05, 1.5 * (reference?.failedShare ?? Number.NaN));
  const pct = (share: number) => `${(share * 100).toFixed(1)} %`;
  const budgeted = storm.find((row) => row.client.includes('default budget'));
  const floor = 100 / Math.max(1, budgeted?.calls ?? 1);
  return [
    ...failing
      .filter((row) => row.policy.startsWith('rxlb'))
      .map((row) => ({
        target: `one backend of five failing every call: ${row.policy} fails ≤ max(5 %, 1.5 × grpc-js with outlier_detection)`,
        measured: `${pct(row.failedShare)} (grpc-js with outlier_detection ${pct(reference?.failedShare ?? Number.NaN)})`,
        met: row.failedShare <= bound,
      })),
    {
      target:
        'a retry storm: rxlb retryOnAnotherInstance() sends ≤ 1.25 attempts per call + 10 retries/s',
      measured: `${budgeted?.attemptsPerCall.toFixed(2)} attempts per call (bound ${(1.25 + floor).toFixed(2)} over ${budgeted?.calls} calls)`,
      met: (budgeted?.attemptsPerCall ?? Number.POSITIVE_INFINITY) <= 1.25 + floor,
    },
  ];
}

/**
 * Client-side health checking (issue "Gray failures", gRFC A17): NOT_SERVING on a backend's
 * health Watch, no new call reaches it 200 ms later while discovery still lists it; SERVING, it
 * gets calls again within 1 s. Worst of the runs.
 */
export function healthTargets({ health }: Pick<BenchResults, 'health'>): TargetResult[] {
  const row = health.find((r) => r.channel === HEALTH_CHANNELS.checked);
  const worst = (values: readonly number[] | undefined) =>
    values && values.length > 0 ? Math.max(...values) : Number.NaN;
  const time = (value: number) => (Number.isFinite(value) ? `${value.toFixed(0)} ms` : 'never');
  const stopped = worst(row?.stoppedMs);
  const back = worst(row?.backMs);
  return [
    {
      target: `NOT_SERVING: with healthCheck, no call sent 200 ms later reaches the backend (worst run)`,
      measured: `no more calls after ${time(stopped)}`,
      met: stopped <= 200,
    },
    {
      target: 'SERVING again: with healthCheck, it gets calls within 1 s (worst run)',
      measured: `calls again after ${time(back)}`,
      met: back <= 1_000,
    },
  ];
}

export function policyTargets(results: Pick<BenchResults, 'policies' | 'micro'>): TargetResult[] {
  return [
    ...loadTargets(results.policies.load),
    ...turnSlowTargets(results),
    ...grayFailureTargets(results),
    ...policyPickTargets(results.micro),
  ];
}

/** The targets that read only the micro table. */
export function microTargets(results: Pick<BenchResults, 'micro'>): TargetResult[] {
  const { micro } = results;
  return [
    ...pickTargets(results),
    ...diffTargets(results),
    ...withinThreeTimesTheFloor(micro, WEIGHTED_PICK_NAMES.members, WEIGHTED_PICK_NAMES.usable),
    ...policyPickTargets(micro),
  ];
}

export function evaluateTargets(results: BenchResults): TargetResult[] {
  return [
    ...macroTargets(results),
    ...pickTargets(results),
    ...diffTargets(results),
    ...convergenceTargets(results),
    ...consulTargets(results),
    ...memoryTargets(results),
    ...weightedTargets(results),
    ...subsettingTargets(results),
    ...failoverTargets(results),
    ...healthTargets(results),
    ...affinityTargets(results),
    ...policyTargets(results),
  ];
}

/** Issue #21's Done-when, on the pickers: ring balance and stability, zone shares. */
export function affinityTargets({ affinity }: Pick<BenchResults, 'affinity'>): TargetResult[] {
  const { ring, zones } = affinity;
  const percent = (x: number) => `${(x * 100).toFixed(1)} %`;
  return [
    {
      target: 'ringHash(): keys on the busiest of 10 backends ÷ mean ≤ 1.4',
      measured: ring.maxOverMean.toFixed(3),
      met: ring.maxOverMean <= 1.4,
    },
    {
      target: "ringHash(): one of 10 leaves, ≥ 99 % of the others' keys stay",
      measured: `${percent(1 - ring.othersMoved)} stay (all keys moved: ${percent(ring.allMoved)})`,
      met: ring.othersMoved <= 0.01,
    },
    {
      target: "zoneAware({ zone: 'a' }), 3 in a and 3 in b: ≥ 95 % of picks in a",
      measured: percent(zones.balanced),
      met: zones.balanced >= 0.95,
    },
    {
      target: 'zoneAware(), 1 in a, 3 in b, callers 5 + 5: a takes 40–60 %',
      measured: percent(zones.spill),
      met: zones.spill >= 0.4 && zones.spill <= 0.6,
    },
    {
      target: 'zoneAware(), nobody in a: every pick in b',
      measured: percent(zones.nobodyLocal),
      met: zones.nobodyLocal === 1,
    },
  ];
}
