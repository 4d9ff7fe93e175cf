/**
 * The TypeScript blocks of README.md and the guides (docs/*.md), compiled as a reader would
 * paste them: each ```ts block is
 * a module of its own that imports `rxlb` and `rxlb/testing` (mapped to src/) and the
 * packages rxlb's users have. What a block assumes without showing it (a `picker$`, a
 * generated client) is declared in a prelude: an HTML comment right before the block, hidden
 * on the rendered page, `<!-- prelude: declare const picker$: Observable<Picker>; -->`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

export interface Snippet {
  /** The Markdown file the block is in, relative to the repository (`README.md`). */
  readonly file: string;
  /** The line of that file where the block's code starts. */
  readonly line: number;
  /** The prelude's code, then the block's. */
  readonly code: string;
}

const FENCE = /^```(\w*)\s*$/;
const PRELUDE = /^<!--\s*prelude:([\s\S]*)-->$/;

/** The ```ts blocks of `markdown` (the text of `file`), each with its prelude. */
export function tsSnippets(markdown: string, file = 'README.md'): Snippet[] {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '');
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end] ?? '')) end++;
    if (open[1] === 'ts' || open[1] === 'typescript') {
      const before = lines.slice(0, i).join('\n').trimEnd();
      const comment = before.endsWith('-->') ? before.slice(before.lastIndexOf('<!--')) : '';
      const prelude = PRELUDE.exec(comment)?.[1]?.trim() ?? '';
      const body = lines.slice(i + 1, end).join('\n');
      // the prelude on the block's first line, so that line numbers of errors stay the file's
      snippets.push({ file, line: i + 2, code: `${prelude.replace(/\n/g, ' ')} ${body}` });
    }
    i = end;
  }
  return snippets;
}

/**
 * Type-checks `snippets` as modules in `dir` (which is not written to: they exist only for the
 * compiler), with the project's compiler options. Returns each one's errors, as
 * `<file>:<line>: <message>`.
 */
export function typeCheck(
  root: string,
  dir: string,
  snippets: readonly Snippet[],
): Map<Snippet, string[]> {
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  options.noEmit = true; // `rxlb` is the sources, by the tsconfig's `paths`
  const files = new Map(
    snippets.map((snippet) => [
      join(dir, `${snippet.file.replace(/\W/g, '-')}-${snippet.line}.ts`),
      snippet,
    ]),
  );
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
  host.readFile = (file) => files.get(file)?.code ?? readFile.call(host, file);
  host.getSourceFile = (file, language, ...rest) => {
    const snippet = files.get(file);
    if (snippet) return ts.createSourceFile(file, snippet.code, language, true);
    return getSourceFile.call(host, file, language, ...rest);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  const errors = new Map<Snippet, string[]>(snippets.map((snippet) => [snippet, []]));
  for (const [file, snippet] of files) {
    const source = program.getSourceFile(file);
    const diagnostics = [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ];
    for (const diagnostic of diagnostics) {
      const at =
        diagnostic.file && diagnostic.start !== undefined
          ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line
          : 0;
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
      errors.get(snippet)?.push(`${snippet.file}:${snippet.line + at}: ${message}`);
    }
  }
  return errors;
}

/** The Markdown a reader reads: README.md, CONTRIBUTING.md and the guides in docs/. */
export function markdownFiles(root: string): string[] {
  const guides = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', 'CONTRIBUTING.md', ...guides];
}

/** The snippets of every file of `markdownFiles()`, and their errors. */
export function checkMarkdown(root: string): Map<Snippet, string[]> {
  const snippets = markdownFiles(root).flatMap((file) =>
    tsSnippets(readFileSync(join(root, file), 'utf8'), file),
  );
  // beside the example greeter, so that `./generated/greeter.js` is its generated client
  return typeCheck(root, join(root, 'examples', 'greeter'), snippets);
}
