import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MARBLES_DIR, renderMarbleDiagrams } from '../../scripts/render-marbles.js';

// Drawn from marbles/ as `npm run marbles` draws them; when a test here fails, run it.
const diagrams = renderMarbleDiagrams();
const files = diagrams.map((diagram) => diagram.file);

describe('docs/marbles', () => {
  it('holds exactly one diagram per marble case', () => {
    const onDisk = readdirSync(MARBLES_DIR).filter((file) => file.endsWith('.svg'));
    expect(onDisk.sort()).toEqual([...files].sort());
  });

  it('holds diagrams drawn from the current cases', () => {
    for (const { file, svg } of diagrams) {
      expect(readFileSync(join(MARBLES_DIR, file), 'utf8'), file).toBe(svg);
    }
  });

  it.each([
    'README.md',
    'docs/policies.md',
    'docs/discovery.md',
    'src/operators/diff.ts',
    'src/operators/least-request.ts',
    'src/operators/peak-ewma.ts',
    'src/operators/ring-hash.ts',
    'src/operators/round-robin.ts',
    'src/operators/when-nobody.ts',
    'src/operators/weighted-round-robin.ts',
    'src/operators/subset.ts',
    'src/operators/zone-aware.ts',
  ])('is linked from %s only where a diagram exists', (path) => {
    const linked = [...readFileSync(path, 'utf8').matchAll(/docs\/marbles\/([\w.-]+\.svg)/g)];
    expect(linked.length).toBeGreaterThan(0);
    for (const [, file] of linked) expect(files, `${path} links to ${file}`).toContain(file);
  });
});
