/**
 * README.md's diagrams as the npm page can show them: the page renders README.md but serves
 * none of the package's files, so each diagram is an absolute link to the SVG that the
 * published package ships (package.json `files`), at that version, on jsDelivr's npm CDN.
 */
import { MARBLES_DIR } from './render-marbles.js';

const CDN = 'https://cdn.jsdelivr.net/npm';

/** The link to `file` of docs/marbles/ in the package `name` at `version`. */
export function diagramUrl(name: string, version: string, file: string): string {
  return `${CDN}/${name}@${version}/${MARBLES_DIR}/${file}`;
}

/** Every image of `markdown` that is a diagram of docs/marbles/, relative or pinned. */
const DIAGRAM = new RegExp(
  String.raw`\]\((?:${CDN}/[^/@]+@[^/]+/)?${MARBLES_DIR}/([\w.-]+\.svg)\)`,
  'g',
);

/** `markdown` with every diagram link pinned to `name`@`version`. */
export function pinDiagrams(markdown: string, name: string, version: string): string {
  return markdown.replace(
    DIAGRAM,
    (_link, file: string) => `](${diagramUrl(name, version, file)})`,
  );
}

/** The diagrams `markdown` shows: their files in docs/marbles/. */
export function diagramFiles(markdown: string): string[] {
  return [...markdown.matchAll(DIAGRAM)].map((match) => match[1] ?? '');
}
