/**
 * A set of integers in `[0, size)` that finds its smallest member in O(log₃₂ size): 32-bit
 * words of bits, under a word per 32 words that says which are non-empty, and so on up to a
 * single word. A scheduler's priority queue when priorities are small integers.
 */
export class BitTree {
  /** Level 0 holds a bit per integer; each level above, a bit per word of the one below. */
  readonly #levels: Uint32Array[] = [];

  constructor(size: number) {
    let words = Math.max(1, Math.ceil(size / 32));
    for (;;) {
      this.#levels.push(new Uint32Array(words));
      if (words === 1) break;
      words = Math.ceil(words / 32);
    }
  }

  add(value: number): void {
    let i = value;
    for (const level of this.#levels) {
      const word = i >>> 5;
      const before = level[word] as number;
      level[word] = before | (1 << (i & 31));
      if (before !== 0) return; // the levels above already know this word is non-empty
      i = word;
    }
  }

  delete(value: number): void {
    let i = value;
    for (const level of this.#levels) {
      const word = i >>> 5;
      const after = (level[word] as number) & ~(1 << (i & 31));
      level[word] = after;
      if (after !== 0) return;
      i = word;
    }
  }

  /** The smallest member, or -1 when empty. */
  first(): number {
    const levels = this.#levels;
    let i = 0;
    for (let l = levels.length - 1; l >= 0; l--) {
      const word = (levels[l] as Uint32Array)[i] as number;
      if (word === 0) return -1;
      i = (i << 5) | (31 - Math.clz32(word & -word));
    }
    return i;
  }
}
