import { describe, expect, it } from 'vitest';
import { Xorshift32 } from '../../src/operators/internal/xorshift.js';
import { countOf } from '../support/seeded-random.js';

describe('Xorshift32, the generator of the P2C pickers', () => {
  it('draws numbers in [0, 1) that fall evenly into ten buckets', () => {
    const generator = new Xorshift32();
    const draws = Array.from({ length: 100_000 }, () => generator.next());
    expect(draws.every((r) => r >= 0 && r < 1)).toBe(true);
    const buckets = countOf(draws.map((r) => Math.floor(r * 10)));
    for (let bucket = 0; bucket < 10; bucket++) {
      expect(buckets.get(bucket)).toBeGreaterThan(9_500);
      expect(buckets.get(bucket)).toBeLessThan(10_500);
    }
  });

  it('draws consecutive numbers that are not correlated: pairs fall evenly into a 4 × 4 grid', () => {
    const generator = new Xorshift32();
    const cells = countOf(
      Array.from({ length: 64_000 }, () => {
        const a = Math.floor(generator.next() * 4);
        return a * 4 + Math.floor(generator.next() * 4);
      }),
    );
    for (let cell = 0; cell < 16; cell++) {
      expect(cells.get(cell)).toBeGreaterThan(3_700);
      expect(cells.get(cell)).toBeLessThan(4_300);
    }
  });

  it('never sticks at zero, whatever the seed', () => {
    const generator = new Xorshift32(() => 0);
    const draws = new Set(Array.from({ length: 100 }, () => generator.next()));
    expect(draws.size).toBe(100);
  });

  it('follows its seed: the same seed, the same draws', () => {
    const a = new Xorshift32(() => 0.123);
    const b = new Xorshift32(() => 0.123);
    const c = new Xorshift32(() => 0.456);
    const draws = (g: Xorshift32) => Array.from({ length: 5 }, () => g.next());
    expect(draws(a)).toEqual(draws(b));
    expect(draws(c)).not.toEqual(draws(new Xorshift32(() => 0.123)));
  });
});
