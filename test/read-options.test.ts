import { describe, expect, it } from 'vitest';
import {
  describe as describeValue,
  readArguments,
  readEnvironment,
  readFlags,
  readOptions,
  readParameters,
  suggest,
} from '../src/read-options.js';

const read = (value: unknown) => readOptions('f()', value, ['a', 'b', 'nest']);

describe('readOptions', () => {
  it('takes undefined as no options, and refuses what is not a plain object', () => {
    expect(read(undefined).has('a')).toBe(false);
    expect(() => read(null)).toThrow('f(): options must be an object, got null');
    expect(() => read([])).toThrow('f(): options must be an object, got an array');
    expect(() => read(3)).toThrow(TypeError);
  });

  it('refuses an unknown key, naming it', () => {
    expect(() => read({ c: 1 })).toThrow('f(): unknown option "c"');
  });

  it('reads each kind, or says what the option must be and what it got', () => {
    expect(read({ a: true }).boolean('a')).toBe(true);
    expect(() => read({ a: 1 }).boolean('a')).toThrow('f(): option "a" must be a boolean, got 1');
    expect(read({ a: 'x' }).string('a')).toBe('x');
    expect(() => read({ a: ' ' }).string('a')).toThrow('option "a" must be a non-empty string');
    expect(read({ a: 2 }).number('a', { min: 1, max: 3, integer: true })).toBe(2);
    expect(() => read({ a: 2.5 }).number('a', { min: 1, integer: true })).toThrow(
      'option "a" must be an integer >= 1, got 2.5',
    );
    expect(read({ a: Number.POSITIVE_INFINITY }).number('a', { min: 1, integer: true })).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(() => read({ a: Number.NaN }).number('a')).toThrow('must be a number');
    expect(() => read({ a: 2 ** 31 }).ms('a')).toThrow('a number of ms from 0 to 2147483647');
    expect(read({ a: Number.POSITIVE_INFINITY }).ms('a', { forever: true })).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(read({ a: '1m30s' }).duration('a', { min: 1 })).toBe(90_000);
    expect(() => read({ a: 'soon' }).duration('a')).toThrow('a duration >= 0 ms');
    expect(read({ a: 'x' }).oneOf('a', ['x', 'y', 'z'])).toBe('x');
    expect(() => read({ a: 'w' }).oneOf('a', ['x', 'y', 'z'])).toThrow(
      'option "a" must be "x", "y" or "z", got "w"',
    );
    const f = () => {};
    expect(read({ a: f }).function('a')).toBe(f);
    expect(() => read({ a: 'f' }).function('a')).toThrow('option "a" must be a function');
  });

  it('reads nested options with their path in every message', () => {
    const nested = read({ nest: { x: 1 } }).nested('nest', ['x']);
    expect(nested?.number('x')).toBe(1);
    expect(read({}).nested('nest', ['x'])).toBeUndefined();
    expect(() => read({ nest: { y: 1 } }).nested('nest', ['x'])).toThrow(
      'f(): unknown option "nest.y"',
    );
    expect(() =>
      read({ nest: { x: 'no' } })
        .nested('nest', ['x'])
        ?.number('x'),
    ).toThrow('f(): option "nest.x" must be a number');
    expect(() => read({ nest: 5 }).nested('nest', ['x'])).toThrow(
      'option "nest" must be an object',
    );
  });

  it('never shows a long string in a message', () => {
    expect(describeValue('s'.repeat(41))).toBe('a long string');
  });
});

describe('a did you mean, one for every source', () => {
  it('suggests the known option an unknown one is a slip of', () => {
    expect(() => readOptions('f()', { tag: 'v2' }, ['passing', 'tags', 'tls'])).toThrow(
      'f(): unknown option "tag" (did you mean "tags"?)',
    );
    expect(() => read({ nest: { intialMs: 1 } }).nested('nest', ['initialMs', 'maxMs'])).toThrow(
      'f(): unknown option "nest.intialMs" (did you mean "nest.initialMs"?)',
    );
  });

  it('says where, rather than a far guess, when no known key is close', () => {
    expect(() => readOptions('f()', { tags: [] }, ['tls', 'token'], '(see the target)')).toThrow(
      /^f\(\): unknown option "tags" \(see the target\)$/,
    );
  });

  it('suggests within two edits and a third of the word, case aside', () => {
    expect(suggest('adress', ['address', 'dc'])).toBe('address');
    expect(suggest('tgas', ['tags'])).toBe('tags');
    expect(suggest('nodemeta', ['node-meta', 'near'])).toBe('node-meta');
    expect(suggest('NEAR', ['near'])).toBe('near');
    expect(suggest('tags', ['tls'])).toBeUndefined();
    expect(suggest('x', ['dc'])).toBeUndefined();
    expect(suggest('colour', ['tag', 'dc', 'filter'])).toBeUndefined();
  });

  it('suggests the value a near miss of oneOf() meant', () => {
    expect(() => read({ a: 'stael' }).oneOf('a', ['default', 'stale', 'consistent'])).toThrow(
      'f(): option "a" must be "default", "stale" or "consistent", got "stael" (did you mean "stale"?)',
    );
  });
});

describe('readOptions: a required option', () => {
  it('names the option that is missing and what it must be', () => {
    const o = read({});
    expect(() => o.string('a') ?? o.missing('a', 'a non-empty string')).toThrow(
      'f(): missing option "a" (a non-empty string)',
    );
  });
});

describe('readArguments', () => {
  it("names the argument by its name, in the API's words", () => {
    const args = readArguments('consulInstances$()', { service: 42 });
    expect(() => args.string('service')).toThrow(
      'consulInstances$(): service must be a non-empty string, got 42',
    );
    const none = readArguments('consulInstances$()', { service: undefined });
    expect(() => none.string('service') ?? none.missing('service', 'a non-empty string')).toThrow(
      'consulInstances$(): missing service (a non-empty string)',
    );
  });
});

describe('readEnvironment', () => {
  const env = readEnvironment('f()', { CONSUL_HTTP_SSL: 'maybe', ON: 'T', OFF: '0', EMPTY: '' });

  it('reads Go booleans and names the variable and its value when it is none', () => {
    expect(env.boolean('ON')).toBe(true);
    expect(env.boolean('OFF')).toBe(false);
    expect(() => env.boolean('CONSUL_HTTP_SSL')).toThrow(
      'f(): CONSUL_HTTP_SSL must be true or false, got "maybe"',
    );
  });

  it('takes an empty variable as unset, as Consul does', () => {
    expect(env.has('EMPTY')).toBe(false);
    expect(env.boolean('EMPTY')).toBeUndefined();
  });
});

describe('readFlags', () => {
  const rules = {
    known: ['address', 'tag', 'json', 'help', 'h'],
    repeatable: ['tag'],
    error: RangeError,
  };

  it('suggests the flag an unknown one is a slip of, as the user writes flags', () => {
    expect(() => readFlags([['adress', 'x']], rules)).toThrow(
      'unknown option --adress (did you mean --address?)',
    );
    expect(() => readFlags([['colour', '']], rules)).toThrow(/^unknown option --colour$/);
    expect(() => readFlags([['x', '']], rules)).toThrow(/^unknown option -x$/);
    expect(() => readFlags([['adress', 'x']], rules)).toThrow(RangeError);
  });

  it('reads text: a bare flag is true, a repeatable one a list, a blank value is refused', () => {
    const flags = readFlags(
      [
        ['json', ''],
        ['tag', 'a'],
        ['tag', 'b'],
        ['address', ' '],
      ],
      rules,
    );
    expect(flags.boolean('json')).toBe(true);
    expect(flags.strings('tag')).toEqual(['a', 'b']);
    expect(() => flags.string('address')).toThrow(/^--address must not be empty$/);
  });

  it('refuses a flag given twice that takes one value', () => {
    expect(() =>
      readFlags(
        [
          ['address', 'a'],
          ['address', 'b'],
        ],
        rules,
      ),
    ).toThrow('--address is given more than once');
  });
});

describe('readParameters', () => {
  const rules = {
    known: ['tag', 'dc', 'wait'],
    repeatable: ['tag'],
    where: '(known: tag, dc, wait)',
    error: RangeError,
  };

  it('suggests the parameter an unknown one is a slip of, else lists the known ones', () => {
    expect(() => readParameters([['tags', 'v2']], rules)).toThrow(
      'unknown parameter "tags" (did you mean "tag"?)',
    );
    expect(() => readParameters([['colour', 'blue']], rules)).toThrow(
      'unknown parameter "colour" (known: tag, dc, wait)',
    );
  });

  it('reads a duration as Go writes it, and says its range in those words', () => {
    const ok = readParameters([['wait', '1m30s']], rules);
    expect(ok.duration('wait', { min: 1, max: 600_000 })).toBe(90_000);
    const bad = readParameters([['wait', '20m']], rules);
    expect(() => bad.duration('wait', { min: 1, max: 600_000 })).toThrow(
      'parameter "wait" must be a duration from 1ms to 10m, like "30s", got "20m"',
    );
  });
});
