import type { Instance } from '../../instance.js';
import type { Backend, Backends, Picker } from '../../picker.js';
import { drawOf } from './random.js';
import { Xorshift32 } from './xorshift.js';

/**
 * The choice `leastRequest()` and `peakEwma()` share: the power of d random choices
 * (Mitzenmacher; P2C for d = 2, as tower's `p2c`, Finagle and Envoy make it). A pick draws `d`
 * distinct candidates uniformly at random and returns the one of least cost. How a cost is
 * measured is the subclass's: the choice never knows, as tower's balancer never knows how its
 * `Load` is measured.
 *
 * Candidates are drawn in random order and the first drawn wins a tie, so a tie goes to a
 * random one of the tied without another draw. With d = 2 a pick costs one draw of `random`,
 * split into the two positions (a draw costs more than the rest of a pick), and no branch that
 * the processor could mispredict half the time (a misprediction would cost as much as the
 * pick). With more, a partial
 * Fisher-Yates shuffle of a scratch permutation the picker keeps (a permutation stays one
 * whatever order it is left in, so it never needs resetting; it is allocated again only when
 * the number of candidates changes), one draw per candidate. With d at least the number of
 * candidates, every one is a candidate: the least costly wins.
 *
 * A subclass may name members as drained (`leastRequest()`: a weight of 0 or below): they are
 * left out of the draw while any other is a candidate, and drawn like any other when all are
 * drained, so that calls are never stranded. Positions, in the costs asked of the subclass,
 * are then positions among {@link members} and {@link usable}, the candidates.
 */
export abstract class PowerOfChoicesPicker implements Picker {
  readonly instances: readonly Instance[];
  /**
   * The members a pick without backends draws from (those not drained, or all of them), a
   * private array: V8 reads a frozen array's elements several times slower.
   */
  protected readonly members: readonly Instance[];
  /** What a pick from the latest `backends.usable` draws from, by whose positions costs are asked. */
  protected usable: readonly Backend[] = [];
  /** The latest `backends.usable`, as the channel passed it. */
  #seen: readonly Backend[] | undefined;
  readonly #drained: ((instance: Instance) => boolean) | undefined;
  readonly #choices: number;
  /** The caller's source of draws; undefined: the picker's own generator. */
  readonly #random: (() => number) | undefined;
  readonly #generator = new Xorshift32();
  readonly #caller: string;
  #order = new Uint32Array(0);
  /** Whether a pick among the members, or among `usable`, is P2C of two or more. */
  readonly #pairOfMembers: boolean;
  #pairOfUsable = false;

  /**
   * Takes ownership of `members`: the caller must not change the array afterwards.
   * `choices` must be an integer of at least 2. Without `random`, draws come from a
   * {@link Xorshift32} of the picker's own. `drained`, when given, names the members left out
   * of the draw while any other is a candidate.
   */
  constructor(
    members: readonly Instance[],
    choices: number,
    random: (() => number) | undefined,
    caller: string,
    drained?: (instance: Instance) => boolean,
  ) {
    this.instances = Object.freeze([...members]);
    this.#drained = drained;
    this.members = drained === undefined ? members : candidatesOf(members, drained);
    this.#choices = choices;
    this.#random = random;
    this.#caller = caller;
    this.#pairOfMembers = choices === 2 && this.members.length >= 2;
  }

  pick(backends?: Backends): Instance | undefined {
    // Both paths are #choose's for two choices, written out so that they compile to
    // straight-line code with no call: the channel takes the second on every call, where a
    // pick costs about as much as three array reads and each check counts.
    if (backends === undefined) {
      const n = this.members.length;
      if (!this.#pairOfMembers) return this.members[this.#choose(n, false)];
      const drawn = this.#random === undefined ? this.#generator.next() * n : this.#draw(n);
      const first = drawn | 0;
      const second = secondOf(drawn, first, n);
      const winner = Number(this.costOfMember(second) < this.costOfMember(first));
      return this.members[first + (second - first) * winner];
    }
    if (backends.usable !== this.#seen) this.#useUsable(backends.usable);
    const usable = this.usable;
    if (!this.#pairOfUsable) return usable[this.#choose(usable.length, true)]?.instance;
    const n = usable.length;
    const drawn = this.#random === undefined ? this.#generator.next() * n : this.#draw(n);
    const first = drawn | 0;
    const second = secondOf(drawn, first, n);
    const a = usable[first] as Backend;
    const b = usable[second] as Backend;
    const winner = Number(this.costOfUsable(b, second) < this.costOfUsable(a, first));
    return (usable[first + (second - first) * winner] as Backend).instance;
  }

  /** The cost of `backend`, which is `usable[position]`, now: lower is better. */
  protected abstract costOfUsable(backend: Backend, position: number): number;

  /** The cost of `members[position]` for a pick without backends: lower is better. */
  protected abstract costOfMember(position: number): number;

  /** Called when a pick brings a new `usable` array, before any cost of it is asked. */
  protected usableChanged(): void {}

  #useUsable(seen: readonly Backend[]): void {
    this.#seen = seen;
    const drained = this.#drained;
    const usable =
      drained === undefined ? seen : candidatesOf(seen, (backend) => drained(backend.instance));
    this.usable = usable;
    this.#pairOfUsable = this.#choices === 2 && usable.length >= 2;
    this.usableChanged();
  }

  /** The position, among `n` candidates, of the least costly of `choices` random ones. */
  #choose(n: number, ofUsable: boolean): number {
    if (n <= 1) return 0;
    if (this.#choices === 2) {
      const drawn = this.#draw(n);
      const first = drawn | 0;
      const second = secondOf(drawn, first, n);
      const secondWins = this.#cost(second, ofUsable) < this.#cost(first, ofUsable);
      return first + (second - first) * Number(secondWins);
    }
    if (this.#order.length !== n) this.#order = Uint32Array.from({ length: n }, (_, i) => i);
    const order = this.#order;
    const draws = Math.min(this.#choices, n);
    let best = 0;
    let bestCost = Number.POSITIVE_INFINITY;
    for (let t = 0; t < draws; t++) {
      const drawn = t + (this.#draw(n - t) | 0);
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
    return ofUsable
      ? this.costOfUsable(this.usable[position] as Backend, position)
      : this.costOfMember(position);
  }

  /**
   * A draw scaled to `[0, n)`: for `r` below 1, `r * n` stays below `n`. Its integer part is
   * uniform in `[0, n)`, and so is its fraction in `[0, 1)`, to the bits of the draw less
   * log2(n) (see {@link Xorshift32} for its own generator's).
   */
  #draw(n: number): number {
    const random = this.#random;
    return random === undefined ? this.#generator.next() * n : drawOf(this.#caller, random) * n;
  }
}

/** `items` without the drained ones, or all of `items` when none or all of them are drained. */
function candidatesOf<T>(items: readonly T[], drained: (item: T) => boolean): readonly T[] {
  const candidates = items.filter((item) => !drained(item));
  return candidates.length === 0 || candidates.length === items.length ? items : candidates;
}

/**
 * The second of two distinct positions among `n` from one draw in `[0, n)` whose integer part,
 * `first`, is the first: its fraction picks one of the `n - 1` others, uniformly.
 */
function secondOf(drawn: number, first: number, n: number): number {
  const second = ((drawn - first) * (n - 1)) | 0;
  // Number(boolean) compiles to a flag, where `c ? 1 : 0` compiles to a branch that the
  // processor would mispredict half the time.
  return second + Number(second >= first);
}
