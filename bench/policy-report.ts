/** The policy sections of bench/RESULTS.md: policies side by side, and a backend turning slow. */
import type { PolicyRow } from './policy-load.js';
import type { BenchResults } from './suite.js';
import { formatRatio, markdownTable } from './table.js';
import type { TurnSlowRow } from './turn-slow.js';

const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : '–');
const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

/** The table of `rows` (one mix of backends), as README and RESULTS.md show it. */
export function policyTable(rows: readonly PolicyRow[]): string {
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
      ms(row.p50Ms),
      ms(row.p99Ms),
      ms(row.p999Ms),
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

export function policySections({ policies }: Pick<BenchResults, 'policies'>): string[] {
  const of = (mix: PolicyRow['backends']) => policies.load.filter((row) => row.backends === mix);
  return [
    `## Policies over five backends, one of them slow\n\nUnary calls, closed loop, over five backends of which one answers every call 100 ms later; medians over rounds (see the method). "On the slow one": its share of the calls. ÷ roundRobin() and ÷ grpc-js: median of the per-round ratios of calls/s.\n\n${policyTable(of('one slow'))}`,
    `## Policies over five equal backends\n\nThe same, all five backends fast (the share in parentheses is the fifth backend's).\n\n${policyTable(of('equal'))}`,
    `## A backend that turns slow mid-run\n\nFive fast backends; one of them turns 100 ms slower while the calls go on. Time from the change until its share of the calls was below 10 % (half its round-robin share) for good, over windows of 100 ms of calls by start time (the end of the first window from which every window is below: 100 ms means from the change on).\n\n${turnSlowTable(policies.turnSlow)}`,
  ];
}
