/**
 * `npx tsx bench/macro-only.ts [--quick] [--rounds N] [--cell-ms N]`: only the side-by-side
 * unary calls (rxlb's channel, grpc-js round_robin, one plain channel), with the a/b targets
 * and, per concurrency, the geometric mean of the per-round a/b ratios with its 95 %
 * confidence interval: how finely this machine can tell the two apart. Prints; writes nothing.
 */
import { startBackends } from './backends.js';
import { FULL, QUICK } from './config.js';
import { type MacroCell, runMacro } from './macro.js';
import { macroTable } from './report.js';
import { ensureBuilt, loadRxlb } from './rxlb.js';
import { BACKENDS } from './suite.js';
import { macroTargets } from './targets.js';

const base = process.argv.includes('--quick') ? QUICK : FULL;
const roundsAt = process.argv.indexOf('--rounds');
// At least two rounds, for an interval (the quick configuration has one).
const rounds = roundsAt < 0 ? Math.max(2, base.macro.rounds) : Number(process.argv[roundsAt + 1]);
if (!(Number.isInteger(rounds) && rounds >= 2)) throw new TypeError('--rounds: an integer ≥ 2');
const cellAt = process.argv.indexOf('--cell-ms');
const cellMs = cellAt < 0 ? base.macro.cellMs : Number(process.argv[cellAt + 1]);
if (!(Number.isInteger(cellMs) && cellMs >= 100))
  throw new TypeError('--cell-ms: an integer ≥ 100');

/** Each round's calls/s of (a) ÷ (b) at `concurrency`. */
function roundRatios(cells: readonly MacroCell[], concurrency: number): number[] {
  const at = (kind: string, round: number) =>
    cells.find((c) => c.kind === kind && c.concurrency === concurrency && c.round === round);
  const ratios: number[] = [];
  for (const cell of cells) {
    if (cell.kind !== 'rxlb' || cell.concurrency !== concurrency) continue;
    const peer = at('grpc-js', cell.round);
    if (peer) ratios.push(cell.load.callsPerSecond / peer.load.callsPerSecond);
  }
  return ratios;
}

/** Student's t for a two-sided 95 % interval, by degrees of freedom (1 to 30; 1.96 beyond). */
const T95 = [
  12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.2, 2.18, 2.16, 2.14, 2.13, 2.12,
  2.11, 2.1, 2.09, 2.09, 2.08, 2.07, 2.07, 2.06, 2.06, 2.06, 2.05, 2.05, 2.05, 2.04,
];

/**
 * The geometric mean of `ratios` and its 95 % interval: a t interval on their logarithms (a
 * ratio of 0.5 and one of 2 cancel out, where their arithmetic mean would be 1.25).
 */
function ratioInterval(ratios: readonly number[]): { mean: number; low: number; high: number } {
  const logs = ratios.map(Math.log);
  const n = logs.length;
  const mean = logs.reduce((sum, v) => sum + v, 0) / n;
  const variance = logs.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (n - 1);
  const halfWidth = (T95[n - 2] ?? 1.96) * Math.sqrt(variance / n);
  return {
    mean: Math.exp(mean),
    low: Math.exp(mean - halfWidth),
    high: Math.exp(mean + halfWidth),
  };
}

ensureBuilt((line) => console.error(line));
const { api } = await loadRxlb('dist');
const backends = await startBackends(BACKENDS);
try {
  const { rows, cells } = await runMacro(api, backends, { ...base.macro, rounds, cellMs });
  const macro = { macro: rows };
  console.log(macroTable(macro));
  for (const t of macroTargets(macro))
    console.log(`${t.met ? 'met' : 'NOT met'}: ${t.target}: ${t.measured}`);
  for (const concurrency of base.macro.concurrencies) {
    const ratios = roundRatios(cells, concurrency);
    const { mean, low, high } = ratioInterval(ratios);
    const range = `${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)}`;
    console.log(
      `concurrency ${concurrency}: per-round a/b, geometric mean ${mean.toFixed(3)}, 95 % interval ${low.toFixed(3)} to ${high.toFixed(3)} (${ratios.length} rounds; each ${range})`,
    );
  }
} finally {
  await backends.close();
}
