/**
 * The demo's live view: one bar per backend, the calls it answered in the last second, and
 * the events so far. On a terminal it redraws in place; otherwise it prints plain lines.
 */

export interface BackendRow {
  readonly address: string;
  readonly label: string;
  readonly total: number;
  readonly lastSecond: number;
}

const BAR_WIDTH = 40;
const isTty = process.stdout.isTTY === true;
let drawnLines = 0;

function bar(value: number, max: number): string {
  const cells = max === 0 ? 0 : Math.round((value / max) * BAR_WIDTH);
  return '█'.repeat(cells) + '·'.repeat(BAR_WIDTH - cells);
}

/** Draws the rows (redrawn in place on a terminal, printed as lines otherwise). */
export function draw(elapsedMs: number, rows: readonly BackendRow[], failed: number): void {
  const max = Math.max(1, ...rows.map((row) => row.lastSecond));
  const t = (elapsedMs / 1000).toFixed(1).padStart(5);
  const lines = rows.map(
    (row) =>
      `  ${row.address.padEnd(16)} ${isTty ? `${bar(row.lastSecond, max)} ` : ''}${String(row.lastSecond).padStart(5)}/s ${String(row.total).padStart(7)} calls  ${row.label}`,
  );
  const header = `t=${t}s  failed calls: ${failed}`;
  if (!isTty) {
    console.log([header, ...lines].join('\n'));
    return;
  }
  if (drawnLines > 0) process.stdout.write(`\x1b[${drawnLines}A\x1b[0J`);
  process.stdout.write(`${[header, ...lines].join('\n')}\n`);
  drawnLines = lines.length + 1;
}

/** Prints an event line above the live view. */
export function event(elapsedMs: number, text: string): void {
  if (isTty && drawnLines > 0) {
    process.stdout.write(`\x1b[${drawnLines}A\x1b[0J`);
    drawnLines = 0;
  }
  console.log(`t=${(elapsedMs / 1000).toFixed(1).padStart(5)}s  ▶ ${text}`);
}

/** Stops redrawing: what is on screen stays. */
export function freeze(): void {
  drawnLines = 0;
}
