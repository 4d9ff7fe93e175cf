/**
 * Pins the diagram links of README.md and the guides (docs/*.md) to the version in package.json (see readme-diagrams.ts).
 * npm runs it on `npm version` (the `version` script); a test fails when a link is not pinned.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { pinDiagrams } from './readme-diagrams.js';

const { name, version } = JSON.parse(readFileSync('package.json', 'utf8')) as {
  name: string;
  version: string;
};
const guides = readdirSync('docs')
  .filter((file) => file.endsWith('.md'))
  .map((file) => `docs/${file}`);
for (const file of ['README.md', ...guides]) {
  const text = readFileSync(file, 'utf8');
  const pinned = pinDiagrams(text, name, version);
  if (pinned !== text) writeFileSync(file, pinned);
}
console.log(`README.md and docs/*.md: diagrams of ${name}@${version}`);
