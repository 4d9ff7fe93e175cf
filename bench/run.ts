/**
 * `npm run bench [-- --quick]`: times rxlb's hot paths with mitata, then unary calls through
 * rxlb's balanced channel, grpc-js's round_robin and a single channel, convergence after
 * health changes, load on Consul and memory under churn, and prints the figures.
 * `--quick` runs each part briefly, for a smoke run.
 */
import { startBackends } from './backends.js';
import { KIND_LABELS } from './channels.js';
import { runConsulLoad } from './consul-load.js';
import { runConvergence } from './convergence.js';
import { runMacro } from './macro.js';
import { runMemory } from './memory.js';
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

  const convergence = await runConvergence(rxlb.api, backends, {
    warmupCycles: quick ? 1 : 2,
    cycles: quick ? 3 : 30,
    gapMs: quick ? 60 : 100,
    concurrency: 2,
  });
  const { toPicker, toCall } = convergence;
  console.log(
    `\nconvergence over ${convergence.samples.length} changes: to the picker p50 ${toPicker.p50.toFixed(2)} ms, p99 ${toPicker.p99.toFixed(2)} ms; to the first honouring call p50 ${toCall.p50.toFixed(2)} ms, p99 ${toCall.p99.toFixed(2)} ms`,
  );
  const watches = quick ? { waitMs: 100, periods: 5 } : { waitMs: 250, periods: 20 };
  for (const load of await runConsulLoad(rxlb.api, { ...watches, watches: 100 })) {
    console.log(
      `${load.watches} idle watches: ${load.perWaitPerWatch.toFixed(2)} queries per wait and watch, ${load.perMinuteAtDefaultWait.toFixed(1)} per minute at the default wait`,
    );
  }
  const memory = await runMemory(rxlb.api, backends, {
    warmupChanges: quick ? 50 : 500,
    changes: quick ? 500 : 10_000,
    checkpoints: 5,
    concurrency: 4,
    countObjects: true,
    settleMs: 200,
  });
  for (const s of memory.snapshots) {
    console.log(
      `${s.label}: heapUsed ${(s.heapUsed / 2 ** 20).toFixed(2)} MiB, ${s.objects.count} objects, ${s.handles} handles, ${s.backendConnections} connections`,
    );
  }
} finally {
  await backends.close();
}
