/**
 * `npm run bench`: every benchmark of issue #5 (micro, macro, convergence, load on Consul,
 * memory), printed as Markdown and written to bench/RESULTS.md.
 * `npm run bench -- --quick`: the same steps, small, in seconds; prints only, so that a check
 * never overwrites the committed results with rough figures.
 */
import { writeFileSync } from 'node:fs';
import { FULL, QUICK } from './config.js';
import { renderResults } from './report.js';
import { ensureBuilt, loadRxlb } from './rxlb.js';
import { runSuite } from './suite.js';
import { evaluateTargets } from './targets.js';

const quick = process.argv.includes('--quick');
const config = quick ? QUICK : FULL;
const output = new URL('./RESULTS.md', import.meta.url);

console.error(`rxlb benchmarks (${config.name}): node ${process.version}`);
const log = (line: string) => console.error(`  ${line}`);
ensureBuilt(log);
const results = await runSuite(config, await loadRxlb('dist'), log);
const targets = evaluateTargets(results);
const markdown = `${renderResults(results, targets)}\n`;
console.log(markdown);
if (quick) {
  console.error('--quick: bench/RESULTS.md left as it is.');
} else {
  writeFileSync(output, markdown);
  console.error('wrote bench/RESULTS.md');
}
const missed = targets.filter((t) => !t.met).length;
console.error(`${targets.length - missed} of ${targets.length} targets met`);
