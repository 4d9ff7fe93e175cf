/**
 * `npm run marbles`: draws every case in marbles/ as an SVG in docs/marbles/, and removes
 * diagrams whose case is gone. Commit the result; a test fails when it is stale.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MARBLES_DIR, renderMarbleDiagrams } from './render-marbles.js';

const diagrams = renderMarbleDiagrams();
mkdirSync(MARBLES_DIR, { recursive: true });
const wanted = new Set(diagrams.map((diagram) => diagram.file));
for (const file of readdirSync(MARBLES_DIR)) {
  if (file.endsWith('.svg') && !wanted.has(file)) rmSync(join(MARBLES_DIR, file));
}
for (const { file, svg } of diagrams) writeFileSync(join(MARBLES_DIR, file), svg);
console.log(`${diagrams.length} marble diagrams written to ${MARBLES_DIR}/`);
