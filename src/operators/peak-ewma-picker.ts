import type { Instance } from '../instance.js';
import type { Backend, CallReport } from '../picker.js';
import type { Estimate, LatencyEstimates } from './latency-estimates.js';
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
  /** The estimate of each member, and of each usable backend, by position. */
  readonly #ofMembers: readonly Readonly<Estimate>[];
  #ofUsable: readonly Readonly<Estimate>[] = [];

  /** `estimates` must already hold every one of `members` (see `LatencyEstimates.retain`). */
  constructor(
    members: readonly Instance[],
    estimates: LatencyEstimates,
    random: () => number,
    caller: string,
  ) {
    super(members, 2, random, caller);
    this.#estimates = estimates;
    this.#ofMembers = members.map((member) => estimates.of(member.address));
  }

  callEnded(report: CallReport): void {
    this.#estimates.observe(report);
  }

  protected override usableChanged(): void {
    this.#ofUsable = this.usable.map((backend) => this.#estimates.of(backend.instance.address));
  }

  protected override costOfUsable(position: number): number {
    const estimate = this.#ofUsable[position] as Estimate;
    const backend = this.usable[position] as Backend;
    return this.#estimates.costOf(estimate) * (backend.inFlight + 1);
  }

  protected override costOfMember(position: number): number {
    return this.#estimates.costOf(this.#ofMembers[position] as Estimate);
  }
}
