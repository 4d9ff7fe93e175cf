import type { Address, Instance } from '../instance.js';
import type { Backend, Backends, Picker } from '../picker.js';
import {
  buildSchedule,
  keyOf,
  resumeSlot,
  type Schedule,
  type SlotKey,
  scheduledWeights,
} from './weighted-schedule.js';

/** A schedule over one usable array, kept while the channel hands that array. */
interface UsableSchedule {
  readonly usable: readonly Backend[];
  readonly schedule: Schedule;
}

/**
 * Follows a precomputed smooth schedule of its members' weights (see `weighted-schedule.ts`):
 * a pick is an array index, as in `RoundRobinPicker`, plus one to map the slot to its member.
 *
 * Given the channel's usable backends, it follows a schedule of those (built when the array
 * first comes, kept with the one before it, so that a retry's one-off array does not cost the
 * main one its schedule), and keeps its place when the array changes: it goes on after the slot
 * that stood where the last pick stood in its period (see `resumeSlot`).
 */
export class WeightedRoundRobinPicker implements Picker {
  readonly instances: readonly Instance[];
  readonly size: number;
  // A private copy to pick from: V8 reads a frozen array's elements several times slower.
  readonly #members: readonly Instance[];
  /** The members' weights as scheduled; the period is their sum. */
  readonly #weights: Uint32Array;
  /** Where picks start: a slot of the members' schedule. */
  readonly #start: number;
  #full: Schedule | undefined;
  #next: number;

  #current: UsableSchedule | undefined;
  #previous: UsableSchedule | undefined;
  /** The current schedule's slots, and the cursor into them. */
  #order: Uint32Array = new Uint32Array(0);
  #cursor = 0;
  /** Where the last pick among usable backends stood, when known and not yet in the cursor. */
  #last: SlotKey | undefined;
  #picked = false;
  /** Position of each member, built on the first pick among usable backends. */
  #positions: Map<Address, number> | undefined;

  /**
   * Takes ownership of `instances`: the caller must not change the array afterwards.
   * `weights` are those of {@link scheduledWeights} for `instances`; `start` is a slot of
   * their period (an integer from 0 to their sum, excluded), or 0 for an empty list.
   */
  constructor(instances: readonly Instance[], weights: Uint32Array, start: number) {
    this.#members = instances;
    this.instances = Object.freeze([...instances]);
    this.size = instances.length;
    this.#weights = weights;
    this.#start = start;
    this.#next = start;
  }

  pick(backends?: Backends): Instance | undefined {
    if (backends === undefined) {
      if (this.size === 0) return undefined;
      const full = this.#fullSchedule();
      const instance = this.#members[full.order[this.#next] as number];
      this.#next = this.#next + 1 < full.period ? this.#next + 1 : 0;
      return instance;
    }
    const { usable } = backends;
    if (usable !== this.#current?.usable) this.#switchTo(usable);
    const order = this.#order;
    const backend = usable[order[this.#cursor] as number];
    this.#cursor = this.#cursor + 1 < order.length ? this.#cursor + 1 : 0;
    this.#picked = true;
    return backend?.instance;
  }

  /** Follows the schedule of `usable` from where the last pick left off. */
  #switchTo(usable: readonly Backend[]): void {
    const last = this.#lastKey();
    const cached = this.#previous?.usable === usable ? this.#previous : undefined;
    this.#previous = this.#current;
    this.#current = cached ?? { usable, schedule: this.#scheduleOf(usable) };
    const { schedule } = this.#current;
    this.#order = schedule.order;
    this.#cursor = resumeSlot(schedule, last);
    this.#last = last;
    this.#picked = false;
  }

  /** Where the last pick stood: before the first, the slot before the start. */
  #lastKey(): SlotKey {
    const current = this.#current?.schedule;
    if (current && this.#picked) {
      return keyOf(current, this.#cursor > 0 ? this.#cursor - 1 : current.period - 1);
    }
    if (this.#last) return this.#last;
    const full = this.#fullSchedule();
    return keyOf(full, this.#start > 0 ? this.#start - 1 : full.period - 1);
  }

  #scheduleOf(usable: readonly Backend[]): Schedule {
    // `usable` lists members in order, each at most once: all of them is the members' order.
    if (usable.length === this.size) return this.#fullSchedule();
    const weights = scheduledWeights(usable.length, (i) => usable[i]?.instance.weight);
    const positions = new Int32Array(usable.length);
    for (let i = 0; i < usable.length; i++) {
      positions[i] = this.#position((usable[i] as Backend).instance.address);
    }
    return buildSchedule(weights, positions);
  }

  #fullSchedule(): Schedule {
    if (this.#full === undefined) {
      const positions = new Int32Array(this.size);
      for (let i = 0; i < this.size; i++) positions[i] = i;
      this.#full = buildSchedule(this.#weights, positions);
    }
    return this.#full;
  }

  #position(address: Address): number {
    if (this.#positions === undefined) {
      this.#positions = new Map(this.#members.map((member, i) => [member.address, i]));
    }
    return this.#positions.get(address) ?? -1;
  }
}
