import { MAX_TIMER_MS, parseDuration } from './duration.js';

/**
 * The one way rxlb checks options: a reader over one options object of one caller, whose
 * every complaint is a `TypeError` in one style,
 * `roundRobin(): option "random" must be a function, got number` or
 * `createBalancedChannel(): unknown option "outlierDetection.consecutiveFailure"`.
 * A leaf, like `duration.ts`: every room uses it.
 */
export class OptionReader {
  private constructor(
    /** Who was called, e.g. `consulInstances$()`. */
    readonly caller: string,
    private readonly options: Readonly<Record<string, unknown>>,
    /** Where these options sit in the caller's, e.g. `backoff.`. */
    private readonly prefix: string,
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
    if (value === undefined) return new OptionReader(caller, {}, prefix);
    if (!isRecord(value)) {
      const what = prefix === '' ? 'options' : `option "${prefix.slice(0, -1)}"`;
      throw new TypeError(`${caller}: ${what} must be an object, got ${describe(value)}`);
    }
    const reader = new OptionReader(caller, value, prefix);
    const unknown = Object.keys(value).find((key) => !known.includes(key));
    if (unknown !== undefined) reader.unknown(unknown, where);
    return reader;
  }

  /** Whether the option was given (not undefined). */
  has(key: string): boolean {
    return this.options[key] !== undefined;
  }

  /** The option as given, for checks of one's own: report them with {@link fail}. */
  raw(key: string): unknown {
    return this.options[key];
  }

  /**
   * Throws the `TypeError` saying what `key` must be, and what it got unless `secret` (a
   * token's worth of text must not reach a message).
   */
  fail(key: string, expected: string, { secret = false } = {}): never {
    const got = this.options[key];
    const suffix = got === undefined || secret ? '' : `, got ${describe(got)}`;
    throw new TypeError(
      `${this.caller}: option "${this.prefix}${key}" must be ${expected}${suffix}`,
    );
  }

  /** Throws the `TypeError` saying `key` is no option here, e.g. `for policy "fail-fast"`. */
  unknown(key: string, where = ''): never {
    const suffix = where === '' ? '' : ` ${where}`;
    throw new TypeError(`${this.caller}: unknown option "${this.prefix}${key}"${suffix}`);
  }

  /** A reader of the nested options object `key`, undefined when it was not given. */
  nested(key: string, known: readonly string[]): OptionReader | undefined {
    const value = this.options[key];
    if (value === undefined) return undefined;
    if (!isRecord(value)) this.fail(key, 'an object');
    return OptionReader.read(this.caller, value, known, `${this.prefix}${key}.`);
  }

  boolean(key: string): boolean | undefined {
    const value = this.options[key];
    if (value !== undefined && typeof value !== 'boolean') this.fail(key, 'a boolean');
    return value as boolean | undefined;
  }

  /** A string that is not blank. */
  string(key: string): string | undefined {
    const value = this.options[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.trim() === '') this.fail(key, 'a non-empty string');
    return value;
  }

  /** One of `values`. */
  oneOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    const value = this.options[key];
    if (value !== undefined && !values.includes(value as T)) {
      this.fail(
        key,
        values
          .map((v) => JSON.stringify(v))
          .join(', ')
          .replace(/, ([^,]*)$/, ' or $1'),
      );
    }
    return value as T | undefined;
  }

  /** A number from `min` to `max` (inclusive), an integer when `integer`; not NaN. */
  number(
    key: string,
    { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, integer = false } = {},
  ): number | undefined {
    const value = this.options[key];
    if (value === undefined) return undefined;
    const ok = typeof value === 'number' && value >= min && value <= max;
    if (!ok || (integer && !Number.isInteger(value) && value !== Number.POSITIVE_INFINITY)) {
      this.fail(key, `${integer ? 'an integer' : 'a number'} ${range(min, max)}`);
    }
    return value;
  }

  /** A delay in ms that a Node timer honours: from `min` to 2^31-1 (`Infinity` if `forever`). */
  ms(key: string, { min = 0, forever = false } = {}): number | undefined {
    const value = this.options[key];
    if (value === undefined) return undefined;
    if (forever && value === Number.POSITIVE_INFINITY) return value;
    if (typeof value !== 'number' || !(value >= min && value <= MAX_TIMER_MS)) {
      const endless = forever ? ', or Infinity' : '';
      this.fail(key, `a number of ms from ${min} to ${MAX_TIMER_MS}${endless}`);
    }
    return value;
  }

  /** A duration: ms, or Go's text as Consul reads it (`'30s'`, `'1m30s'`), from `min` to `max` ms. */
  duration(key: string, { min = 0, max = Number.POSITIVE_INFINITY } = {}): number | undefined {
    const value = this.options[key];
    if (value === undefined) return undefined;
    const ms = parseDuration(value);
    if (ms === undefined || ms < min || ms > max) {
      this.fail(key, `a duration ${range(min, max, 'ms')} (ms, or a string like "30s")`);
    }
    return ms;
  }

  /** A PEM text or Buffer (a key or certificate: never shown in a message). */
  pem(key: string): string | Buffer | undefined {
    const value = this.options[key];
    if (value === undefined) return undefined;
    if (!((typeof value === 'string' && value !== '') || Buffer.isBuffer(value))) {
      this.fail(key, 'a PEM string or Buffer', { secret: true });
    }
    return value;
  }

  function<F extends (...args: never[]) => unknown>(key: string): F | undefined {
    const value = this.options[key];
    if (value !== undefined && typeof value !== 'function') this.fail(key, 'a function');
    return value as F | undefined;
  }
}

/** {@link OptionReader.read}. */
export function readOptions(
  caller: string,
  value: unknown,
  known: readonly string[],
  where = '',
): OptionReader {
  return OptionReader.read(caller, value, known, '', where);
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

function range(min: number, max: number, unit = ''): string {
  const u = unit === '' ? '' : ` ${unit}`;
  if (max === Number.POSITIVE_INFINITY) return `>= ${min}${u}`;
  if (min === Number.NEGATIVE_INFINITY) return `<= ${max}${u}`;
  return `from ${min} to ${max}${u}`;
}
