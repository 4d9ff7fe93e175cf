import type { BenchmarkResult } from './benchmark.js';

/** `12.3 ns`, `4.56 µs`, `7.89 ms` */
export function formatDuration(ns: number): string {
  if (ns < 1e3) return `${ns.toFixed(1)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

/** A plain-text table, one section per group. */
export function formatTable(results: readonly BenchmarkResult[]): string {
  const header = ['', 'avg', 'p50', 'p99', 'samples'];
  const rows: string[][] = [];
  let group: string | undefined;
  for (const result of results) {
    if (result.group !== group) {
      group = result.group;
      rows.push([group]);
    }
    rows.push([
      `  ${result.name}`,
      formatDuration(result.avg),
      formatDuration(result.p50),
      formatDuration(result.p99),
      String(result.samples),
    ]);
  }
  const widths = header.map((title, column) =>
    Math.max(
      title.length,
      ...rows.filter((row) => row.length > 1).map((row) => row[column]?.length ?? 0),
    ),
  );
  const line = (cells: readonly string[]) =>
    cells.length === 1
      ? (cells[0] ?? '')
      : cells
          .map((cell, column) =>
            column === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[column] ?? 0),
          )
          .join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
