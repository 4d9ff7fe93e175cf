import type { Address, Instance } from '../instance.js';
import type { CallReport } from '../picker.js';

// gRPC status codes (operators never import grpc).
const CANCELLED = 1;
/** Statuses by which a backend failed a call rather than answered it. */
const FAILURES: ReadonlySet<number> = new Set([
  2, // UNKNOWN
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED
  13, // INTERNAL
  14, // UNAVAILABLE
  15, // DATA_LOSS
]);

/**
 * No estimate exceeds an hour, so that a backend whose estimate doubled with every one of a
 * long run of failures (every backend failing, say) can come back, and never reaches Infinity.
 */
export const CEILING_MS = 3_600_000;
/**
 * No sample counts less than a microsecond, so that no estimate is 0: a cost is the estimate
 * times the calls in flight plus one, and those must always count.
 */
export const FLOOR_MS = 0.001;

/** One member's latency estimate, in ms. */
export class Estimate {
  /** Whether a call has reported yet: until then, the member costs the neutral cost. */
  known = false;
  /** The peak-sensitive moving average of its call times. */
  value = 0;
  /** What a pick reads: `value`, decayed towards zero while no call reports. */
  cost = 0;
  /** The scheduler's time of its last report. */
  at = 0;
}

const UNKNOWN: Readonly<Estimate> = Object.freeze(new Estimate());

/**
 * The latency estimates of `peakEwma()`, one per member, kept across the pickers of one
 * subscription and forgotten for members that leave. What a call's report does:
 *
 * - A sample above the estimate replaces it at once (the "peak"); one below moves it towards
 *   the sample by `1 - exp(-Δ / decayMs)`, Δ the time since the member's last report: the
 *   longer it has been, the more the new sample counts (Finagle's and tower's `PeakEwma`).
 * - A failure (a lost connection, or UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL,
 *   UNAVAILABLE, DATA_LOSS) counts as a sample of at least twice the member's estimate (the
 *   neutral cost while it has none): a backend that fails fast never looks fast, and each
 *   failure in a row doubles its estimate. Any other status is an answer, and its time a
 *   sample.
 * - A cancelled call says only that the backend took at least that long: it can raise the
 *   estimate, never lower it.
 * - A member with no report yet costs the neutral cost: the mean of the known estimates (1
 *   while none is known, so that picks compare calls in flight only).
 *
 * A member that gets no call keeps its estimate, but the cost picks read decays towards zero
 * by `exp(-Δ / decayMs)`, as in tower and Finagle, so that a backend avoided for being slow is
 * tried again once its cost falls below the others' (and avoided again at its first slow
 * answer if it is still slow). Rather than reading the clock on every pick, each report
 * redraws one member's cost, in turn: with `n` members and `r` calls a second, every cost is
 * redrawn every `n / r` seconds. A member that reports often is barely touched: Δ is short.
 */
export class LatencyEstimates {
  readonly #byAddress = new Map<Address, Estimate>();
  /** Every member's estimate, for the turn of redrawing. */
  #all: Estimate[] = [];
  #turn = 0;
  /** The sum and the number of the known values, for the neutral cost. */
  #sum = 0;
  #known = 0;
  /** What a member with no estimate costs. */
  neutral = 1;

  constructor(
    private readonly decayMs: number,
    private readonly now: () => number,
  ) {}

  /** Keeps the estimates of `members`, starts one for each newcomer, forgets the others'. */
  retain(members: readonly Instance[]): void {
    const addresses = new Set<Address>();
    for (const { address } of members) {
      addresses.add(address);
      if (!this.#byAddress.has(address)) this.#byAddress.set(address, new Estimate());
    }
    for (const [address, estimate] of this.#byAddress) {
      if (addresses.has(address)) continue;
      this.#byAddress.delete(address);
      if (estimate.known) this.#account(-estimate.value, -1);
    }
    this.#all = [...this.#byAddress.values()];
    this.#turn = 0;
  }

  /** The estimate of the member at `address` (a frozen unknown one for a stranger). */
  of(address: Address): Readonly<Estimate> {
    return this.#byAddress.get(address) ?? UNKNOWN;
  }

  /** The cost a pick reads for `estimate`: its own once known, else the neutral cost. */
  costOf(estimate: Readonly<Estimate>): number {
    return estimate.known ? estimate.cost : this.neutral;
  }

  /** Learns from the end of a call; see the class's rules. */
  observe(report: CallReport): void {
    const now = this.now();
    this.#redrawNext(now);
    const estimate = this.#byAddress.get(report.instance.address);
    const { durationMs, code, connectionFailure } = report;
    if (estimate === undefined || !(durationMs >= 0)) return;
    const before = estimate.known ? estimate.value : this.neutral;
    let sample = durationMs;
    if (connectionFailure || FAILURES.has(code)) sample = Math.max(sample, 2 * before);
    else if (code === CANCELLED && sample <= before) return;
    this.#update(estimate, Math.min(Math.max(sample, FLOOR_MS), CEILING_MS), now);
  }

  #update(estimate: Estimate, sample: number, now: number): void {
    const before = estimate.value;
    if (!estimate.known) {
      estimate.known = true;
      estimate.value = sample;
      this.#account(sample, +1);
    } else {
      if (sample >= before) {
        estimate.value = sample;
      } else {
        const kept = Math.exp(-Math.max(0, now - estimate.at) / this.decayMs);
        estimate.value = before * kept + sample * (1 - kept);
      }
      this.#account(estimate.value - before, 0);
    }
    estimate.cost = estimate.value;
    estimate.at = now;
  }

  /** Decays the cost of the next member in turn by the time since its last report. */
  #redrawNext(now: number): void {
    const estimate = this.#all[this.#turn];
    this.#turn = this.#turn + 1 < this.#all.length ? this.#turn + 1 : 0;
    if (estimate === undefined || !estimate.known) return;
    estimate.cost = estimate.value * Math.exp(-Math.max(0, now - estimate.at) / this.decayMs);
  }

  #account(value: number, count: number): void {
    this.#sum += value;
    this.#known += count;
    if (this.#known === 0) this.#sum = 0; // no drift carried over from the values that left
    this.neutral = this.#known > 0 ? this.#sum / this.#known : 1;
  }
}
