/**
 * `npm run bench [-- --quick]`: times rxlb's hot paths with mitata and prints a table.
 * `--quick` spends about 20 ms per benchmark instead of mitata's ~640 ms, for a smoke run.
 */
import { startBackends } from './backends.js';
import { runMicro } from './micro.js';
import { microTable } from './table.js';

const quick = process.argv.includes('--quick');

console.log(`rxlb micro benchmarks${quick ? ' (--quick)' : ''}: node ${process.version}\n`);
const backends = await startBackends(3);
try {
  const budget = quick ? { minCpuTimeNs: 20e6, minSamples: 4, batchSamples: 256 } : undefined;
  console.log(microTable(await runMicro(backends.addresses, { budget, smoke: false })));
} finally {
  await backends.close();
}
