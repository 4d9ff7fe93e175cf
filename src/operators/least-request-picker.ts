import type { Instance } from '../instance.js';
import type { Backend } from '../picker.js';
import { PowerOfChoicesPicker } from './power-of-choices-picker.js';

/**
 * Power of `choices` random choices on the calls in flight, weighted as Envoy's least-request
 * balancer weighs them: a backend's cost is `(inFlight + 1) / weight`, so the winner is the
 * one of highest `weight / (inFlight + 1)`. With equal weights that is the fewest calls in
 * flight, and the cost is the count itself (no arithmetic on the hot path). Without backends
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

  protected override costOfUsable({ inFlight }: Backend, position: number): number {
    return this.#weighted ? (inFlight + 1) * (this.#ofUsable[position] as number) : inFlight;
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
