/**
 * `npm run mutate`: StrykerJS (stryker.config.mjs) over src/, one folder at a time, then a
 * table of the scores. Each folder has its own incremental file and reports under
 * `reports/mutation/<folder>/`, so a rerun tests only the mutants whose code or covering
 * tests changed, and running one folder never forgets another's results.
 *
 *   npm run mutate                          every folder, in turn (`root`: src/*.ts)
 *   npm run mutate -- resolver operators    those folders
 *   npm run mutate -- grpc --force          `--force`: test every mutant again, not only
 *                                           those whose code or tests changed
 *   npm run mutate -- --mutate src/consul/backoff.ts   those files only (kept as `custom`)
 *   npm run mutate -- --summary             only the table of the last results
 *
 * Other `--flags` go to Stryker as they are (e.g. `--logLevel debug`).
 *
 * Incremental mode reuses a surviving mutant's result unless a test that covers it was added
 * or changed; a *static* mutant (one reached outside any test: module-level code, or code a
 * test leaves running when it ends) has no covering tests, so after adding tests run the
 * folder again with `--force` before trusting its survivors.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Stryker } from '@stryker-mutator/core';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const REPORTS = `${ROOT}reports/mutation`;
const FOLDERS = [
  'operators',
  'resolver',
  'consul',
  'grpc',
  'service-config',
  'telemetry',
  'cli',
  'testing',
  'root',
] as const;

/** Stryker's mutant statuses, counted. */
interface Counts {
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  /** Runtime and compile errors, and ignored mutants: not in the score. */
  other: number;
}

interface Summary extends Counts {
  readonly folder: string;
  readonly date: string;
  readonly seconds: number;
  /** Every mutant tested (`--force`, or no incremental file yet), not only what changed. */
  readonly full?: boolean;
}

const isFolder = (arg: string) => (FOLDERS as readonly string[]).includes(arg);
const folders: string[] = [];
/** What goes to Stryker: `--name value` (a number when it reads as one) or `--name`. */
const options: Record<string, string | number | boolean> = {};
let summaryOnly = false;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i] ?? '';
  const next = args[i + 1];
  if (arg === '--summary') {
    summaryOnly = true;
  } else if (arg.startsWith('--')) {
    if (next !== undefined && !next.startsWith('--') && !isFolder(next)) {
      options[arg.slice(2)] = /^\d+(\.\d+)?$/.test(next) ? Number(next) : next;
      i++;
    } else {
      options[arg.slice(2)] = true;
    }
  } else if (isFolder(arg)) {
    folders.push(arg);
  } else {
    throw new Error(`unknown folder "${arg}": one of ${FOLDERS.join(', ')}`);
  }
}

// Stryker's own `--mutate a,b`: one run of those files, its results kept apart as `custom`
const custom = typeof options.mutate === 'string' ? options.mutate.split(',') : undefined;
delete options.mutate;
if (custom && folders.length > 0) throw new Error('name folders or give --mutate, not both');

if (!summaryOnly) {
  if (custom) await mutate('custom', custom);
  else for (const folder of folders.length > 0 ? folders : FOLDERS) await mutate(folder);
}
printTable();

function filesOf(folder: string): string[] {
  return folder === 'root' ? ['src/*.ts', '!src/index.ts'] : [`src/${folder}/**/*.ts`];
}

async function mutate(folder: string, files = filesOf(folder)): Promise<void> {
  const dir = `reports/mutation/${folder}`;
  const full = options.force === true || !existsSync(`${ROOT}${dir}/incremental.json`);
  const started = performance.now();
  const results = await new Stryker({
    mutate: files,
    incrementalFile: `${dir}/incremental.json`,
    htmlReporter: { fileName: `${dir}/mutation.html` },
    jsonReporter: { fileName: `${dir}/mutation.json` },
    ...options,
  }).runMutationTest();
  const summary: Summary = {
    folder,
    date: new Date().toISOString(),
    seconds: Math.round((performance.now() - started) / 1000),
    full,
    ...count(results.map((result) => result.status)),
  };
  mkdirSync(`${ROOT}${dir}`, { recursive: true });
  writeFileSync(`${ROOT}${dir}/summary.json`, `${JSON.stringify(summary, null, 2)}\n`);
}

function count(statuses: readonly string[]): Counts {
  const counts: Counts = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, other: 0 };
  for (const status of statuses) {
    if (status === 'Killed') counts.killed += 1;
    else if (status === 'Timeout') counts.timeout += 1;
    else if (status === 'Survived') counts.survived += 1;
    else if (status === 'NoCoverage') counts.noCoverage += 1;
    else counts.other += 1;
  }
  return counts;
}

/** Stryker's mutation score: detected (killed, timed out) over detected and undetected. */
function score(c: Counts): string {
  const valid = c.killed + c.timeout + c.survived + c.noCoverage;
  return valid === 0 ? 'n/a' : `${((100 * (c.killed + c.timeout)) / valid).toFixed(2)} %`;
}

function printTable(): void {
  if (!existsSync(REPORTS)) {
    console.log('no results yet in reports/mutation/: run `npm run mutate` (or `-- <folder>`)');
    return;
  }
  const rows: Summary[] = [];
  for (const folder of readdirSync(REPORTS)) {
    const file = `${REPORTS}/${folder}/summary.json`;
    if (existsSync(file)) rows.push(JSON.parse(readFileSync(file, 'utf8')) as Summary);
  }
  rows.sort((a, b) => FOLDERS.indexOf(a.folder as never) - FOLDERS.indexOf(b.folder as never));
  const total = count([]);
  console.log('\n| folder | score | killed | timeout | survived | no coverage | run on | took |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) {
    for (const key of Object.keys(total) as (keyof Counts)[]) total[key] += row[key];
    const cells = [row.killed, row.timeout, row.survived, row.noCoverage];
    const run = row.full === undefined ? '' : row.full ? ' (full)' : ' (incremental)';
    const took = `${Math.floor(row.seconds / 60)} min ${row.seconds % 60} s${run}`;
    console.log(`| ${row.folder} | ${score(row)} | ${cells.join(' | ')} | ${row.date} | ${took} |`);
  }
  const cells = [total.killed, total.timeout, total.survived, total.noCoverage];
  console.log(`| all of these | ${score(total)} | ${cells.join(' | ')} | | |`);
}
