import {
  createDiagramSpecification,
  createOperatorSpecification,
  createStreamSpecification,
} from '@swirly/parser';
import { renderMarbleDiagram } from '@swirly/renderer-node';
import { lightStyles } from '@swirly/theme-default-light';
import { TestScheduler } from 'rxjs/testing';
import { marbleSuites } from '../marbles/index.js';
import type { MarbleCase, MarbleSuite } from '../marbles/marble-suite.js';

/** Where `npm run marbles` writes the diagrams, relative to the package root. */
export const MARBLES_DIR = 'docs/marbles';

export interface MarbleDiagram {
  /** File name inside {@link MARBLES_DIR}. */
  readonly file: string;
  readonly svg: string;
}

type MessageSpec = {
  readonly frame: number;
  readonly notification:
    | { readonly kind: 'N'; readonly value: string }
    | { readonly kind: 'C' | 'E' };
};

// A borderless box of small text: the diagram's title and its legend lines.
const CAPTION_STYLES = { height: 16, spacing: 0, stroke_width: 0, fill_color: 'none' };
const TITLE_STYLES = { ...CAPTION_STYLES, title_font_size: 18, title_font_weight: 'bold' };
const LEGEND_STYLES = { ...CAPTION_STYLES, title_font_size: 14 };
// Roughly the width of one 14px Arial character, to keep legend lines inside the canvas
// (a character of the 18px bold title counts 1.4, of the operator's 24px title 1.7).
const LEGEND_CHAR_WIDTH = 7.5;
// Roughly the width of one 18px character of a stream's name, plus its share of the gap.
const STREAM_TITLE_CHAR_WIDTH = 11.5;

/** Every marble case of every suite, drawn with Swirly. Deterministic: same data, same bytes. */
export function renderMarbleDiagrams(): MarbleDiagram[] {
  return marbleSuites.flatMap((suite) => suite.cases.map((marble) => renderCase(suite, marble)));
}

/** `diff-the-first-emission-adds-everything.svg` */
export function marbleFileName(
  suite: MarbleSuite<unknown, unknown>,
  marble: MarbleCase<unknown, unknown>,
): string {
  const slug = marble.title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return `${suite.name}-${slug}.svg`;
}

function renderCase(
  suite: MarbleSuite<unknown, unknown>,
  marble: MarbleCase<unknown, unknown>,
): MarbleDiagram {
  const operator =
    marble.retry === undefined ? suite.operator : `${suite.operator}, retry(${marble.retry})`;
  // A Set: when the source's error passes through, its line would otherwise show twice.
  const legend = new Set([
    ...legendLines(marble.source, marble.sourceValues, marble.sourceError, (v) =>
      suite.describeInput(v),
    ),
    ...(marble.second
      ? legendLines(marble.second.marbles, marble.second.values, marble.second.error, (v) =>
          suite.describeInput(v),
        )
      : []),
    ...legendLines(marble.expected, marble.expectedValues, marble.expectedError, (v) =>
      suite.describeOutput(v),
    ),
  ]);
  const content = [
    caption(marble.title, TITLE_STYLES),
    createStreamSpecification(messages(marble.source), 'source'),
    ...(marble.second
      ? [createStreamSpecification(messages(marble.second.marbles), suite.secondName ?? 'second')]
      : []),
    createOperatorSpecification([{ type: 'text', value: operator }]),
    createStreamSpecification(messages(marble.expected), 'output'),
    ...(marble.unsubscribe === undefined ? [] : [unsubscription(marble.unsubscribe)]),
    ...Array.from(legend, (line) => caption(line, LEGEND_STYLES)),
  ];
  const longest = Math.max(
    ...Array.from(legend, (line) => line.length),
    marble.title.length * 1.4,
    operator.length * 1.7,
  );
  const secondName = suite.secondName ?? 'second';
  const styles = {
    ...lightStyles,
    minimum_width: Math.ceil(longest * LEGEND_CHAR_WIDTH),
    // room for a second input's name (18px): Swirly's 100px fit "source" and "output"
    ...(marble.second && {
      stream_title_width: Math.max(100, Math.ceil(secondName.length * STREAM_TITLE_CHAR_WIDTH)),
    }),
  };
  const { xml } = renderMarbleDiagram(createDiagramSpecification(content, styles));
  return { file: marbleFileName(suite, marble), svg: `${xml}\n` };
}

/** Swirly has no unsubscription mark: draw `!` as a value on a line of its own. */
function unsubscription(marbles: string) {
  const frame = marbles.replaceAll(' ', '').indexOf('!');
  const message: MessageSpec = { frame, notification: { kind: 'N', value: '!' } };
  return createStreamSpecification([message], 'unsub');
}

function caption(text: string, styles: Readonly<Record<string, string | number>>) {
  return { ...createOperatorSpecification([{ type: 'text', value: text }]), styles };
}

/** Swirly messages for a marble string, each value labelled with its marble character. */
function messages(marbles: string): MessageSpec[] {
  return TestScheduler.parseMarbles(marbles, undefined, undefined, false, true).map(
    ({ frame, notification }) => ({
      frame: frame / TestScheduler.frameTimeFactor,
      notification:
        notification.kind === 'N'
          ? { kind: 'N', value: String(notification.value) }
          : { kind: notification.kind },
    }),
  );
}

/** `a = [10.0.0.1:80]` for each value that the marble string shows, then `# = ...` for its error. */
function legendLines<T>(
  marbles: string,
  values: Readonly<Record<string, T>>,
  error: unknown,
  describe: (value: T) => string,
): string[] {
  const lines: string[] = [];
  for (const key of new Set(marbles)) {
    const value = values[key];
    if (value !== undefined) lines.push(`${key} = ${describe(value)}`);
  }
  if (marbles.includes('#')) lines.push(`# = ${describeError(error)}`);
  return lines;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = 'code' in error ? ` ${String(error.code)}` : '';
  return `${error.name}${code}: ${error.message}`;
}
