/**
 * What the conformance scenarios measured, for the table of docs/failures.md: each test file writes its rows
 * to reports/conformance/<file>.json; `npm run conformance` prints them as one table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll } from 'vitest';
import type { SideName } from './sides.js';

export interface ConformanceRow {
  readonly scenario: string;
  readonly rxlb: string;
  readonly 'grpc-js': string;
}

export const REPORT_DIR = new URL('../../../reports/conformance/', import.meta.url);

/** Collects this file's rows and writes them once its tests are done. */
export function conformanceReport(file: string): (row: ConformanceRow) => void {
  const rows: ConformanceRow[] = [];
  afterAll(() => {
    mkdirSync(REPORT_DIR, { recursive: true });
    writeFileSync(new URL(`${file}.json`, REPORT_DIR), `${JSON.stringify(rows, null, 2)}\n`);
  });
  return (row) => rows.push(row);
}

/** `'3 of 40 failed (UNAVAILABLE)'`-like text from per-side counts. */
export function describeBySide<T>(
  results: Record<SideName, T>,
  text: (result: T) => string,
): Pick<ConformanceRow, SideName> {
  return { rxlb: text(results.rxlb), 'grpc-js': text(results['grpc-js']) };
}
