import type { Address, Instance } from '../instance.js';
import type { Backend, Backends, Picker } from '../picker.js';

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
  readonly size: number;
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
    this.size = instances.length;
    this.#next = offset;
    this.#start = offset;
  }

  pick(backends?: Backends): Instance | undefined {
    if (backends === undefined) {
      const instance = this.#cycle[this.#next];
      this.#next = this.#next + 1 < this.size ? this.#next + 1 : 0;
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
