import type { OperatorFunction } from 'rxjs';
import type { Instance, Update } from '../instance.js';
import type { Backend, Picker } from '../picker.js';
import { readOptions } from '../read-options.js';
import { PowerOfChoicesPicker } from './internal/power-of-choices-picker.js';
import { policyOperator } from './policy-operator.js';

/** Options of {@link leastRequest}. */
export interface LeastRequestOptions {
  /**
   * How many distinct backends each pick draws at random before taking the least loaded: 2 is
   * the power of two choices; more gets closer to "the least loaded of all" and costs a draw
   * of `random` per choice (the two of P2C share one). An integer of at least 2. Default 2.
   */
  readonly choices?: number;
  /**
   * The source of the random draws, one per pick: must return a number in `[0, 1)`, as
   * `Math.random` does. Inject a fixed sequence for deterministic tests. Default: each picker's
   * own xorshift32 generator, seeded from `Math.random` (as uniform, and several times
   * cheaper than a call to `Math.random`).
   */
  readonly random?: () => number;
}

const DEFAULTS = { choices: 2 } as const satisfies Omit<Required<LeastRequestOptions>, 'random'>;

const CALLER = 'leastRequest()';

/**
 * Turns a stream of update batches into a stream of least-request pickers, one per batch:
 * each call goes to the less loaded of two backends drawn at random, by the calls the channel
 * has in flight on each.
 *
 * <span class="informal">The power of two choices, as Envoy's, Istio's (its default) and
 * tower's least-loaded balancers make it.</span>
 *
 * ```
 * source:  -a-----|     a = [+A, +B, +C]
 *           leastRequest()
 * output:  -x-----|     x: with 2, 0 and 5 calls in flight on A, B and C, picks B
 *                          whenever B is drawn, A against C, never C
 * ```
 *
 * ![leastRequest: picks the less loaded of two random members](../../docs/marbles/least-request-picks-the-less-loaded-of-two-random-members.svg)
 *
 * In a balanced channel, every pick draws `choices` distinct usable backends (connected, not
 * ejected) uniformly at random and takes the one with the fewest calls in flight
 * (`Backend.inFlight`, which the channel counts from the moment a call goes out until it
 * ends); a tie goes to a random one of the tied. A backend whose calls fail for its sake
 * counts as more loaded, by `1 + failures / (successes + 1)` (the channel's decayed counts,
 * see `Backend`): one failing every call loses nearly every draw, one failing 1 % of its
 * calls is as loaded as it looks; so a backend is never preferred because it fails fast,
 * as it would be on calls in flight alone (Finagle's P2C counts failures the same way;
 * gRFC A48 reads calls in flight only). Weights (`Instance.weight`, Consul's
 * `Weights.Passing`) count as Envoy counts them: the winner is the candidate of highest
 * `weight / load`, so a backend of weight 3 is worth three of weight 1 at equal
 * load. A weight of 0 or below drains the member, as in `weightedRoundRobin()`: it is drawn
 * only when every candidate is drained, so that Consul's `Weights.Warning: 0` keeps calls off
 * an instance whose checks warn, and calls are never stranded. NaN or ±Infinity counts as 1.
 *
 * Why: round robin spreads calls evenly, not load. A backend that slows down (a noisy
 * neighbour, a garbage-collection storm, a bad deploy) keeps its calls longer, so its count in
 * flight grows and it is drawn in vain: it gets fewer calls at once, with no latency to learn
 * and nothing to tune. Drawing two rather than scanning all keeps a pick O(1) and spreads
 * calls from many clients, whose counts lag, better than "the least loaded of all" would.
 *
 * `pick()` without backends (no channel: tests, another kind of client) sees nothing in
 * flight: it returns the heavier of the drawn members, so with equal weights a uniformly
 * random member, and `undefined` when there is none. `pick()` is O(`choices`) and allocates
 * nothing but, when the usable backends change, an array of their weights (and, with
 * `choices` > 2, a scratch array). Members are applied as `roundRobin()` applies them (an `add` replaces in
 * place, a `delete` of an unknown address does nothing) and a new picker is emitted for every
 * batch, also an empty one. Completion and errors of the source pass through; a resubscribed
 * pipeline starts with no member. A `random` that returns a value outside `[0, 1)` makes
 * `pick()` throw a `RangeError` (the channel then takes the next usable backend in turn).
 *
 * ## Example
 *
 * ```ts
 * import { of } from 'rxjs';
 * import { consulInstances$, createBalancedChannel, diff, leastRequest } from 'rxlb';
 *
 * // In a channel: every call goes to the less loaded of two random usable backends.
 * const channel = createBalancedChannel(consulInstances$('greeter').pipe(diff(), leastRequest()));
 *
 * // What the channel hands each pick: the usable backends, with their calls in flight.
 * of(['10.0.0.1:50051', '10.0.0.2:50051'])
 *   .pipe(diff(), leastRequest())
 *   .subscribe((picker) => {
 *     const usable = picker.instances.map((instance, i) => {
 *       const inFlight = i === 0 ? 4 : 1;
 *       return { instance, inFlight, latencyMs: 1, successes: 10, failures: 0 };
 *     });
 *     console.log(picker.pick({ usable })?.address); // '10.0.0.2:50051': 1 call in flight, not 4
 *   });
 * ```
 *
 * @param options See {@link LeastRequestOptions}. Validated at once: an unknown key, a
 * `choices` that is not an integer of at least 2, or a `random` that is not a function throws
 * a `TypeError` naming the option.
 * @see {@link peakEwma} weighs latency too, and reacts to a slow backend sooner.
 * @see {@link roundRobin} for even spreading, which ignores load.
 * @see [All leastRequest() marble diagrams](https://github.com/rxlb/rxlb/tree/main/docs/marbles)
 *
 * @return A function that returns an Observable of {@link Picker}s.
 */
export function leastRequest(
  options: LeastRequestOptions = {},
): OperatorFunction<readonly Update[], Picker> {
  const reader = readOptions(CALLER, options, ['choices', 'random']);
  const choices =
    reader.number('choices', { min: 2, max: Number.MAX_SAFE_INTEGER, integer: true }) ??
    DEFAULTS.choices;
  const random = reader.function<() => number>('random');
  return policyOperator(
    CALLER,
    (members) => new LeastRequestPicker(members, choices, random, CALLER),
  );
}

/**
 * Power of `choices` random choices on the calls in flight, weighted as Envoy's least-request
 * balancer weighs them, and raised by the backend's recent failures as Finagle's P2C counts
 * failures into load: a backend's cost is `(inFlight + 1) × (1 + failures / (successes + 1))
 * / weight`. Without backends
 * nothing is in flight: the heavier of the candidates wins, and with equal weights the pick is
 * uniformly random. A member of weight 0 or below is drained: drawn only when all are.
 */
export class LeastRequestPicker extends PowerOfChoicesPicker {
  /** `1 / weight` of each member, by position. */
  readonly #ofMembers: Float64Array;
  /** `1 / weight` of each usable backend, by position, while their weights differ. */
  #ofUsable = new Float64Array(0);
  #weighted = false;

  constructor(
    members: readonly Instance[],
    choices: number,
    random: (() => number) | undefined,
    caller: string,
  ) {
    super(members, choices, random, caller, isDrained);
    this.#ofMembers = Float64Array.from(this.members, inverseWeight);
  }

  protected override usableChanged(): void {
    const inverse = Float64Array.from(this.usable, (backend) => inverseWeight(backend.instance));
    this.#weighted = inverse.some((value) => value !== inverse[0]);
    this.#ofUsable = this.#weighted ? inverse : new Float64Array(0);
  }

  protected override costOfUsable({ inFlight, successes, failures }: Backend, position: number) {
    const load = (inFlight + 1) * (1 + failures / (successes + 1));
    return this.#weighted ? load * (this.#ofUsable[position] as number) : load;
  }

  protected override costOfMember(position: number): number {
    return this.#ofMembers[position] as number;
  }
}

/**
 * Whether `instance` takes no call while another can: a finite weight of 0 or below, as
 * weightedRoundRobin() reads weights (-Infinity, like NaN, counts as 1, an absent weight).
 */
function isDrained({ weight }: Instance): boolean {
  return weight <= 0 && weight > Number.NEGATIVE_INFINITY;
}

/**
 * `1 / weight`; a weight that is not a positive finite number counts as 1, the default (a
 * drained member is drawn only when all are, each then as good as another).
 */
function inverseWeight({ weight }: Instance): number {
  return weight > 0 && weight < Number.POSITIVE_INFINITY ? 1 / weight : 1;
}
