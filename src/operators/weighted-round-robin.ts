import type { OperatorFunction } from 'rxjs';
import type { Address, Instance, Update } from '../instance.js';
import type { Backend, Backends, Picker } from '../picker.js';
import { readOptions } from '../read-options.js';
import { randomOffset } from './internal/random.js';
import {
  buildSchedule,
  keyOf,
  periodOf,
  resumeSlot,
  type Schedule,
  type SlotKey,
  scheduledWeights,
} from './internal/weighted-schedule.js';
import { policyOperator } from './policy-operator.js';

/**
 * Options of {@link weightedRoundRobin}.
 *
 * @example
 * ```ts
 * // Deterministic pickers for a test: each starts at the first slot of its schedule.
 * const picker$ = batches$.pipe(weightedRoundRobin({ random: () => 0 }));
 * ```
 */
export interface WeightedRoundRobinOptions {
  /**
   * Chooses where each new picker starts: at slot `Math.floor(random() * period)` of its
   * schedule, `period` being the sum of the weights. Must return a number in `[0, 1)`, as
   * `Math.random` does. Inject a fixed function for deterministic tests. Default `Math.random`.
   */
  readonly random?: () => number;
}

const DEFAULTS = { random: Math.random } as const satisfies Required<WeightedRoundRobinOptions>;

/**
 * Turns a stream of update batches into a stream of weighted round-robin pickers, one per
 * batch: each instance gets calls in proportion to its `weight` (Consul's `Weights.Passing`),
 * smoothly interleaved.
 *
 * <span class="informal">`roundRobin()`, where an instance of weight 3 takes three turns in a
 * cycle, spread out: A B A C A, not A A A B C.</span>
 *
 * ```
 * source:  -a--------|     a = [+A (weight 3), +B, +C]
 *           weightedRoundRobin({ random: () => 0 })
 * output:  -x--------|     x picks A B A C A  A B A C A ...
 * ```
 *
 * ![weightedRoundRobin: interleaves picks in proportion to the weights](../../docs/marbles/weighted-round-robin-interleaves-picks-in-proportion-to-the-weights.svg)
 *
 * Batches are applied to the members as {@link roundRobin} applies them (an `add` of a known
 * address replaces it in place, a new weight included), and a new picker is emitted after each.
 *
 * **The schedule.** A picker follows a schedule of one period of `W = sum(weights)` picks,
 * precomputed by earliest-eligible-deadline-first: the `k`th of the `w` picks of an instance
 * of weight `w` must fall in the `k`th `w`th of the period, and each slot takes, among the
 * picks that may fall there, the one that must be done soonest. After any number `t` of picks
 * an instance has had `floor(t·w/W)` or `ceil(t·w/W)` of them, so any window of picks gives
 * it its share ±1 (over `W` picks, exactly `w`). Why this scheduler: Envoy's EDF and gRPC's
 * stride scheduler pick in O(log n) or in a loop whose length grows with the spread of the
 * weights; nginx's smooth WRR is O(n) a pick. A precomputed period makes `pick()` an array
 * index, O(1) and allocation-free like round robin's, and EEVDF's windows bound the lag below
 * one pick where plain EDF lets a heavy instance take a long run first (weights 100:1:…:1 give
 * EDF 99 picks of the heavy one in a row) and nginx's lets it pass one pick. The price: a
 * schedule to build on the first pick, in O(W + n) time and 16 bytes a slot, and to build
 * again when the usable backends change (reconnections, ejections), where round robin only
 * looks its place up.
 *
 * **Weights.** A positive finite weight is rounded to the nearest integer, at least 1. A weight
 * of 0 or below drains the instance: it gets no call while another one has a positive weight
 * (as HAProxy's weight 0); when all are drained they share calls equally, so that calls are
 * never stranded. NaN, ±Infinity or a non-number count as 1, as an absent weight does. Weights
 * are divided by their greatest common divisor, so equal weights behave exactly as
 * `roundRobin()`: the same picks in the same order from the same `random`. When they add up to
 * more than 2^16 (65,536), they are scaled down in proportion to add up to about that, each
 * rounded and at least 1: an instance's share then is off by at most half a pick in 2^16, but
 * one whose exact share is below one pick in 2^16 gets one (in a long list of tiny weights
 * beside large ones, those add up).
 *
 * **In a balanced channel** it schedules over the usable backends (connected, not ejected)
 * only, with their weights: a new schedule whenever the channel hands a new `usable` array
 * (O(W) to build, the previous one kept for when the array comes back), and it keeps its
 * place: the next pick after a change is the one due next after the last pick in the period.
 * With equal weights that is round robin's rule: the first usable member after the last one
 * picked.
 *
 * Each picker starts at a random slot, `Math.floor(random() * W)`, so that many clients do not
 * all hit the same first instance. Completion and errors of the source pass through; a
 * resubscribed pipeline starts with no members. A `random` that returns a value outside
 * `[0, 1)` makes the output error with a `RangeError`.
 *
 * ## Example
 *
 * ```ts
 * import { of } from 'rxjs';
 * import { diff, type Instance, weightedRoundRobin } from 'rxlb';
 *
 * const instance = (address: string, weight: number): Instance =>
 *   ({ address, id: address, service: 'greeter', node: '', tags: [], meta: {}, weight });
 *
 * of([instance('10.0.0.1:50051', 3), instance('10.0.0.2:50051', 1), instance('10.0.0.3:50051', 1)])
 *   .pipe(diff(), weightedRoundRobin({ random: () => 0 }))
 *   .subscribe((picker) => {
 *     const picks = Array.from({ length: 5 }, () => picker.pick()?.address);
 *     console.log(picks); // 10.0.0.1, 10.0.0.2, 10.0.0.1, 10.0.0.3, 10.0.0.1 (each :50051)
 *   });
 * ```
 *
 * With Consul, `consulInstances$('greeter').pipe(diff(), weightedRoundRobin())` honours each
 * instance's `Weights.Passing` (`Weights.Warning` while its checks warn, when `passing: false`
 * lets it through).
 *
 * @param options See {@link WeightedRoundRobinOptions}. Validated at once: an unknown key, or
 * a `random` that is not a function, throws a `TypeError` naming the option.
 * @see {@link roundRobin} for equal weights.
 * @see [All weightedRoundRobin() marble diagrams](https://github.com/rxlb/rxlb/tree/main/docs/marbles)
 *
 * @return A function that returns an Observable of {@link Picker}s.
 */
export function weightedRoundRobin(
  options: WeightedRoundRobinOptions = {},
): OperatorFunction<readonly Update[], Picker> {
  const caller = 'weightedRoundRobin()';
  const random = readOptions(caller, options, ['random']).function<() => number>('random');
  return policyOperator(caller, (instances) => {
    const weights = scheduledWeights(instances.length, (i) => instances[i]?.weight);
    const period = periodOf(weights);
    const start = period > 0 ? randomOffset(caller, random ?? DEFAULTS.random, period) : 0;
    return new WeightedRoundRobinPicker(instances, weights, start);
  });
}

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
  readonly #size: number;
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
    this.#size = instances.length;
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
    if (usable.length === this.#size) schedule = this.#fullSchedule();
    else {
      const weights = scheduledWeights(usable.length, (i) => usable[i]?.instance.weight);
      schedule = buildSchedule(weights, this.#positionsOf(usable));
    }
    return { usable, schedule, slots: layOut(schedule, usable) };
  }

  #fullSchedule(): Schedule {
    if (this.#full === undefined) {
      const positions = new Int32Array(this.#size);
      for (let i = 0; i < this.#size; i++) positions[i] = i;
      this.#full = buildSchedule(this.#weights, positions);
    }
    return this.#full;
  }

  #layMembers(): readonly Instance[] {
    this.#memberSlots = this.#size === 0 ? [] : layOut(this.#fullSchedule(), this.#members);
    return this.#memberSlots;
  }

  /** Each usable backend's position among the members. */
  #positionsOf(usable: readonly Backend[]): Int32Array {
    const positions = new Int32Array(usable.length);
    // In member order, as the channel promises: one walk finds them, with no lookup.
    let m = 0;
    for (let i = 0; i < usable.length; i++) {
      const { instance } = usable[i] as Backend;
      while (m < this.#size && this.#members[m] !== instance) m++;
      if (m === this.#size) return this.#lookUpPositions(usable);
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
