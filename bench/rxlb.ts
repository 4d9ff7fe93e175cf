/**
 * The rxlb that the macro, convergence, Consul and memory benchmarks run: by default its build
 * in dist/ (tsup), as users run it. Running src/ through tsx is not the same code: tsx
 * compiles with esbuild's `keepNames`, which wraps every arrow function created per call in a
 * `__name()` (an `Object.defineProperty`), and that alone cost rxlb 5 to 10 % CPU per call in the
 * macro rows. grpc-js runs from its own build in every row. The micro benchmarks time internal
 * functions (not exported) from src/; none of them creates a function per call.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Api from '../src/index.js';

export type RxlbApi = typeof Api;

export interface Rxlb {
  readonly api: RxlbApi;
  /** Where it was loaded from. */
  readonly from: 'dist' | 'src';
}

const ROOT = new URL('../', import.meta.url);
const DIST_ENTRY = new URL('dist/index.js', ROOT);
const SRC_ENTRY = new URL('src/index.ts', ROOT);

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const stat = statSync(join(dir, name));
    if (stat.isFile()) newest = Math.max(newest, stat.mtimeMs);
  }
  return newest;
}

/** True when dist/ is missing or older than a file of src/ or the build's configuration. */
export function buildIsStale(): boolean {
  if (!existsSync(DIST_ENTRY)) return true;
  const inputs = [
    newestMtime(fileURLToPath(new URL('src/', ROOT))),
    ...['tsup.config.ts', 'package.json', 'tsconfig.json'].map(
      (file) => statSync(new URL(file, ROOT)).mtimeMs,
    ),
  ];
  return Math.max(...inputs) > statSync(DIST_ENTRY).mtimeMs;
}

/** Runs `npm run build` when dist/ is missing or stale. */
export function ensureBuilt(log: (line: string) => void): void {
  if (!buildIsStale()) return;
  log('dist/ is missing or older than src/: npm run build');
  const result = spawnSync('npm', ['run', 'build', '--silent'], {
    cwd: fileURLToPath(ROOT),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`npm run build failed (exit ${result.status})`);
}

export async function loadRxlb(from: Rxlb['from']): Promise<Rxlb> {
  const entry = from === 'dist' ? DIST_ENTRY : SRC_ENTRY;
  const api = (await import(entry.href)) as RxlbApi;
  if (typeof api.createBalancedChannel !== 'function') {
    throw new Error(`${fileURLToPath(entry)} does not export createBalancedChannel`);
  }
  return { api, from };
}
