/**
 * A retry budget, as Finagle's `RetryBudget` and Linkerd's `retryBudget` keep one: retries are
 * allowed while, over the last `ttl`, they stay under `retryRatio` of the calls plus
 * `minRetriesPerSecond × ttl`. The ratio keeps a fleet in trouble from getting several times
 * its load (every call failing: at most 1 + `retryRatio` attempts per call, plus the floor);
 * the floor lets a client with little traffic still retry. gRFC A6's `retryThrottling` is
 * gRPC's form of the same idea (a token bucket that failures drain).
 *
 * Time is kept in `SLOTS` slots of `ttl / SLOTS`, brought up to date when the budget is used:
 * no timer.
 */
export class RetryBudget {
  static readonly SLOTS = 10;
  readonly #calls = new Float64Array(RetryBudget.SLOTS);
  readonly #retries = new Float64Array(RetryBudget.SLOTS);
  readonly #slotMs: number;
  /** The slot of the latest use, counted from the epoch of `now()` (which must not go below 0). */
  #at = Number.NEGATIVE_INFINITY;
  #callSum = 0;
  #retrySum = 0;

  constructor(
    readonly retryRatio: number,
    readonly minRetriesPerSecond: number,
    readonly ttlMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#slotMs = ttlMs / RetryBudget.SLOTS;
  }

  /** A call begins: it adds `retryRatio` of a retry to the budget. */
  deposit(): void {
    const slot = this.#advance();
    this.#calls[slot] = (this.#calls[slot] as number) + 1;
    this.#callSum++;
  }

  /** Whether a retry may go out now; if so, it is taken from the budget. */
  tryWithdraw(): boolean {
    const slot = this.#advance();
    const reserve = (this.minRetriesPerSecond * this.ttlMs) / 1000;
    if (this.#retrySum + 1 > this.#callSum * this.retryRatio + reserve) return false;
    this.#retries[slot] = (this.#retries[slot] as number) + 1;
    this.#retrySum++;
    return true;
  }

  /** Empties the slots that fell out of the window since it was last used; returns the current. */
  #advance(): number {
    const slots = RetryBudget.SLOTS;
    const at = Math.floor(this.now() / this.#slotMs);
    const gone = at - this.#at;
    if (gone >= slots) {
      this.#calls.fill(0);
      this.#retries.fill(0);
      this.#callSum = 0;
      this.#retrySum = 0;
    } else {
      for (let i = 1; i <= gone; i++) {
        const slot = (this.#at + i) % slots;
        this.#callSum -= this.#calls[slot] as number;
        this.#retrySum -= this.#retries[slot] as number;
        this.#calls[slot] = 0;
        this.#retries[slot] = 0;
      }
    }
    if (gone > 0) this.#at = at;
    return this.#at % slots;
  }
}
