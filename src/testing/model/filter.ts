/**
 * The common part of Consul's filter language (go-bexpr), enough for the expressions users
 * write against health and catalog endpoints:
 *
 *   Service.Meta.version == "2" and "primary" in Service.Tags
 *   not (Node.Meta.rack != r1 or Service.Tags is empty)
 *   Service.ID matches "^web-[0-9]+$"
 *
 * Operators: `==`, `!=`, `is empty`, `is not empty`, `in`, `not in`, `contains`,
 * `not contains`, `matches`, `not matches`, joined by `and`, `or`, `not` and parentheses.
 * A selector that walks through a list (`Checks.Status`) matches when any element does.
 */

type Token =
  | { readonly kind: 'word'; readonly text: string }
  | { readonly kind: 'string'; readonly text: string }
  | { readonly kind: 'op'; readonly text: '==' | '!=' | '(' | ')' | '[' | ']' | '.' };

/** A compiled filter: true when the datum matches. */
export type Predicate = (datum: unknown) => boolean;

/** A filter that cannot be parsed; Consul answers 400 with this message. */
export class FilterError extends Error {
  override readonly name = 'FilterError';
}

const WORD = /[A-Za-z0-9_\-/:@+*]/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (/\s/.test(c)) {
      i += 1;
    } else if (text.startsWith('==', i) || text.startsWith('!=', i)) {
      tokens.push({ kind: 'op', text: text.startsWith('==', i) ? '==' : '!=' });
      i += 2;
    } else if ('()[].'.includes(c)) {
      tokens.push({ kind: 'op', text: c as '(' | ')' | '[' | ']' | '.' });
      i += 1;
    } else if (c === '"' || c === '`') {
      let value = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== c; j++) {
        if (c === '"' && text[j] === '\\' && j + 1 < text.length) j += 1;
        value += text[j];
      }
      if (j >= text.length) throw new FilterError(`unterminated string at position ${i}`);
      tokens.push({ kind: 'string', text: value });
      i = j + 1;
    } else if (WORD.test(c)) {
      let j = i;
      while (j < text.length && WORD.test(text[j] ?? '')) j += 1;
      tokens.push({ kind: 'word', text: text.slice(i, j) });
      i = j;
    } else {
      throw new FilterError(`unexpected character ${JSON.stringify(c)} at position ${i}`);
    }
  }
  return tokens;
}

type Operand = { readonly selector: readonly string[] } | { readonly value: string };

class Parser {
  #at = 0;
  constructor(readonly tokens: readonly Token[]) {}

  parse(): Predicate {
    const predicate = this.#or();
    const rest = this.tokens[this.#at];
    if (rest) throw new FilterError(`unexpected ${JSON.stringify(rest.text)}`);
    return predicate;
  }

  #peekWord(word: string, offset = 0): boolean {
    const token = this.tokens[this.#at + offset];
    return token?.kind === 'word' && token.text.toLowerCase() === word;
  }

  #take(): Token {
    const token = this.tokens[this.#at];
    if (!token) throw new FilterError('unexpected end of expression');
    this.#at += 1;
    return token;
  }

  #expect(text: string): void {
    const token = this.#take();
    if (token.kind === 'string' || token.text.toLowerCase() !== text) {
      throw new FilterError(`expected ${JSON.stringify(text)}, got ${JSON.stringify(token.text)}`);
    }
  }

  #or(): Predicate {
    let left = this.#and();
    while (this.#peekWord('or')) {
      this.#at += 1;
      const [a, b] = [left, this.#and()];
      left = (d) => a(d) || b(d);
    }
    return left;
  }

  #and(): Predicate {
    let left = this.#not();
    while (this.#peekWord('and')) {
      this.#at += 1;
      const [a, b] = [left, this.#not()];
      left = (d) => a(d) && b(d);
    }
    return left;
  }

  #not(): Predicate {
    if (this.#peekWord('not')) {
      this.#at += 1;
      const inner = this.#not();
      return (d) => !inner(d);
    }
    const token = this.tokens[this.#at];
    if (token?.kind === 'op' && token.text === '(') {
      this.#at += 1;
      const inner = this.#or();
      this.#expect(')');
      return inner;
    }
    return this.#match();
  }

  #operand(): Operand {
    const first = this.#take();
    if (first.kind === 'string') return { value: first.text };
    if (first.kind !== 'word') throw new FilterError(`unexpected ${JSON.stringify(first.text)}`);
    const path = [first.text];
    for (;;) {
      const next = this.tokens[this.#at];
      if (next?.kind === 'op' && next.text === '.') {
        this.#at += 1;
        const part = this.#take();
        if (part.kind !== 'word') throw new FilterError('expected a field name after "."');
        path.push(part.text);
      } else if (next?.kind === 'op' && next.text === '[') {
        this.#at += 1;
        const key = this.#take();
        if (key.kind === 'op') throw new FilterError('expected a key inside [ ]');
        path.push(key.text);
        this.#expect(']');
      } else {
        return { selector: path };
      }
    }
  }

  #value(): string {
    const token = this.#take();
    if (token.kind === 'op') throw new FilterError(`expected a value, got ${token.text}`);
    return token.text;
  }

  #match(): Predicate {
    const left = this.#operand();
    const negated = this.#peekWord('not') && !this.#peekWord('empty', 1);
    if (negated) this.#at += 1;
    const op = this.#take();
    const opText = op.kind === 'op' ? op.text : op.text.toLowerCase();
    const flip = (test: (v: unknown) => boolean) => (negated ? (v: unknown) => !test(v) : test);
    if (opText === 'in') {
      const needle = 'value' in left ? left.value : left.selector.join('.');
      const selector = this.#operand();
      if (!('selector' in selector)) throw new FilterError('expected a selector after "in"');
      return on(
        selector.selector,
        flip((v) => contains(v, needle)),
      );
    }
    if (!('selector' in left)) throw new FilterError(`expected a selector, got "${left.value}"`);
    const path = left.selector;
    switch (opText) {
      case '==':
      case '!=': {
        if (negated) throw new FilterError(`unexpected "not" before ${opText}`);
        const value = this.#value();
        return opText === '=='
          ? on(path, (v) => equals(v, value))
          : (d) => !on(path, (v) => equals(v, value))(d);
      }
      case 'is': {
        if (negated) throw new FilterError('unexpected "not" before "is"');
        const not = this.#peekWord('not');
        if (not) this.#at += 1;
        this.#expect('empty');
        return not ? (d) => !on(path, isEmpty)(d) : on(path, isEmpty);
      }
      case 'contains': {
        const value = this.#value();
        return on(
          path,
          flip((v) => contains(v, value)),
        );
      }
      case 'matches': {
        const value = this.#value();
        let pattern: RegExp;
        try {
          pattern = new RegExp(value);
        } catch {
          throw new FilterError(`invalid regular expression ${JSON.stringify(value)}`);
        }
        return on(
          path,
          flip((v) => typeof v === 'string' && pattern.test(v)),
        );
      }
      default:
        throw new FilterError(`unknown operator ${JSON.stringify(op.text)}`);
    }
  }
}

/** The values a selector reaches: several when it walks through a list. */
function resolve(datum: unknown, path: readonly string[]): unknown[] {
  let values: unknown[] = [datum];
  for (const key of path) {
    const next: unknown[] = [];
    for (const value of values) {
      if (Array.isArray(value)) {
        for (const item of value) if (isRecord(item)) next.push(item[key]);
      } else if (isRecord(value)) {
        next.push(value[key]);
      } else {
        next.push(undefined);
      }
    }
    values = next;
  }
  return values;
}

function on(path: readonly string[], test: (value: unknown) => boolean): Predicate {
  return (datum) => resolve(datum, path).some(test);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function equals(actual: unknown, expected: string): boolean {
  if (typeof actual === 'string') return actual === expected;
  if (typeof actual === 'number' || typeof actual === 'boolean') return String(actual) === expected;
  return false;
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return isRecord(value) && Object.keys(value).length === 0;
}

function contains(haystack: unknown, needle: string): boolean {
  if (typeof haystack === 'string') return haystack.includes(needle);
  if (Array.isArray(haystack)) return haystack.some((item) => equals(item, needle));
  return isRecord(haystack) && Object.hasOwn(haystack, needle);
}

/** Compiles a filter expression, or throws a {@link FilterError} saying what is wrong. */
export function compileFilter(expression: string): Predicate {
  return new Parser(tokenize(expression)).parse();
}
