import { describe, expect, it } from 'vitest';
import { describe as describeValue, readOptions } from '../src/read-options.js';

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
