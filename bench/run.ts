/**
 * `npm run bench [-- --quick]`: times rxlb's hot paths with mitata and prints a table.
 * `--quick` spends about 50 ms per benchmark instead of ~640 ms, for a smoke run.
 */
import { cpus } from 'node:os';
import { measureAll } from './benchmark.js';
import { microBenchmarks } from './micro.js';
import { formatTable } from './table.js';

const quick = process.argv.includes('--quick');

console.log(
  `rxlb micro benchmarks${quick ? ' (--quick)' : ''}: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores\n`,
);
const results = await measureAll(await microBenchmarks(), { quick });
console.log(formatTable(results));
