import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { diagramFiles, pinDiagrams } from '../../scripts/readme-diagrams.js';
import { type Snippet, tsSnippets, typeCheck } from './readme-snippets.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GREETER = join(ROOT, 'examples', 'greeter');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const snippets = tsSnippets(README);

describe("README.md's TypeScript blocks", () => {
  let errors: Map<Snippet, string[]>;
  beforeAll(() => {
    errors = typeCheck(ROOT, GREETER, snippets);
  }, 60_000);

  it.each(snippets.map((snippet) => [snippet.line, snippet] as const))(
    'the block at line %i type-checks',
    (_line, snippet) => {
      expect(errors.get(snippet)).toEqual([]);
    },
  );
});

describe("README.md's diagrams", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    files: string[];
  };

  it('link to the SVGs the package ships, at its version, which the npm page can show', () => {
    const images = [...README.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((match) => match[1]);
    expect(images.length).toBeGreaterThan(10);
    expect(images.filter((url) => !url?.startsWith('https://'))).toEqual([]);
    // after `npm version`, or for a new diagram: npx tsx scripts/pin-readme-diagrams.ts
    expect(pinDiagrams(README, pkg.name, pkg.version)).toBe(README);
    expect(diagramFiles(README)).toHaveLength(images.length);
    const missing = diagramFiles(README).filter(
      (file) => !existsSync(join(ROOT, 'docs', 'marbles', file)),
    );
    expect(missing).toEqual([]);
    expect(pkg.files).toContain('docs/marbles/*.svg');
  });
});

describe("README.md's links", () => {
  const { repository } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    repository: { url: string };
  };
  // git+https://github.com/rxlb/rxlb.git → https://github.com/rxlb/rxlb
  const repo = repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
  const links = [...README.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] ?? '');

  it("are absolute, since npm's page has none of the repository's files", () => {
    expect(links.filter((url) => !/^(https?:|mailto:|#)/.test(url))).toEqual([]);
  });

  it('into the repository, name a file or folder it has', () => {
    const inside = links.flatMap((url) => {
      const match = new RegExp(`^${repo}/(?:blob|tree)/main/([^#?]+)`).exec(url);
      return match?.[1] ? [match[1]] : [];
    });
    expect(inside.length).toBeGreaterThan(0);
    expect(inside.filter((path) => !existsSync(join(ROOT, path)))).toEqual([]);
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

describe("README.md's comparison of a consul: target and the balanced channel", () => {
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
    const row = README.split('\n').find((line) => line.startsWith('| who picks'));
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
      { line: 4, code: 'import { of } from "rxjs"; const n: number = of(1);' },
      { line: 11, code: ' undeclared.call();' },
      {
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
