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
 *
 * Each member has a slot, and what a pick reads is in typed arrays by slot: at 10,000 members,
 * an object per member cost a pick two cache misses.
 */
export class LatencyEstimates {
  /** Each member's slot; slot 0 is no member's, and never known. */
  readonly #slots = new Map<Address, number>();
  readonly #free: number[] = [];
  #used = 1;
  /** By slot: the cost a pick reads, NaN while the member has had no report. */
  costs = new Float64Array(8).fill(Number.NaN);
  /** By slot: the estimate (NaN while none), and the time of the last report. */
  #values = new Float64Array(8).fill(Number.NaN);
  #at = new Float64Array(8);
  /** The members' slots, for the turn of redrawing. */
  #turnOrder = new Int32Array(0);
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
      if (!this.#slots.has(address)) this.#slots.set(address, this.#takeSlot());
    }
    for (const [address, slot] of this.#slots) {
      if (addresses.has(address)) continue;
      this.#slots.delete(address);
      const value = this.#values[slot] as number;
      if (!Number.isNaN(value)) this.#account(-value, -1);
      this.#values[slot] = Number.NaN;
      this.costs[slot] = Number.NaN;
      this.#free.push(slot);
    }
    this.#turnOrder = Int32Array.from(this.#slots.values());
    this.#turn = 0;
  }

  /** The slot of the member at `address`: 0, never known, for a stranger. */
  slotOf(address: Address): number {
    return this.#slots.get(address) ?? 0;
  }

  /** The cost a pick reads for the member in `slot`: its own once known, else the neutral cost. */
  costAt(slot: number): number {
    const cost = this.costs[slot] as number;
    return Number.isNaN(cost) ? this.neutral : cost;
  }

  /** What is known of the member at `address`, for tests and diagnostics. */
  estimateOf(address: Address): { readonly value: number; readonly cost: number } | undefined {
    const slot = this.#slots.get(address);
    const value = slot === undefined ? Number.NaN : (this.#values[slot] as number);
    return Number.isNaN(value) ? undefined : { value, cost: this.costAt(slot ?? 0) };
  }

  /** Learns from the end of a call; see the class's rules. */
  observe(report: CallReport): void {
    const now = this.now();
    this.#redrawNext(now);
    const slot = this.#slots.get(report.instance.address);
    const { durationMs, code, connectionFailure } = report;
    if (slot === undefined || !(durationMs >= 0)) return;
    const value = this.#values[slot] as number;
    const before = Number.isNaN(value) ? this.neutral : value;
    let sample = durationMs;
    if (connectionFailure || FAILURES.has(code)) sample = Math.max(sample, 2 * before);
    else if (code === CANCELLED && sample <= before) return;
    this.#update(slot, Math.min(Math.max(sample, FLOOR_MS), CEILING_MS), now);
  }

  #update(slot: number, sample: number, now: number): void {
    const before = this.#values[slot] as number;
    let value = sample;
    if (Number.isNaN(before)) {
      this.#account(sample, +1);
    } else {
      if (sample < before) {
        const kept = Math.exp(-Math.max(0, now - (this.#at[slot] as number)) / this.decayMs);
        value = before * kept + sample * (1 - kept);
      }
      this.#account(value - before, 0);
    }
    this.#values[slot] = value;
    this.costs[slot] = value;
    this.#at[slot] = now;
  }

  /** Decays the cost of the next member in turn by the time since its last report. */
  #redrawNext(now: number): void {
    const order = this.#turnOrder;
    if (order.length === 0) return;
    const slot = order[this.#turn] as number;
    this.#turn = this.#turn + 1 < order.length ? this.#turn + 1 : 0;
    const value = this.#values[slot] as number;
    if (Number.isNaN(value)) return;
    const elapsed = Math.max(0, now - (this.#at[slot] as number));
    this.costs[slot] = value * Math.exp(-elapsed / this.decayMs);
  }

  #account(value: number, count: number): void {
    this.#sum += value;
    this.#known += count;
    if (this.#known === 0) this.#sum = 0; // no drift carried over from the values that left
    this.neutral = this.#known > 0 ? this.#sum / this.#known : 1;
  }

  #takeSlot(): number {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    if (this.#used === this.costs.length) {
      const grow = (old: Float64Array, fill: number) => {
        const grown = new Float64Array(old.length * 2).fill(fill);
        grown.set(old);
        return grown;
      };
      this.costs = grow(this.costs, Number.NaN);
      this.#values = grow(this.#values, Number.NaN);
      this.#at = grow(this.#at, 0);
    }
    return this.#used++;
  }
}
