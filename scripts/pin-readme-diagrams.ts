/**
 * Pins README.md's diagram links to the version in package.json (see readme-diagrams.ts).
 * npm runs it on `npm version` (the `version` script); a test fails when a link is not pinned.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pinDiagrams } from './readme-diagrams.js';

const { name, version } = JSON.parse(readFileSync('package.json', 'utf8')) as {
  name: string;
  version: string;
};
const readme = readFileSync('README.md', 'utf8');
const pinned = pinDiagrams(readme, name, version);
if (pinned !== readme) writeFileSync('README.md', pinned);
console.log(`README.md: diagrams of ${name}@${version}`);
