/**
 * `npx tsx bench/macro-only.ts [--quick] [--rounds N] [--cell-ms N]`: only the side-by-side
 * unary calls (rxlb's channel, grpc-js round_robin, one plain channel), with the a/b targets
 * and, per concurrency, the mean of the per-round a/b ratios with its 95 % confidence
 * interval: how finely this machine can tell the two apart. Prints; writes nothing.
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
const rounds = roundsAt < 0 ? base.macro.rounds : Number(process.argv[roundsAt + 1]);
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

/** The mean of `values` and the half-width of its 95 % interval (normal approximation). */
function meanWithInterval(values: readonly number[]): { mean: number; halfWidth: number } {
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (values.length - 1);
  return { mean, halfWidth: 1.96 * Math.sqrt(variance / values.length) };
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
    const { mean, halfWidth } = meanWithInterval(ratios);
    const range = `${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)}`;
    console.log(
      `concurrency ${concurrency}: per-round a/b mean ${mean.toFixed(3)} ± ${halfWidth.toFixed(3)} (95 %, ${ratios.length} rounds; ${range})`,
    );
  }
} finally {
  await backends.close();
}
