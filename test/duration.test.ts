import { describe, expect, it } from 'vitest';
import { parseDuration } from '../src/duration.js';

describe('Go durations', () => {
  it.each([
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
    ['0', 0],
    [42, 42],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '10', 's', '10 s', '-1s', 'abc', '1x'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
