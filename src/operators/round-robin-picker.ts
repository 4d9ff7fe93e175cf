import type { Instance } from '../instance.js';
import type { Picker } from '../picker.js';

/**
 * Cycles through a fixed list of instances from a start offset, like grpc-js's
 * `RoundRobinPicker`: an array and an index. Any `size` consecutive picks are distinct, so a
 * caller that retries `pick()` up to `size` times tries every instance once.
 */
export class RoundRobinPicker implements Picker {
  readonly instances: readonly Instance[];
  readonly size: number;
  // A private copy to pick from: V8 reads a frozen array's elements several times slower.
  readonly #cycle: readonly Instance[];
  #next: number;

  /**
   * Takes ownership of `instances`: the caller must not change the array afterwards.
   * `offset` must be an integer in `[0, instances.length)`, or 0 for an empty list.
   */
  constructor(instances: readonly Instance[], offset: number) {
    this.#cycle = instances;
    this.instances = Object.freeze([...instances]);
    this.size = instances.length;
    this.#next = offset;
  }

  pick(): Instance | undefined {
    const instance = this.#cycle[this.#next];
    this.#next = this.#next + 1 < this.size ? this.#next + 1 : 0;
    return instance;
  }
}
