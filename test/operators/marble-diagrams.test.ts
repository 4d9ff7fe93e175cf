import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MARBLES_DIR, renderMarbleDiagrams } from '../../scripts/render-marbles.js';

describe('docs/marbles', () => {
  const diagrams = renderMarbleDiagrams();

  it('holds exactly one diagram per marble case (run `npm run marbles` when this fails)', () => {
    const onDisk = readdirSync(MARBLES_DIR).filter((file) => file.endsWith('.svg'));
    expect(onDisk.sort()).toEqual(diagrams.map((diagram) => diagram.file).sort());
  });

  it('holds diagrams drawn from the current cases (run `npm run marbles` when this fails)', () => {
    for (const { file, svg } of diagrams) {
      expect(readFileSync(join(MARBLES_DIR, file), 'utf8'), file).toBe(svg);
    }
  });
});
