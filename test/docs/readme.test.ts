import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { diagramFiles, pinDiagrams } from '../../scripts/readme-diagrams.js';
import { markdownFiles, type Snippet, tsSnippets, typeCheck } from './readme-snippets.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GREETER = join(ROOT, 'examples', 'greeter');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const FILES = markdownFiles(ROOT);
const TEXTS = FILES.map((file) => [file, readFileSync(join(ROOT, file), 'utf8')] as const);
const snippets = TEXTS.flatMap(([file, text]) => tsSnippets(text, file));

describe('The TypeScript blocks of README.md, CONTRIBUTING.md and docs/', () => {
  let errors: Map<Snippet, string[]>;
  beforeAll(() => {
    errors = typeCheck(ROOT, GREETER, snippets);
  }, 60_000);

  it('are found in README.md and in at least five guides', () => {
    const guides = new Set(
      snippets.map((snippet) => snippet.file).filter((f) => f.startsWith('docs/')),
    );
    expect(snippets.some((snippet) => snippet.file === 'README.md')).toBe(true);
    expect(guides.size).toBeGreaterThanOrEqual(5);
  });

  it.each(snippets.map((snippet) => [`${snippet.file}:${snippet.line}`, snippet] as const))(
    'the block at %s type-checks',
    (_at, snippet) => {
      expect(errors.get(snippet)).toEqual([]);
    },
  );
});

describe('README.md, as the npm page shows it', () => {
  it('is at most 400 lines and 30 KB', () => {
    expect(README.split('\n').length).toBeLessThanOrEqual(400);
    expect(Buffer.byteLength(README)).toBeLessThanOrEqual(30 * 1024);
  });

  it('links into the repository with absolute URLs (npm serves none of its files)', () => {
    const links = [...README.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] ?? '');
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((url) => !/^(https:\/\/|#)/.test(url))).toEqual([]);
  });
});

describe('the links between README.md, CONTRIBUTING.md and the guides', () => {
  // a file (blob) or a folder (tree) of the repository on GitHub
  const REPO = /^https:\/\/github\.com\/rxlb\/rxlb\/(?:blob|tree)\/main\//;
  const anchors = new Map(
    TEXTS.map(([file, text]) => [file, new Set(headingAnchors(text))] as const),
  );
  // the headings of another Markdown file of the repository (bench/RESULTS.md, say)
  const anchorsOf = (file: string): Set<string> => {
    const known = anchors.get(file);
    if (known) return known;
    const read = new Set(
      file.endsWith('.md') ? headingAnchors(readFileSync(join(ROOT, file), 'utf8')) : [],
    );
    anchors.set(file, read);
    return read;
  };

  it.each(FILES)('from %s reach a file that exists, and a heading it has', (file) => {
    const text = TEXTS.find(([name]) => name === file)?.[1] ?? '';
    const broken: string[] = [];
    for (const [, url] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!url) continue;
      const inRepo = REPO.test(url);
      if (/^https?:\/\//.test(url) && !inRepo) continue;
      const [path = '', anchor] = url.replace(REPO, '').split('#');
      const target = inRepo ? path : path === '' ? file : join(dirname(file), path);
      const normal = target.replace(/\/$/, '');
      if (normal !== '' && !existsSync(join(ROOT, normal))) broken.push(`${url}: no ${normal}`);
      else if (anchor && !anchorsOf(normal).has(anchor)) broken.push(`${url}: no #${anchor}`);
    }
    expect(broken).toEqual([]);
  });
});

/** GitHub's anchors for the headings of `markdown`. */
function headingAnchors(markdown: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? undefined : /^#{1,6} (.*)$/.exec(line)?.[1];
    if (heading !== undefined)
      out.push(
        heading
          .trim()
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replace(/ /g, '-'),
      );
  }
  return out;
}

describe('the diagrams of README.md and the guides', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    files: string[];
  };

  it('link to the SVGs the package ships, at its version, which the npm page can show', () => {
    let count = 0;
    for (const [file, text] of TEXTS) {
      const images = [...text.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((match) => match[1]);
      count += images.length;
      expect(
        images.filter((url) => !url?.startsWith('https://')),
        file,
      ).toEqual([]);
      // after `npm version`, or for a new diagram: npx tsx scripts/pin-readme-diagrams.ts
      expect(pinDiagrams(text, pkg.name, pkg.version), file).toBe(text);
      expect(diagramFiles(text), file).toHaveLength(images.length);
      const missing = diagramFiles(text).filter(
        (name) => !existsSync(join(ROOT, 'docs', 'marbles', name)),
      );
      expect(missing, file).toEqual([]);
    }
    expect(count).toBeGreaterThan(10);
    expect(pkg.files).toContain('docs/marbles/*.svg');
  });
});

describe("README.md's requirements line", () => {
  it("says package.json's engines and peer ranges, the optional ones as optional", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    const line = /\*\*Requirements:\*\* ([\s\S]*?)\n\n/.exec(README)?.[1]?.replace(/\s+/g, ' ');
    expect(line).toBeDefined();
    const [required = '', optional = ''] = line?.split('; optional: ') ?? [];
    expect(required).toContain(`Node.js \`${pkg.engines.node}\``);
    for (const [name, range] of Object.entries(pkg.peerDependencies)) {
      const said = `\`${name}\` \`${range}\``;
      expect(pkg.peerDependenciesMeta[name]?.optional ? optional : required).toContain(said);
    }
  });
});

describe("docs/consul-targets.md's comparison of a consul: target and the balanced channel", () => {
  it('names every policy rxlb ships where it says who picks', () => {
    // a policy is an operator built on policyOperator(), in a file named after it
    const dir = join(ROOT, 'src', 'operators');
    const policies = readdirSync(dir)
      .filter((file) => file !== 'policy-operator.ts' && file.endsWith('.ts'))
      .filter((file) => readFileSync(join(dir, file), 'utf8').includes('policyOperator('))
      .map((file) =>
        file.replace(/\.ts$/, '').replace(/-(\w)/g, (_, c: string) => c.toUpperCase()),
      );
    expect(policies).toContain('roundRobin');
    const guide = readFileSync(join(ROOT, 'docs', 'consul-targets.md'), 'utf8');
    const row = guide.split('\n').find((line) => line.startsWith('| who picks'));
    expect(policies.filter((policy) => !row?.includes(`\`${policy}()\``))).toEqual([]);
  });
});

describe('the README block checker', () => {
  const markdown = [
    '# title',
    '<!-- prelude: import { of } from "rxjs"; -->',
    '```ts',
    'const n: number = of(1);',
    '```',
    '',
    '```sh',
    'npm test',
    '```',
    '```ts',
    'undeclared.call();',
    '```',
    '<!-- prelude: declare const picker$: unknown;',
    '  declare const channel: unknown; -->',
    '```ts',
    'console.log(picker$, channel);',
    '```',
  ].join('\n');

  it('takes each ts block, with the prelude of the comment right before it, on its first line', () => {
    expect(tsSnippets(markdown)).toEqual([
      { file: 'README.md', line: 4, code: 'import { of } from "rxjs"; const n: number = of(1);' },
      { file: 'README.md', line: 11, code: ' undeclared.call();' },
      {
        file: 'README.md',
        line: 16,
        code: 'declare const picker$: unknown;   declare const channel: unknown; console.log(picker$, channel);',
      },
    ]);
  });

  it('reports what does not compile at its line of the README', () => {
    const checked = typeCheck(ROOT, GREETER, tsSnippets(markdown));
    expect([...checked.values()]).toEqual([
      [
        expect.stringMatching(
          /^README\.md:4: Type 'Observable<number>' is not assignable to type 'number'/,
        ),
      ],
      ["README.md:11: Cannot find name 'undeclared'."],
      [],
    ]);
  }, 60_000);
});
