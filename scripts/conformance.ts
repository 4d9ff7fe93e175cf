/**
 * `npm run conformance`: runs the conformance scenarios (rxlb's balanced channel and grpc-js's
 * round_robin, side by side on the same backends) and prints what they measured as the
 * Markdown table docs/failures.md shows.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ConformanceRow } from '../test/grpc/conformance/report.js';
import { REPORT_DIR } from '../test/grpc/conformance/report.js';

const ORDER = ['first-calls', 'restarts', 'gray-failures', 'large-membership', 'discovery'];

rmSync(REPORT_DIR, { recursive: true, force: true });
const run = spawnSync(
  'npx',
  ['vitest', 'run', '--project', 'rxlb', 'test/grpc/conformance/', '--reporter', 'dot'],
  { stdio: 'inherit', cwd: fileURLToPath(new URL('../', import.meta.url)) },
);
const files = readdirSync(REPORT_DIR).map((name) => name.replace(/\.json$/, ''));
files.sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
const rows = files.flatMap(
  (file) =>
    JSON.parse(readFileSync(new URL(`${file}.json`, REPORT_DIR), 'utf8')) as ConformanceRow[],
);
const cell = (text: string) => text.replaceAll('|', '\\|');
console.log('\n| scenario | rxlb | grpc-js round_robin |\n| --- | --- | --- |');
for (const row of rows) {
  console.log(`| ${cell(row.scenario)} | ${cell(row.rxlb)} | ${cell(row['grpc-js'])} |`);
}
process.exitCode = run.status ?? 1;
