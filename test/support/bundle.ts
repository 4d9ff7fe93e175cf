/**
 * A TypeScript entry of the tests' child processes, bundled once per test process with
 * esbuild (the compiler tsx runs on), its packages left as imports: a child then starts in a
 * fifth of the time `node --import tsx` takes to compile src/ on every start (0.5 s against
 * 2.4 s here). The bundle sits under node_modules, so that its imports of packages resolve
 * to the project's; `import.meta.url` in a bundled module is the bundle's, so entries that
 * read files beside themselves must not be bundled.
 */
import { mkdirSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const CACHE = fileURLToPath(new URL('../../node_modules/.cache/rxlb-test/', import.meta.url));
const built = new Map<string, string>();

/** The path of `entry` (a .ts file) bundled for this process, to run with `node <path>`. */
export function bundled(entry: string): string {
  const known = built.get(entry);
  if (known !== undefined) return known;
  mkdirSync(CACHE, { recursive: true });
  const outfile = `${CACHE}${basename(entry, '.ts')}-${built.size}-${process.pid}.mjs`;
  buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    // Node 20 has no `using` declarations: esbuild lowers them, as tsx does
    target: `node${process.versions.node}`,
    format: 'esm',
    packages: 'external',
    outfile,
    logLevel: 'error',
  });
  built.set(entry, outfile);
  return outfile;
}
