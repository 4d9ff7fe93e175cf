import type { Instance } from '../instance.js';
import type { Backend, CallReport } from '../picker.js';
import type { LatencyEstimates } from './latency-estimates.js';
import { PowerOfChoicesPicker } from './power-of-choices-picker.js';

/**
 * Power of two random choices on latency: a backend's cost is its latency estimate times its
 * calls in flight plus one (Finagle's and Linkerd's peak EWMA), so a backend twice as fast
 * takes twice as many calls at once before it stops winning. Without backends nothing is in
 * flight: the member of the lower estimate wins. It learns from every call it chose, through
 * the estimates shared by every picker of its subscription.
 */
export class PeakEwmaPicker extends PowerOfChoicesPicker {
  readonly #estimates: LatencyEstimates;
  /** The estimates' slot of each member, and of each usable backend, by position. */
  readonly #ofMembers: Int32Array;
  #ofUsable = new Int32Array(0);

  /** `estimates` must already hold every one of `members` (see `LatencyEstimates.retain`). */
  constructor(
    members: readonly Instance[],
    estimates: LatencyEstimates,
    random: (() => number) | undefined,
    caller: string,
  ) {
    super(members, 2, random, caller);
    this.#estimates = estimates;
    this.#ofMembers = Int32Array.from(this.members, (member) => estimates.slotOf(member.address));
  }

  callEnded(report: CallReport): void {
    this.#estimates.observe(report);
  }

  protected override usableChanged(): void {
    const estimates = this.#estimates;
    this.#ofUsable = Int32Array.from(this.usable, (b) => estimates.slotOf(b.instance.address));
  }

  protected override costOfUsable({ inFlight }: Backend, position: number): number {
    return this.#estimates.costAt(this.#ofUsable[position] as number) * (inFlight + 1);
  }

  protected override costOfMember(position: number): number {
    return this.#estimates.costAt(this.#ofMembers[position] as number);
  }
}
