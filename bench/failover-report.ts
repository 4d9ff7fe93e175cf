/** The failover section of bench/RESULTS.md: the switches, then the idle watches. */
import { FAILOVER_KINDS, type FailoverResult } from './failover.js';
import { quantile } from './stats.js';
import { markdownTable } from './table.js';

const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)} ms` : '–');

export function failoverSection(failover: FailoverResult): string {
  const switches = markdownTable(
    [
      'switch',
      'n',
      '→ picker p50',
      'p99',
      'max',
      '→ first call there p50',
      'p99',
      'max',
      'waiting for a CPU p50 / max',
      'GC pauses p50 / max',
    ],
    [undefined, ...FAILOVER_KINDS].map((kind) => {
      const samples = failover.samples.filter((s) => kind === undefined || s.kind === kind);
      const picker = samples.map((s) => s.toPickerMs).filter(Number.isFinite);
      const call = samples.map((s) => s.toCallMs).filter(Number.isFinite);
      const pair = (values: number[]) =>
        `${ms(quantile(values, 0.5))} / ${ms(quantile(values, 1))}`;
      return [
        kind ?? '**both**',
        String(samples.length),
        ...[picker, call].flatMap((values) => [0.5, 0.99, 1].map((q) => ms(quantile(values, q)))),
        pair(samples.map((s) => s.runQueueMs)),
        pair(samples.map((s) => s.gcMs)),
      ];
    }),
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
