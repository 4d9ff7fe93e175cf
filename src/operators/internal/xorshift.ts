/**
 * Marsaglia's xorshift32 ("Xorshift RNGs", 2003, shifts 13, 17, 5): uniform numbers in `[0, 1)`
 * from 32 bits of state, three shifts and three xors each, period 2^32 - 1. The P2C policies
 * draw once per call: `Math.random()` is a call into the engine that allocates its result and
 * costs twice the rest of a pick; this inlines into it and allocates nothing (its state lives in
 * an `Int32Array`, which holds it unboxed). Seeded from `Math.random`. For spreading load, not
 * for secrets.
 *
 * Its 32 bits bound what one draw can tell: split into two positions among `n` members, as a
 * P2C pick splits it, each ordered pair is drawn with a probability within `n² / 2^32` of the
 * others' (relative): 0.02 % at 1,000 members, 2.3 % at 10,000.
 */
export class Xorshift32 {
  readonly #state = new Int32Array(1);

  constructor(seed: () => number = Math.random) {
    this.#state[0] = (seed() * 2 ** 32) | 1; // never 0, which it would never leave
  }

  /** The next number in `[0, 1)`, a multiple of 2^-32. */
  next(): number {
    const state = this.#state;
    let x = state[0] as number;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    state[0] = x;
    return (x >>> 0) * 2 ** -32;
  }
}
