/**
 * bench/RESULTS.md: the machine, the targets with their measured values, then every table;
 * and the tables that the focused runs of run.ts print.
 */

import { readFileSync } from 'node:fs';
import type { AffinityResults } from './affinity.js';
import type { BenchmarkResult } from './benchmark.js';
import { KIND_LABELS } from './channels.js';
import { CHANGE_KINDS, type TimedChange } from './convergence.js';
import { FAILOVER_KINDS, type FailoverResult } from './failover.js';
import type { GrayFailureRow, PolicyRow, RetryStormRow, TurnSlowRow } from './policies.js';
import { quantile } from './stats.js';
import { SUBSET_SCHEME_LABELS } from './subsetting.js';
import type { BenchResults } from './suite.js';

/** A target, judged against the measured value (see targets.ts). */
export interface TargetResult {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

const METHOD = new URL('./METHOD.md', import.meta.url);

const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)} ms` : '–');
const tenthsMs = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : '–');
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

/** `12.3 ns`, `4.56 µs`, `7.89 ms` */
export function formatDuration(ns: number): string {
  if (!Number.isFinite(ns)) return '–';
  if (ns < 1e3) return `${ns.toFixed(1)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

/** `0.97` */
export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? ratio.toFixed(2) : '–';
}

/**
 * A Markdown table whose columns are padded, so that it reads as well in a terminal as it
 * renders in Markdown. The first column is left-aligned, the others right-aligned.
 */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, 3, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: readonly string[]) =>
    `| ${widths
      .map((width, column) => {
        const cell = cells[column] ?? '';
        return column === 0 ? cell.padEnd(width) : cell.padStart(width);
      })
      .join(' | ')} |`;
  const rule = `| ${widths.map((width, column) => (column === 0 ? '-'.repeat(width) : `${'-'.repeat(width - 1)}:`)).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** Micro results, one section per group, each row also as a multiple of its group's baseline. */
export function microTable(results: readonly BenchmarkResult[]): string {
  const rows: string[][] = [];
  let group: string | undefined;
  for (const result of results) {
    if (result.group !== group) {
      group = result.group;
      rows.push([`**${group}**`]);
    }
    const baseline = results.find((r) => r.group === result.group && r.baseline);
    rows.push([
      result.name,
      formatDuration(result.p50),
      formatDuration(result.p99),
      formatDuration(result.avg),
      baseline ? `${formatRatio(result.p50 / baseline.p50)}×` : '',
    ]);
  }
  return markdownTable(['per operation', 'p50', 'p99', 'avg', 'p50 vs ref.'], rows);
}

function header({ machine, config, rxlbFrom }: BenchResults): string {
  const minutes = Math.floor(machine.seconds / 60);
  const seconds = Math.round(machine.seconds % 60);
  return [
    '# rxlb benchmarks',
    '',
    '<!-- Written by `npm run bench` (bench/run.ts). Do not edit: run it again. -->',
    '',
    `- Date: ${machine.date}`,
    `- Node ${machine.node} on ${machine.os}; CPU: ${machine.cpu}, ${machine.cores} cores`,
    `- Load average (1 min): ${machine.loadStart.toFixed(2)} at the start, ${machine.loadEnd.toFixed(2)} at the end` +
      (Math.max(machine.loadStart, machine.loadEnd) > machine.cores / 2
        ? ' — other work was running on the machine; see "Caveats" in the method below'
        : ''),
    `- Configuration \`${config}\`, ran ${minutes} min ${seconds} s; rxlb loaded from \`${rxlbFrom}/\`${rxlbFrom === 'dist' ? ' (its tsup build, as users run it)' : ''}`,
  ].join('\n');
}

export function targetTable(targets: readonly TargetResult[]): string {
  return markdownTable(
    ['target', 'measured', 'met'],
    targets.map((t) => [t.target, t.measured, t.met ? 'yes' : '**no**']),
  );
}

export function macroTable({ macro }: Pick<BenchResults, 'macro'>): string {
  return markdownTable(
    [
      'channel',
      'conc.',
      'calls/s',
      'p50',
      'p99',
      'a/b',
      'a/c',
      'client CPU/call',
      'client CPU',
      'server CPU',
      'errors',
    ],
    macro.map((row) => [
      KIND_LABELS[row.kind],
      String(row.concurrency),
      row.callsPerSecond.toFixed(0),
      ms(row.p50Ms),
      ms(row.p99Ms),
      formatRatio(row.vsGrpcJs),
      formatRatio(row.vsSingle),
      `${row.clientCpuUsPerCall.toFixed(1)} µs`,
      `${row.clientCpuPercent.toFixed(0)} %`,
      `${row.serverCpuPercent.toFixed(0)} %`,
      row.errors === 0 ? '0' : `${row.errors} (${row.firstError ?? ''})`,
    ]),
  );
}

/**
 * Timed changes (convergence's, failover's switches), one row per kind after one of them all:
 * p50, p99 and max to the picker and to the call, and what else held them up.
 */
function changeTable<S extends TimedChange & { readonly kind: string }>(
  [change, call, all]: readonly [string, string, string],
  kinds: readonly S['kind'][],
  samples: readonly S[],
  waited: (sample: S) => number,
): string {
  const pair = (values: number[]) => `${ms(quantile(values, 0.5))} / ${ms(quantile(values, 1))}`;
  return markdownTable(
    [
      change,
      'n',
      '→ picker p50',
      'p99',
      'max',
      `${call} p50`,
      'p99',
      'max',
      'waiting for a CPU p50 / max',
      'GC pauses p50 / max',
    ],
    [undefined, ...kinds].map((kind) => {
      const mine = samples.filter((s) => kind === undefined || s.kind === kind);
      const picker = mine.map((s) => s.toPickerMs).filter(Number.isFinite);
      const called = mine.map((s) => s.toCallMs).filter(Number.isFinite);
      return [
        kind ?? all,
        String(mine.length),
        ...[picker, called].flatMap((values) => [0.5, 0.99, 1].map((q) => ms(quantile(values, q)))),
        pair(mine.map(waited)),
        pair(mine.map((s) => s.gcMs)),
      ];
    }),
  );
}

function convergenceTable({ convergence }: BenchResults): string {
  return changeTable(
    ['change', '→ honouring call', '**all changes**'],
    CHANGE_KINDS,
    convergence.samples,
    (s) => s.clientRunQueueMs + s.serverRunQueueMs,
  );
}

function consulTable({ consulLoad }: BenchResults): string {
  return markdownTable(
    [
      'watches',
      'wait',
      'requests',
      'per wait per watch',
      'req/min at this wait',
      'req/min at default wait (5 min)',
    ],
    consulLoad.map((load) => [
      String(load.watches),
      `${load.waitMs} ms`,
      `${load.requests} in ${(load.elapsedMs / 1e3).toFixed(1)} s`,
      load.perWaitPerWatch.toFixed(2),
      load.perMinuteMeasured.toFixed(0),
      load.perMinuteAtDefaultWait.toFixed(1),
    ]),
  );
}

function memoryTable({ memory }: BenchResults): string {
  const table = markdownTable(
    ['when', 'heapUsed', 'JS objects', 'their bytes', 'handles', 'by type', 'backend connections'],
    memory.snapshots.map((s) => [
      s.label,
      mib(s.heapUsed),
      String(s.objects.count),
      mib(s.objects.bytes),
      String(s.handles),
      Object.entries(s.resources)
        .map(([type, n]) => `${type} ${n}`)
        .join(', '),
      String(s.backendConnections),
    ]),
  );
  const trend = memory.trend
    .map(([i, heap]) => `${i.toLocaleString('en')}: ${mib(heap)}`)
    .join(' · ');
  return `${table}\n\nheapUsed during the changes (after GC): ${trend}\n\nCalls during the changes: ${memory.calls} (${memory.callErrors} failed).`;
}

function subsettingSummary({ subsetting: { config, rows } }: BenchResults): string {
  const mean = rows[0]?.initial.mean ?? Number.NaN;
  return `${config.clients} clients (ordinals 0–${config.clients - 1}) × subsets of ${config.size} over ${config.backends} backends: a mean of ${mean.toFixed(2)} clients per backend. A moved connection is a member a client drops for another; the rolling replacement replaces every backend once (a new one joins, then an old one leaves).`;
}

function weightedTable({ weightedShares: w }: BenchResults): string {
  const total = w.weights.reduce((a, b) => a + b, 0);
  return markdownTable(
    ['backend', 'weight', 'expected share', 'measured share'],
    w.weights.map((weight, i) => [
      `#${i + 1}`,
      String(weight),
      `${((100 * weight) / total).toFixed(2)} %`,
      `${(w.shares[i] ?? Number.NaN).toFixed(2)} %`,
    ]),
  );
}

function subsettingTable({ subsetting }: BenchResults): string {
  const spread = ({ min, max }: { min: number; max: number }) => `${min} – ${max}`;
  return markdownTable(
    [
      'scheme',
      'clients per backend',
      'one leaves: moved (clients)',
      'one joins: moved (clients)',
      'after a rolling replacement',
      'moved by it',
    ],
    subsetting.rows.map((row) => [
      SUBSET_SCHEME_LABELS[row.scheme],
      spread(row.initial),
      `${row.leave.moved} (${row.leave.clients}; ${row.leave.had} had it)`,
      `${row.join.moved} (${row.join.clients})`,
      row.rolling ? spread(row.rolling) : '–',
      row.rolling ? String(row.rolling.moved) : '–',
    ]),
  );
}

/** The failover section: the switches, then the idle watches. */
function failoverSection(failover: FailoverResult): string {
  const switches = changeTable(
    ['switch', '→ first call there', '**both**'],
    FAILOVER_KINDS,
    failover.samples,
    (s) => s.runQueueMs,
  );
  const idle = markdownTable(
    ['subscribers', 'wait', 'dc1 (home) per wait', 'dc2 per wait'],
    failover.idle.map((i) => [
      `${i.subscribers} ${i.shared ? 'sharedConsulInstances$' : 'consulInstances$'}`,
      `${i.waitMs} ms`,
      i.perWait.dc1.toFixed(2),
      i.perWait.dc2.toFixed(2),
    ]),
  );
  const calls = `Calls during the switches: ${failover.callErrors} failed, ${failover.violations} started after a switch's picker and still reached the datacenter left; ${failover.timeouts} switches timed out.`;
  return `${switches}\n\n${calls}\n\nIdle failover watches, health queries per wait period for each watched datacenter (all subscribers together when shared):\n\n${idle}`;
}

/** The table of `rows` (one mix of backends), as RESULTS.md and docs/policies.md show it. */
function policyTable(rows: readonly PolicyRow[]): string {
  return markdownTable(
    [
      'policy',
      'calls/s',
      '÷ roundRobin()',
      '÷ grpc-js',
      'on the slow one',
      'p50',
      'p99',
      'p99.9',
      'errors',
    ],
    rows.map((row) => [
      row.policy,
      row.callsPerSecond.toFixed(0),
      formatRatio(row.vsRoundRobin),
      formatRatio(row.vsGrpcJs),
      row.backends === 'equal' ? `(${percent(row.slowShare)})` : percent(row.slowShare),
      tenthsMs(row.p50Ms),
      tenthsMs(row.p99Ms),
      tenthsMs(row.p999Ms),
      row.errors === 0 ? '0' : `${row.errors} (${row.firstError ?? ''})`,
    ]),
  );
}

function turnSlowTable(rows: readonly TurnSlowRow[]): string {
  const worst = (values: readonly number[]) => Math.max(...values);
  const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);
  const time = (value: number) => (Number.isFinite(value) ? `${value.toFixed(0)} ms` : 'never');
  return markdownTable(
    ['policy', 'below 10 % after (each run)', 'worst', 'its share at the end (each run)'],
    rows.map((row) => [
      row.policy,
      sorted(row.shedMs).map(time).join(', '),
      time(worst(row.shedMs)),
      row.finalShare.map(percent).join(', '),
    ]),
  );
}

function grayTable(rows: readonly GrayFailureRow[]): string {
  return markdownTable(
    ['channel', 'calls', 'failed'],
    rows.map((row) => [row.policy, String(row.calls), percent(row.failedShare)]),
  );
}

function stormTable(rows: readonly RetryStormRow[]): string {
  return markdownTable(
    ['client', 'calls', 'attempts per call'],
    rows.map((row) => [row.client, String(row.calls), row.attemptsPerCall.toFixed(2)]),
  );
}

/** The health checks' section: a backend whose health service says NOT_SERVING, then SERVING. */
export function healthSection({ health }: Pick<BenchResults, 'health'>): string {
  const time = (value: number) => (Number.isFinite(value) ? `${value.toFixed(0)} ms` : 'never');
  const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);
  const table = markdownTable(
    [
      'channel',
      'no more calls after (each run)',
      'worst',
      'calls sent after NOT_SERVING that reached it (each run)',
      'calls again after SERVING (each run)',
    ],
    health.map((row) => [
      row.channel,
      sorted(row.stoppedMs).map(time).join(', '),
      time(Math.max(...row.stoppedMs)),
      row.callsAfter.join(', '),
      sorted(row.backMs).map(time).join(', '),
    ]),
  );
  return `## A backend whose health service says NOT_SERVING\n\nFive servers with nice-grpc-server-health (the backends' process), listed all along; 16 callers of unary calls. One server's health service says NOT_SERVING for a second, then SERVING again. "No more calls after": from sending the switch to the start of the last call that reached it ("never": calls still reached it in the last 100 ms before SERVING); "calls again": from SERVING to the start of the first call that reached it.\n\n${table}`;
}

/** The policy sections: policies side by side, one failing, and a backend turning slow. */
export function policySections({ policies }: Pick<BenchResults, 'policies'>): string[] {
  const of = (mix: PolicyRow['backends']) => policies.load.filter((row) => row.backends === mix);
  return [
    `## Policies over five backends, one of them slow\n\nUnary calls, closed loop, over five backends of which one answers every call 100 ms later; medians over rounds (see the method). "On the slow one": its share of the calls. ÷ roundRobin() and ÷ grpc-js: median of the per-round ratios of calls/s.\n\n${policyTable(of('one slow'))}`,
    `## Policies over five equal backends\n\nThe same, all five backends fast (the share in parentheses is the fifth backend's).\n\n${policyTable(of('equal'))}`,
    `## One backend of five failing every call\n\nFive backends; the last answers every call with INTERNAL at once (a bad deploy), while discovery still lists it. Default options, 16 callers, no retry middleware; the share of the calls that failed.\n\n${grayTable(policies.grayFailures.failing)}\n\nA retry storm: every backend answers UNAVAILABLE; nice-grpc clients of rxlb's channel with \`retryOnAnotherInstance()\` (up to 3 attempts), 16 callers. Attempts: calls the channel was asked to start, per call.\n\n${stormTable(policies.grayFailures.storm)}`,
    `## A backend that turns slow mid-run\n\nFive fast backends; one of them turns 100 ms slower while the calls go on. Time from the change until its share of the calls was below 10 % (half its round-robin share) for good, over windows of 100 ms of calls by start time (the end of the first window from which every window is below: 100 ms means from the change on).\n\n${turnSlowTable(policies.turnSlow)}`,
  ];
}

export function renderResults(results: BenchResults, targets: readonly TargetResult[]): string {
  return [
    header(results),
    `## Targets\n\n${targetTable(targets)}`,
    `## Unary calls over 3 backends on loopback\n\nMedians over rounds. ÷ (b) and ÷ (c): each row's calls/s divided by those of (b) and (c), median of the per-round ratios; in row (a) they are a/b and a/c.\n\n${macroTable(results)}`,
    `## Micro benchmarks (mitata, per operation)\n\n${microTable(results.micro)}`,
    `## Convergence\n\n${convergenceTable(results)}`,
    `## Load on Consul (idle watches)\n\n${consulTable(results)}`,
    `## Memory and handles\n\n${memoryTable(results)}`,
    `## Weighted round robin through the channel\n\n${results.weightedShares.calls.toLocaleString('en')} unary calls, ${results.weightedShares.errors} failed.\n\n${weightedTable(results)}`,
    `## Subsetting\n\n${subsettingSummary(results)}\n\n${subsettingTable(results)}`,
    `## Failover between datacenters\n\n${failoverSection(results.failover)}`,
    healthSection(results),
    affinitySection(results.affinity),
    ...policySections(results),
    readFileSync(METHOD, 'utf8').trim(),
  ].join('\n\n');
}

/** The affinity section: ring hash's balance and stability, zone-aware routing's shares. */
export function affinitySection({ ring, zones }: AffinityResults): string {
  const percent = (x: number) => `${(x * 100).toFixed(1)} %`;
  const rows = [
    ['ring hash: keys on the busiest backend ÷ mean', ring.maxOverMean.toFixed(3), '1'],
    [
      'ring hash: one of 10 leaves, keys of the other 9 that move',
      percent(ring.othersMoved),
      '0 %',
    ],
    ['ring hash: one of 10 leaves, all keys that move', percent(ring.allMoved), '10 %'],
    ['zones: 3 in a, 3 in b: picks in a', percent(zones.balanced), '100 %'],
    ['zones: 1 in a, 3 in b, callers 5 + 5: picks in a', percent(zones.spill), '50 %'],
    ['zones: nobody in a, 3 in b: picks in b', percent(zones.nobodyLocal), '100 %'],
  ];
  return [
    '### Affinity and locality',
    '',
    `ringHash({ key }) over ${ring.keys.toLocaleString('en')} keys and ${ring.backends} backends, and zoneAware({ zone: 'a' }), on the pickers (100,000 picks each for the zones). A ring hash pick's cost, at up to 10,000 members, is in the micro benchmarks.`,
    '',
    markdownTable(['measure', 'value', 'ideal'], rows),
  ].join('\n');
}
