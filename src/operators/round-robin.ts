import type { OperatorFunction } from 'rxjs';
import type { Address, Instance, Update } from '../instance.js';
import type { Backend, Backends, Picker } from '../picker.js';
import { readOptions } from '../read-options.js';
import { randomOffset } from './internal/random.js';
import { policyOperator } from './policy-operator.js';

/** Options of {@link roundRobin}. */
export interface RoundRobinOptions {
  /**
   * Chooses where each new picker starts: at `Math.floor(random() * size)`. Must return a
   * number in `[0, 1)`, as `Math.random` does. Inject a fixed function for deterministic
   * tests. Default `Math.random`.
   */
  readonly random?: () => number;
}

const DEFAULTS = { random: Math.random } as const satisfies Required<RoundRobinOptions>;

/**
 * Turns a stream of update batches into a stream of round-robin pickers, one per batch.
 *
 * <span class="informal">Like `scan()` over the batches, emitting a fresh immutable
 * {@link Picker} of the current members each time.</span>
 *
 * ```
 * source:  -a-----b-----|     a = [+A, +B]           b = [+C]
 *           roundRobin({ random: () => 0.5 })
 * output:  -x-----y-----|     x picks B A B A ...    y picks B C A B ...
 * ```
 *
 * ![roundRobin: emits a picker per batch](../../docs/marbles/round-robin-emits-a-picker-per-batch-from-a-random-offset.svg)
 *
 * Each batch is applied to the members kept so far: an `add` inserts the instance, or
 * replaces the one at its address in place; a `delete` removes the address, and a `delete`
 * of an unknown address does nothing. Members keep the order in which their addresses were
 * first added, so a replace does not reshuffle the cycle. Then a new picker is emitted, also
 * for an empty batch.
 *
 * Each picker starts at a random offset, `Math.floor(random() * size)`, so that many clients
 * do not all hit the same first instance, then cycles through `instances` in order: over
 * `k * size` picks every instance is chosen exactly `k` times. In a balanced channel it
 * cycles through the backends that are usable (connected, not ejected) in the same order,
 * and keeps its place when they change: after a change, the next pick is the first usable
 * member after the last one picked. `pick()` is O(1) amortised and allocates nothing; an
 * empty picker's `pick()` returns `undefined`. A picker never changes once emitted (its
 * `instances` array is frozen).
 *
 * Completion and errors of the source pass through. Members live in the subscription: a
 * resubscribed pipeline starts with none. A `random` that returns a value outside `[0, 1)`
 * makes the output error with a `RangeError`.
 *
 * ## Example
 *
 * ```ts
 * import { of } from 'rxjs';
 * import { diff, roundRobin } from 'rxlb';
 *
 * of(['10.0.0.1:50051', '10.0.0.2:50051'])
 *   .pipe(diff(), roundRobin())
 *   .subscribe((picker) => {
 *     const picks = Array.from({ length: 4 }, () => picker.pick()?.address);
 *     console.log(picks); // e.g. [ '10.0.0.2:50051', '10.0.0.1:50051', '10.0.0.2:50051', ... ]
 *   });
 * ```
 *
 * @param options See {@link RoundRobinOptions}. Validated at once: an unknown key, or a
 * `random` that is not a function, throws a `TypeError` naming the option.
 * @see {@link diff} produces the batches from instance sets.
 * @see [All roundRobin() marble diagrams](https://github.com/rxlb/rxlb/tree/main/docs/marbles)
 *
 * @return A function that returns an Observable of {@link Picker}s.
 */
export function roundRobin(
  options: RoundRobinOptions = {},
): OperatorFunction<readonly Update[], Picker> {
  const random = readOptions('roundRobin()', options, ['random']).function<() => number>('random');
  return policyOperator('roundRobin()', (instances) => {
    const size = instances.length;
    const start = size > 0 ? randomOffset('roundRobin()', random ?? DEFAULTS.random, size) : 0;
    return new RoundRobinPicker(instances, start);
  });
}

/**
 * Cycles through its members from a start offset, like grpc-js's `RoundRobinPicker`: an array
 * and an index.
 *
 * Given the channel's usable backends, it cycles through those, in member order, and keeps its
 * place when they change: the next pick after a change is the first usable member after the
 * last one picked, so a backend that connects or drops out neither restarts the rotation nor
 * makes one member pick twice in a row.
 */
export class RoundRobinPicker implements Picker {
  readonly instances: readonly Instance[];
  // A private copy to pick from: V8 reads a frozen array's elements several times slower.
  readonly #cycle: readonly Instance[];
  #next: number;
  /** The usable array the cursor below points into. */
  #usable: readonly Backend[] | undefined;
  #cursor = 0;
  /** The last member picked from a usable array, if any. */
  #last: Instance | undefined;
  /** Where the first pick from a usable array starts: the member at the random offset. */
  readonly #start: number;
  /** Position of each member, built on the first pick among usable backends. */
  #positions: Map<Address, number> | undefined;

  /**
   * Takes ownership of `instances`: the caller must not change the array afterwards.
   * `offset` must be an integer in `[0, instances.length)`, or 0 for an empty list.
   */
  constructor(instances: readonly Instance[], offset: number) {
    this.#cycle = instances;
    this.instances = Object.freeze([...instances]);
    this.#next = offset;
    this.#start = offset;
  }

  pick(backends?: Backends): Instance | undefined {
    if (backends === undefined) {
      const instance = this.#cycle[this.#next];
      this.#next = this.#next + 1 < this.#cycle.length ? this.#next + 1 : 0;
      return instance;
    }
    const { usable } = backends;
    if (usable !== this.#usable) this.#resume(usable);
    const backend = usable[this.#cursor];
    if (backend === undefined) return undefined;
    this.#cursor = this.#cursor + 1 < usable.length ? this.#cursor + 1 : 0;
    this.#last = backend.instance;
    return backend.instance;
  }

  /** Points the cursor at the first usable member after the last one picked. */
  #resume(usable: readonly Backend[]): void {
    this.#usable = usable;
    const last = this.#last === undefined ? this.#start - 1 : this.#position(this.#last);
    // `usable` is in member order: a binary search for the first position past the last.
    let low = 0;
    let high = usable.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const backend = usable[middle] as Backend;
      if (this.#position(backend.instance) <= last) low = middle + 1;
      else high = middle;
    }
    this.#cursor = low < usable.length ? low : 0;
  }

  #position(instance: Instance): number {
    if (this.#positions === undefined) {
      this.#positions = new Map(this.#cycle.map((member, i) => [member.address, i]));
    }
    return this.#positions.get(instance.address) ?? -1;
  }
}
