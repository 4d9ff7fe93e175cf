import type { Instance } from '../instance.js';
import type { Backend, Backends, Picker } from '../picker.js';

/**
 * The choice `leastRequest()` and `peakEwma()` share: the power of d random choices
 * (Mitzenmacher; P2C for d = 2, as tower's `p2c`, Finagle and Envoy make it). A pick draws `d`
 * distinct candidates uniformly at random and returns the one of least cost. How a cost is
 * measured is the subclass's: the choice never knows, as tower's balancer never knows how its
 * `Load` is measured.
 *
 * Candidates are drawn in random order and the first drawn wins a tie, so a tie goes to a
 * random one of the tied without another draw. With d = 2 a pick costs two draws of `random`
 * and no branch that the processor could mispredict half the time (a pick costs a few
 * nanoseconds: a misprediction would double it). With more, a partial
 * Fisher-Yates shuffle of a scratch permutation the picker keeps (a permutation stays one
 * whatever order it is left in, so it never needs resetting; it is allocated again only when
 * the number of candidates changes), one draw per candidate. With d at least the number of
 * candidates, every one is a candidate: the least costly wins.
 */
export abstract class PowerOfChoicesPicker implements Picker {
  readonly instances: readonly Instance[];
  readonly size: number;
  /** A private copy to pick from: V8 reads a frozen array's elements several times slower. */
  protected readonly members: readonly Instance[];
  /** The usable backends of the latest `pick(backends)`, which {@link costOfUsable} reads. */
  protected usable: readonly Backend[] = [];
  readonly #choices: number;
  readonly #random: () => number;
  readonly #caller: string;
  #order = new Uint32Array(0);

  /**
   * Takes ownership of `members`: the caller must not change the array afterwards.
   * `choices` must be an integer of at least 2.
   */
  constructor(members: readonly Instance[], choices: number, random: () => number, caller: string) {
    this.members = members;
    this.instances = Object.freeze([...members]);
    this.size = members.length;
    this.#choices = choices;
    this.#random = random;
    this.#caller = caller;
  }

  pick(backends?: Backends): Instance | undefined {
    if (backends === undefined) {
      return this.size === 0 ? undefined : this.members[this.#choose(this.size, false)];
    }
    const { usable } = backends;
    if (usable !== this.usable) {
      this.usable = usable;
      this.usableChanged();
    }
    const n = usable.length;
    if (n <= 1 || this.#choices !== 2) return usable[this.#choose(n, true)]?.instance;
    // The channel's path, once per call: #choose's, written out so that it compiles to
    // straight-line code with no call.
    const first = this.#draw(n);
    let second = this.#draw(n - 1);
    second += Number(second >= first);
    const winner = Number(this.costOfUsable(second) < this.costOfUsable(first));
    return usable[first + (second - first) * winner]?.instance;
  }

  /** The cost of `usable[position]` now: lower is better. */
  protected abstract costOfUsable(position: number): number;

  /** The cost of `members[position]` for a pick without backends: lower is better. */
  protected abstract costOfMember(position: number): number;

  /** Called when a pick brings a new `usable` array, before any cost of it is asked. */
  protected usableChanged(): void {}

  /** The position, among `n` candidates, of the least costly of `choices` random ones. */
  #choose(n: number, ofUsable: boolean): number {
    if (n <= 1) return 0;
    if (this.#choices === 2) {
      const first = this.#draw(n);
      let second = this.#draw(n - 1);
      // Number(boolean) compiles to a flag, where `c ? 1 : 0` compiles to a branch.
      second += Number(second >= first);
      const secondWins = this.#cost(second, ofUsable) < this.#cost(first, ofUsable);
      return first + (second - first) * Number(secondWins);
    }
    if (this.#order.length !== n) this.#order = Uint32Array.from({ length: n }, (_, i) => i);
    const order = this.#order;
    const draws = Math.min(this.#choices, n);
    let best = 0;
    let bestCost = Number.POSITIVE_INFINITY;
    for (let t = 0; t < draws; t++) {
      const drawn = t + this.#draw(n - t);
      const candidate = order[drawn] as number;
      order[drawn] = order[t] as number;
      order[t] = candidate;
      const cost = this.#cost(candidate, ofUsable);
      if (t === 0 || cost < bestCost) {
        best = candidate;
        bestCost = cost;
      }
    }
    return best;
  }

  #cost(position: number, ofUsable: boolean): number {
    return ofUsable ? this.costOfUsable(position) : this.costOfMember(position);
  }

  /** A uniformly random integer in `[0, n)` (for `r` below 1, `r * n` stays below `n`). */
  #draw(n: number): number {
    const r = this.#random();
    if (!(r >= 0 && r < 1)) {
      throw new RangeError(
        `${this.#caller}: options.random returned ${r}, expected a number in [0, 1)`,
      );
    }
    return (r * n) | 0;
  }
}
