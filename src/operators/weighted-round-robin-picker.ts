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
  /** The backend of each slot: a pick is then one index, as round robin's. */
  readonly slots: readonly Backend[];
}

/**
 * Follows a precomputed smooth schedule of its members' weights (see `weighted-schedule.ts`),
 * laid out as the member (or backend) of each slot: a pick is an array index, as in
 * `RoundRobinPicker`.
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
  /** The member of each slot of the members' schedule, built on the first pick. */
  #memberSlots: readonly Instance[] | undefined;
  #next: number;

  #current: UsableSchedule | undefined;
  #previous: UsableSchedule | undefined;
  /** The usable array the current schedule is for, its slots, and the cursor into them. */
  #usable: readonly Backend[] | undefined;
  #slots: readonly Backend[] = [];
  #cursor = 0;
  /** Where the last pick among usable backends stood, when known and not yet in the cursor. */
  #last: SlotKey | undefined;
  #picked = false;
  /** Position of each member by address, for backends that are not its instances. */
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
      const slots = this.#memberSlots ?? this.#layMembers();
      const instance = slots[this.#next];
      this.#next = this.#next + 1 < slots.length ? this.#next + 1 : 0;
      return instance;
    }
    const { usable } = backends;
    if (usable !== this.#usable) this.#switchTo(usable);
    const slots = this.#slots;
    const backend = slots[this.#cursor];
    this.#cursor = this.#cursor + 1 < slots.length ? this.#cursor + 1 : 0;
    this.#picked = true;
    return backend?.instance;
  }

  /** Follows the schedule of `usable` from where the last pick left off. */
  #switchTo(usable: readonly Backend[]): void {
    const last = this.#lastKey();
    const cached = this.#previous?.usable === usable ? this.#previous : undefined;
    this.#previous = this.#current;
    this.#current = cached ?? this.#scheduleOf(usable);
    const { schedule, slots } = this.#current;
    this.#usable = usable;
    this.#slots = slots;
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

  #scheduleOf(usable: readonly Backend[]): UsableSchedule {
    // `usable` lists members in order, each at most once: all of them is the members' order.
    let schedule: Schedule;
    if (usable.length === this.size) schedule = this.#fullSchedule();
    else {
      const weights = scheduledWeights(usable.length, (i) => usable[i]?.instance.weight);
      schedule = buildSchedule(weights, this.#positionsOf(usable));
    }
    return { usable, schedule, slots: layOut(schedule, usable) };
  }

  #fullSchedule(): Schedule {
    if (this.#full === undefined) {
      const positions = new Int32Array(this.size);
      for (let i = 0; i < this.size; i++) positions[i] = i;
      this.#full = buildSchedule(this.#weights, positions);
    }
    return this.#full;
  }

  #layMembers(): readonly Instance[] {
    this.#memberSlots = this.size === 0 ? [] : layOut(this.#fullSchedule(), this.#members);
    return this.#memberSlots;
  }

  /** Each usable backend's position among the members. */
  #positionsOf(usable: readonly Backend[]): Int32Array {
    const positions = new Int32Array(usable.length);
    // In member order, as the channel promises: one walk finds them, with no lookup.
    let m = 0;
    for (let i = 0; i < usable.length; i++) {
      const { instance } = usable[i] as Backend;
      while (m < this.size && this.#members[m] !== instance) m++;
      if (m === this.size) return this.#lookUpPositions(usable);
      positions[i] = m++;
    }
    return positions;
  }

  /** The same, for backends that are not this picker's instances in its order. */
  #lookUpPositions(usable: readonly Backend[]): Int32Array {
    this.#positions ??= new Map(this.#members.map((member, i) => [member.address, i]));
    const positions = new Int32Array(usable.length);
    for (let i = 0; i < usable.length; i++) {
      positions[i] = this.#positions.get((usable[i] as Backend).instance.address) ?? -1;
    }
    return positions;
  }
}

/** The element of `view` at each slot of `schedule`; `view` itself when that is its order. */
function layOut<T>(schedule: Schedule, view: readonly T[]): readonly T[] {
  const { order } = schedule;
  let identity = order.length === view.length;
  for (let slot = 0; identity && slot < order.length; slot++) identity = order[slot] === slot;
  if (identity) return view;
  const slots = new Array<T>(order.length);
  for (let slot = 0; slot < order.length; slot++) slots[slot] = view[order[slot] as number] as T;
  return slots;
}
