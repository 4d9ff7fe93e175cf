import { MAX_TIMER_MS, parseDuration } from './duration.js';

/**
 * The one way rxlb checks what it is given, whatever the source: an API's options and
 * arguments, Consul's environment variables, the command line's flags, a target's query
 * parameters. A reader reads one source of one caller, and every complaint is one sentence
 * in one style that names the caller and what the user wrote:
 * `roundRobin(): option "random" must be a function, got number`,
 * `consulInstances$(): unknown option "tag" (did you mean "tags"?)`,
 * `consulInstances$(): CONSUL_HTTP_SSL must be true or false, got "maybe"`,
 * `--passing must be true or false, got "maybe"`, `parameter "tag" must not be empty`.
 * A leaf, like `duration.ts`: every room uses it.
 */

/** The error class of a source's complaints: `TypeError` for the API, a usage error... */
export type Complaint = new (message: string) => Error;

/** A source of values, and how its messages name them. */
export interface OptionSource {
  /** What a key is, as `unknown ...` says: `option`, `parameter`. */
  readonly noun: string;
  /** A key as the user writes it: `"tags"`, `--tag`, `CONSUL_HTTP_SSL`, `service`. */
  readonly spell: (key: string) => string;
  /** Whether messages name a key by its noun too: `option "tags" must be...`. */
  readonly named: boolean;
  /** Whether values are text to parse (the environment, a command line, a URL). */
  readonly text: boolean;
  readonly error: Complaint;
}

const optionsOf = (prefix: string): OptionSource => ({
  noun: 'option',
  spell: (key) => `"${prefix}${key}"`,
  named: true,
  text: false,
  error: TypeError,
});

/**
 * A reader of the values of one source, for one caller. Build one with {@link readOptions},
 * {@link readArguments}, {@link readEnvironment}, {@link readFlags} or
 * {@link readParameters}; each method reads one key and says, in the source's own words, what
 * is wrong with it. Text sources (environment, flags, parameters) are parsed as Consul's
 * tools parse them: `boolean()` takes Go's `true`/`false`/`1`/`0`..., `duration()` Go's
 * `"30s"`.
 */
export class OptionReader {
  private constructor(
    /** Who was called, e.g. `consulInstances$()`; empty when the message says it elsewhere. */
    readonly caller: string,
    private readonly values: Readonly<Record<string, unknown>>,
    private readonly source: OptionSource,
    /** The keys this source takes, for a "did you mean"; empty when any key may come. */
    private readonly known: readonly string[] = [],
    /** Where these options sit in the caller's, e.g. `backoff.`. */
    private readonly prefix = '',
  ) {}

  /**
   * A reader of `value`, which must be a plain object (or undefined: no options) whose keys
   * are all `known`; `where` follows the name of an unknown one (see {@link unknown}).
   */
  static read(
    caller: string,
    value: unknown,
    known: readonly string[],
    prefix = '',
    where = '',
  ): OptionReader {
    const source = optionsOf(prefix);
    if (value === undefined) return new OptionReader(caller, {}, source, known, prefix);
    if (!isRecord(value)) {
      const what = prefix === '' ? 'options' : `option "${prefix.slice(0, -1)}"`;
      throw new TypeError(`${caller}: ${what} must be an object, got ${describe(value)}`);
    }
    const reader = new OptionReader(caller, value, source, known, prefix);
    const unknown = Object.keys(value).find((key) => !known.includes(key));
    if (unknown !== undefined) reader.unknown(unknown, where);
    return reader;
  }

  /** A reader of `values` from `source`: see the functions below, one for each source. */
  static of(
    caller: string,
    values: Readonly<Record<string, unknown>>,
    source: OptionSource,
    known: readonly string[] = [],
  ): OptionReader {
    return new OptionReader(caller, values, source, known);
  }

  /** Whether the key was given (not undefined). */
  has(key: string): boolean {
    return this.values[key] !== undefined;
  }

  /** The value as given, for checks of one's own: report them with {@link fail}. */
  raw(key: string): unknown {
    return this.values[key];
  }

  /** Throws the complaint `<key as the user wrote it> <text>`, e.g. `--dc is given more than once`. */
  complain(key: string, text: string): never {
    this.throw(`${this.name(key)} ${text}`);
  }

  /**
   * Throws the complaint saying what `key` must be, and what it got (the value given, or
   * `got`) unless `secret` (a token's worth of text must not reach a message).
   */
  fail(key: string, expected: string, { secret = false, got = this.values[key] } = {}): never {
    const suffix = got === undefined || secret ? '' : `, got ${describe(got)}`;
    this.complain(key, `must be ${expected}${suffix}`);
  }

  /** Throws the complaint that `key` must be given: `missing option "name" (a non-empty string)`. */
  missing(key: string, expected: string): never {
    this.throw(`missing ${this.name(key)} (${expected})`);
  }

  /**
   * Throws the complaint that `key` is none of this source's: with the known key it is
   * closest to, `(did you mean "tags"?)`, else `where`, e.g. `for policy "fail-fast"`.
   */
  unknown(key: string, where = ''): never {
    const { noun, spell } = this.source;
    const near = this.known.includes(key) ? undefined : suggest(key, this.known);
    const hint = near === undefined ? where : `(did you mean ${spell(near)}?)`;
    this.throw(`unknown ${noun} ${spell(key)}${hint === '' ? '' : ` ${hint}`}`);
  }

  /** `key` as messages name it: `option "tags"`, `parameter "tag"`, `--tag`, `CONSUL_HTTP_SSL`. */
  private name(key: string): string {
    const { noun, spell, named } = this.source;
    return named ? `${noun} ${spell(key)}` : spell(key);
  }

  /** Throws the source's error, the caller first. */
  private throw(text: string): never {
    throw new this.source.error(this.caller === '' ? text : `${this.caller}: ${text}`);
  }

  /** A reader of the nested options object `key`, undefined when it was not given. */
  nested(key: string, known: readonly string[]): OptionReader | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    if (!isRecord(value)) this.fail(key, 'an object');
    return OptionReader.read(this.caller, value, known, `${this.prefix}${key}.`);
  }

  /** A boolean; in text, Go's `true`/`false` (`1`, `t`, `F`...), and a bare flag is true. */
  boolean(key: string): boolean | undefined {
    const value = this.values[key];
    if (value === undefined || typeof value === 'boolean') return value;
    if (this.source.text && typeof value === 'string') {
      if (value === '' || TRUE.has(value)) return true;
      if (FALSE.has(value)) return false;
      this.fail(key, 'true or false');
    }
    return this.fail(key, 'a boolean');
  }

  /** A string that is not blank. */
  string(key: string): string | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    if (typeof value === 'string' && value.trim() !== '') return value;
    if (this.source.text && typeof value === 'string') this.complain(key, 'must not be empty');
    return this.fail(key, 'a non-empty string');
  }

  /** Strings that are not blank: an array of them, or in text a key given any number of times. */
  strings(key: string): readonly string[] {
    const value = this.values[key];
    if (value === undefined) return [];
    const list = this.source.text && typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) {
      this.fail(key, 'an array of non-empty strings');
    }
    if (list.some((item: string) => item.trim() === '')) {
      if (this.source.text) this.complain(key, 'must not be empty');
      this.fail(key, 'an array of non-empty strings');
    }
    return Object.freeze([...(list as string[])]);
  }

  /** One of `values`; a near miss says which one it is closest to. */
  oneOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    const value = this.values[key];
    if (value !== undefined && !values.includes(value as T)) {
      const near = typeof value === 'string' ? suggest(value, values) : undefined;
      const hint = near === undefined ? '' : ` (did you mean "${near}"?)`;
      this.complain(key, `must be ${list(values)}, got ${describe(value)}${hint}`);
    }
    return value as T | undefined;
  }

  /** A number from `min` to `max` (inclusive), an integer when `integer`; not NaN. */
  number(
    key: string,
    { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, integer = false } = {},
  ): number | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    const ok = typeof value === 'number' && value >= min && value <= max;
    if (!ok || (integer && !Number.isInteger(value) && value !== Number.POSITIVE_INFINITY)) {
      this.fail(key, `${integer ? 'an integer' : 'a number'} ${range(min, max)}`);
    }
    return value;
  }

  /** A delay in ms that a Node timer honours: from `min` to 2^31-1 (`Infinity` if `forever`). */
  ms(key: string, { min = 0, forever = false } = {}): number | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    if (forever && value === Number.POSITIVE_INFINITY) return value;
    if (typeof value !== 'number' || !(value >= min && value <= MAX_TIMER_MS)) {
      const endless = forever ? ', or Infinity' : '';
      this.fail(key, `a number of ms from ${min} to ${MAX_TIMER_MS}${endless}`);
    }
    return value;
  }

  /**
   * A duration from `min` to `max` ms: ms, or Go's text as Consul reads it (`'30s'`,
   * `'1m30s'`); in text, only Go's.
   */
  duration(key: string, { min = 0, max = Number.POSITIVE_INFINITY } = {}): number | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    const ms = parseDuration(value);
    if (ms === undefined || ms < min || ms > max) {
      if (this.source.text) this.fail(key, `a duration ${range(min, max, goDuration)}, like "30s"`);
      this.fail(key, `a duration ${range(min, max)} ms (ms, or a string like "30s")`);
    }
    return ms;
  }

  /** A PEM text or Buffer (a key or certificate: never shown in a message). */
  pem(key: string): string | Buffer | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    if (!((typeof value === 'string' && value !== '') || Buffer.isBuffer(value))) {
      this.fail(key, 'a PEM string or Buffer', { secret: true });
    }
    return value;
  }

  function<F extends (...args: never[]) => unknown>(key: string): F | undefined {
    const value = this.values[key];
    if (value !== undefined && typeof value !== 'function') this.fail(key, 'a function');
    return value as F | undefined;
  }

  /**
   * A value of a grammar of one's own: what `parse` makes of it, which must not be undefined,
   * else the complaint that it must be `expected`.
   */
  parse<T>(key: string, expected: string, parse: (value: unknown) => T | undefined): T | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    const parsed = parse(value);
    if (parsed === undefined) this.fail(key, expected);
    return parsed;
  }
}

/** A reader of an API's options object: see {@link OptionReader.read}. */
export function readOptions(
  caller: string,
  value: unknown,
  known: readonly string[],
  where = '',
): OptionReader {
  return OptionReader.read(caller, value, known, '', where);
}

/**
 * A reader of a call's positional arguments, by name: `consulInstances$(): service must be
 * a non-empty string, got 42`.
 */
export function readArguments(
  caller: string,
  args: Readonly<Record<string, unknown>>,
  error: Complaint = TypeError,
): OptionReader {
  const source: OptionSource = {
    noun: 'argument',
    spell: (key) => key,
    named: false,
    text: false,
    error,
  };
  return OptionReader.of(caller, args, source);
}

/**
 * A reader of environment variables, as Consul's CLI reads them: an empty one is unset.
 * `consulInstances$(): CONSUL_HTTP_SSL must be true or false, got "maybe"`.
 */
export function readEnvironment(
  caller: string,
  env: Readonly<Record<string, string | undefined>>,
): OptionReader {
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const source: OptionSource = {
    noun: 'variable',
    spell: (key) => key,
    named: false,
    text: true,
    error: TypeError,
  };
  return OptionReader.of(caller, set, source);
}

/** What a source of `name=value` pairs takes. */
export interface PairRules {
  /** The names it takes. */
  readonly known: readonly string[];
  /** The names that may come more than once; the reader has them as arrays. */
  readonly repeatable?: readonly string[];
  /** What follows an unknown name that is close to none of the known ones. */
  readonly where?: string;
  readonly error: Complaint;
}

/**
 * A reader of a command line's flags (`--tag v2`, `--json`; a flag without a value is `''`):
 * `--passing must be true or false, got "maybe"`, `unknown option --adress (did you mean
 * --address?)`.
 */
export function readFlags(
  flags: Iterable<readonly [string, string]>,
  rules: PairRules,
): OptionReader {
  const spell = (key: string) => (key.length === 1 ? `-${key}` : `--${key}`);
  const { error } = rules;
  return readPairs(flags, rules, { noun: 'option', spell, named: false, text: true, error });
}

/**
 * A reader of a URL's query parameters (`?tag=v2&stale`; a parameter without a value is
 * `''`): `parameter "tag" must not be empty`.
 */
export function readParameters(
  parameters: Iterable<readonly [string, string]>,
  rules: PairRules,
): OptionReader {
  const spell = (key: string) => `"${key}"`;
  const { error } = rules;
  return readPairs(parameters, rules, { noun: 'parameter', spell, named: true, text: true, error });
}

/** Reads pairs in order: an unknown name, or a repeated one that may not repeat, is refused. */
function readPairs(
  pairs: Iterable<readonly [string, string]>,
  { known, repeatable = [], where = '' }: PairRules,
  source: OptionSource,
): OptionReader {
  const values: Record<string, string | string[]> = {};
  const reader = OptionReader.of('', values, source, known);
  for (const [key, value] of pairs) {
    if (!known.includes(key)) reader.unknown(key, where);
    const seen = values[key];
    if (repeatable.includes(key)) values[key] = [...(seen ?? []), value];
    else if (seen === undefined) values[key] = value;
    else reader.complain(key, 'is given more than once');
  }
  return reader;
}

/**
 * The one of `known` that `word` is a slip of, if any: at most two edits away (a letter
 * added, dropped, changed, or two swapped; case aside), and no more than a third of the
 * longer word, so that `"tag"` finds `"tags"` but `"x"` finds nothing. The closest wins;
 * among equals, the first.
 */
export function suggest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    const fits = 3 * distance <= Math.max(word.length, candidate.length);
    if (fits && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, transpositions. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(at(i, j), at(i - 2, j - 2) + 1);
      }
    }
  }
  return at(a.length, b.length);
}

/** True for a JSON-like object: not `null`, not an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as a message shows it: short, and never a secret's worth of text. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? 'a long string' : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

// Go's strconv.ParseBool, which Consul's tools read their flags and variables with.
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/** `"a", "b" or "c"`. */
function list(values: readonly string[]): string {
  return values
    .map((v) => JSON.stringify(v))
    .join(', ')
    .replace(/, ([^,]*)$/, ' or $1');
}

function range(min: number, max: number, show: (n: number) => string = String): string {
  if (max === Number.POSITIVE_INFINITY) return `>= ${show(min)}`;
  if (min === Number.NEGATIVE_INFINITY) return `<= ${show(max)}`;
  return `from ${show(min)} to ${show(max)}`;
}

/** Whole ms as Go writes a duration: `10m`, `30s`, `1500ms`. */
function goDuration(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
