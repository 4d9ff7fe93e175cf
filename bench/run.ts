/**
 * `npm run bench [-- --quick]`: times rxlb's hot paths with mitata, then unary calls through
 * rxlb's balanced channel, grpc-js's round_robin and a single channel, and prints the tables.
 * `--quick` runs each part briefly, for a smoke run.
 */
import { startBackends } from './backends.js';
import { KIND_LABELS } from './channels.js';
import { runMacro } from './macro.js';
import { runMicro } from './micro.js';
import { ensureBuilt, loadRxlb } from './rxlb.js';
import { formatRatio, markdownTable, microTable } from './table.js';

const quick = process.argv.includes('--quick');

console.log(`rxlb benchmarks${quick ? ' (--quick)' : ''}: node ${process.version}\n`);
ensureBuilt((line) => console.error(line));
const rxlb = await loadRxlb('dist');
const backends = await startBackends(4);
try {
  const budget = quick ? { minCpuTimeNs: 20e6, minSamples: 4, batchSamples: 256 } : undefined;
  console.log(microTable(await runMicro(backends.addresses, { budget, smoke: false })));
  const { rows } = await runMacro(rxlb.api, backends, {
    rounds: quick ? 1 : 6,
    cellMs: quick ? 300 : 2_000,
    warmupMs: quick ? 300 : 2_000,
    concurrencies: [1, 64],
  });
  const table = markdownTable(
    ['channel', 'conc.', 'calls/s', 'p50 ms', 'p99 ms', '÷ (b)', '÷ (c)', 'client CPU/call'],
    rows.map((row) => [
      KIND_LABELS[row.kind],
      String(row.concurrency),
      row.callsPerSecond.toFixed(0),
      row.p50Ms.toFixed(2),
      row.p99Ms.toFixed(2),
      formatRatio(row.vsGrpcJs),
      formatRatio(row.vsSingle),
      `${row.clientCpuUsPerCall.toFixed(1)} µs`,
    ]),
  );
  console.log(`\n${table}`);
} finally {
  await backends.close();
}
