import type { BenchmarkResult } from './benchmark.js';

/** `12.3 ns`, `4.56 µs`, `7.89 ms` */
export function formatDuration(ns: number): string {
  if (!Number.isFinite(ns)) return '–';
  if (ns < 1e3) return `${ns.toFixed(1)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

/** `0.97` */
export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? ratio.toFixed(2) : '–';
}

/**
 * A Markdown table whose columns are padded, so that it reads as well in a terminal as it
 * renders in Markdown. The first column is left-aligned, the others right-aligned.
 */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, 3, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: readonly string[]) =>
    `| ${widths
      .map((width, column) => {
        const cell = cells[column] ?? '';
        return column === 0 ? cell.padEnd(width) : cell.padStart(width);
      })
      .join(' | ')} |`;
  const rule = `| ${widths.map((width, column) => (column === 0 ? '-'.repeat(width) : `${'-'.repeat(width - 1)}:`)).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** Micro results, one section per group, each row also as a multiple of its group's baseline. */
export function microTable(results: readonly BenchmarkResult[]): string {
  const rows: string[][] = [];
  let group: string | undefined;
  for (const result of results) {
    if (result.group !== group) {
      group = result.group;
      rows.push([`**${group}**`]);
    }
    const baseline = results.find((r) => r.group === result.group && r.baseline);
    rows.push([
      result.name,
      formatDuration(result.p50),
      formatDuration(result.p99),
      formatDuration(result.avg),
      baseline ? `${formatRatio(result.p50 / baseline.p50)}×` : '',
    ]);
  }
  return markdownTable(['per operation', 'p50', 'p99', 'avg', 'p50 vs ref.'], rows);
}
