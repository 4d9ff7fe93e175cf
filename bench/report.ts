/** bench/RESULTS.md: the machine, the targets with their measured values, then every table. */
import { readFileSync } from 'node:fs';
import { KIND_LABELS } from './channels.js';
import { CHANGE_KINDS } from './convergence.js';
import { failoverSection } from './failover-report.js';
import { policySections } from './policy-report.js';
import { quantile } from './stats.js';
import { SUBSET_SCHEME_LABELS } from './subsetting.js';
import type { BenchResults } from './suite.js';
import { formatRatio, markdownTable, microTable } from './table.js';
import type { TargetResult } from './targets.js';

const METHOD = new URL('./METHOD.md', import.meta.url);

const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)} ms` : '–');
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

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

function convergenceTable({ convergence }: BenchResults): string {
  const rows = [undefined, ...CHANGE_KINDS].map((kind) => {
    const samples = convergence.samples.filter((s) => kind === undefined || s.kind === kind);
    const picker = samples.map((s) => s.toPickerMs).filter(Number.isFinite);
    const call = samples.map((s) => s.toCallMs).filter(Number.isFinite);
    const waited = samples.map((s) => s.clientRunQueueMs + s.serverRunQueueMs);
    const gc = samples.map((s) => s.gcMs);
    return [
      kind ?? '**all changes**',
      String(samples.length),
      ...[picker, call].flatMap((values) => [0.5, 0.99, 1].map((q) => ms(quantile(values, q)))),
      `${ms(quantile(waited, 0.5))} / ${ms(quantile(waited, 1))}`,
      `${ms(quantile(gc, 0.5))} / ${ms(quantile(gc, 1))}`,
    ];
  });
  return markdownTable(
    [
      'change',
      'n',
      '→ picker p50',
      'p99',
      'max',
      '→ honouring call p50',
      'p99',
      'max',
      'waiting for a CPU p50 / max',
      'GC pauses p50 / max',
    ],
    rows,
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
    ...policySections(results),
    readFileSync(METHOD, 'utf8').trim(),
  ].join('\n\n');
}
