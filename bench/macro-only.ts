/**
 * `npx tsx bench/macro-only.ts [--quick] [--rounds N] [--cell-ms N]`: only the side-by-side
 * unary calls (rxlb's channel, grpc-js round_robin, one plain channel), with the a/b targets
 * and, per concurrency, the mean of the per-round a/b ratios with its 95 % confidence
 * interval: how finely this machine can tell the two apart. Prints; writes nothing.
 */
import { startBackends } from './backends.js';
import { FULL, QUICK } from './config.js';
import { runMacro } from './macro.js';
import { macroTable } from './report.js';
import { ensureBuilt, loadRxlb } from './rxlb.js';
import { BACKENDS } from './suite.js';
import { macroTargets } from './targets.js';

const base = process.argv.includes('--quick') ? QUICK : FULL;
const roundsAt = process.argv.indexOf('--rounds');
const rounds = roundsAt < 0 ? base.macro.rounds : Number(process.argv[roundsAt + 1]);
if (!(Number.isInteger(rounds) && rounds >= 2)) throw new TypeError('--rounds: an integer ≥ 2');
const cellAt = process.argv.indexOf('--cell-ms');
const cellMs = cellAt < 0 ? base.macro.cellMs : Number(process.argv[cellAt + 1]);
if (!(Number.isInteger(cellMs) && cellMs >= 100))
  throw new TypeError('--cell-ms: an integer ≥ 100');
ensureBuilt((line) => console.error(line));
const { api } = await loadRxlb('dist');
const backends = await startBackends(BACKENDS);
try {
  const { rows } = await runMacro(api, backends, { ...base.macro, rounds });
  const macro = { macro: rows };
  console.log(macroTable(macro));
  for (const t of macroTargets(macro))
    console.log(`${t.met ? 'met' : 'NOT met'}: ${t.target}: ${t.measured}`);
} finally {
  await backends.close();
}
