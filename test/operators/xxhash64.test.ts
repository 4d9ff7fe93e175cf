import { describe, expect, it } from 'vitest';
import { xxhash64 } from '../../src/operators/internal/xxhash64.js';

// The reference implementation's outputs (Python's xxhash.xxh64, seed 0).
describe('xxhash64()', () => {
  it.each([
    ['', 'ef46db3751d8e999'],
    ['a', 'd24ec4f1a98c6e5b'],
    ['abc', '44bc2cf5ad770999'],
    ['Nobody inspects the spammish repetition', 'fbcea83c8a378bf1'],
    ['10.0.0.1:80_0', '75041381e7371a08'],
    ['x'.repeat(100), '92f0de5a88a3c094'],
    ['é'.repeat(40), 'b1ec6d9d41a61799'],
  ])('hashes %j as XXH64 does', (text, hex) => {
    expect(xxhash64(text).toString(16).padStart(16, '0')).toBe(hex);
  });
});
