import { status } from '@grpc/grpc-js';
import type { Instance } from '../instance.js';
import type { Backend, BackendHealth } from '../picker.js';
import { type CallOutcome, countOf } from './call-outcome.js';

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
 * What the backends of one channel share of their measurements: the decay, the mean of the
 * known latency estimates (what a backend with none yet reports), and the turn in which call
 * ends refresh the members' decay. A member that gets no call is refreshed only in turn: with
 * `n` members and `r` calls a second, each is refreshed every `n / r` seconds, and no pick
 * ever reads a clock.
 */
export class LoadBoard {
  /** The latency a backend with no estimate reports: the mean of the known ones, 1 while none. */
  neutral = 1;
  #sum = 0;
  #known = 0;
  #members: readonly BackendLoad[] = [];
  #turn = 0;

  constructor(
    /** How fast measurements fade, in ms (the channel's `decayMs`). */
    readonly decayMs: number,
    /** Failures in a row at which a backend asks to be reviewed (Infinity: never). */
    readonly failureThreshold: number,
  ) {}

  /** The members whose decay call ends refresh in turn. */
  set members(members: readonly BackendLoad[]) {
    this.#members = members;
    this.#turn = 0;
  }

  /** Moves the sum of the known estimates by `value`, and their count by `count`. */
  account(value: number, count: number): void {
    this.#sum += value;
    this.#known += count;
    if (this.#known === 0) this.#sum = 0; // no drift carried over from the values that left
    this.neutral = this.#known > 0 ? this.#sum / this.#known : 1;
  }

  /** Refreshes the decay of the next member in turn, to `now`. */
  refreshNext(now: number): void {
    const members = this.#members;
    if (members.length === 0) return;
    if (this.#turn >= members.length) this.#turn = 0;
    (members[this.#turn++] as BackendLoad).refresh(now);
  }
}

/**
 * What the channel measures of one backend, as tower keeps `PeakEwma` on each endpoint: its
 * calls in flight, a peak-EWMA latency estimate, and its recent successes and failures (see
 * {@link Backend} for each one's meaning and unit), and the exact counts of the current
 * interval of outlier detection. Calls end here, and their outcome goes no further: policies
 * and outlier detection read these figures. The one thing a call's end can say beyond them
 * is that the backend's failures in a row reached the board's threshold: its owner then
 * hears of it as of a change of state.
 */
export abstract class BackendLoad implements Backend {
  abstract readonly instance: Instance;
  abstract readonly health: BackendHealth;
  inFlight = 0;
  successes = 0;
  failures = 0;
  /** Failures in a row while READY and not ejected, since the last success. */
  consecutiveFailures = 0;
  /** Its calls that succeeded and failed since outlier detection's last sweep: exact counts. */
  intervalSuccesses = 0;
  intervalFailures = 0;
  /** The estimate (NaN while none), and the cost picks read: the estimate decayed. */
  #estimate = Number.NaN;
  #cost = Number.NaN;
  /** When the estimate and the counts were last brought up to date. */
  #at = 0;
  /** When the estimate last learned from a call. */
  #sampledAt = 0;

  constructor(protected readonly board: LoadBoard) {}

  get latencyMs(): number {
    const cost = this.#cost;
    return Number.isNaN(cost) ? this.board.neutral : cost; // NaN: no estimate yet
  }

  /** Its own estimate, undecayed since its last call ended: NaN before its first. */
  get estimateMs(): number {
    return this.#estimate;
  }

  /** A call went out on it. */
  started(): void {
    this.inFlight++;
  }

  /**
   * A call on it ended, `durationMs` after it went out, with `code` (see `countOf()`).
   * Its failures in a row count only while `counting` (READY and not ejected: a failure while
   * the connection is down is explained by that). Returns whether this call's failure brought
   * its failures in a row to the board's threshold, or beyond it: outlier detection should
   * review it.
   */
  ended(now: number, durationMs: number, code: status, counting: boolean): boolean {
    this.inFlight--;
    this.refresh(now);
    this.board.refreshNext(now);
    const count = countOf(code);
    this.#learn(now, durationMs, code, count);
    if (count === 'success') {
      this.successes++;
      this.intervalSuccesses++;
      if (counting) this.consecutiveFailures = 0;
    } else if (count === 'failure') {
      this.failures++;
      this.intervalFailures++;
      if (counting) return ++this.consecutiveFailures >= this.board.failureThreshold;
    }
    return false;
  }

  /** Decays the cost and the counts to `now`, by the time since they were last brought up to date. */
  refresh(now: number): void {
    const elapsed = now - this.#at;
    if (!(elapsed > 0)) return;
    const kept = Math.exp(-elapsed / this.board.decayMs);
    this.successes *= kept;
    this.failures *= kept;
    const estimate = this.#estimate;
    if (!Number.isNaN(estimate)) this.#cost = this.#cost * kept;
    this.#at = now;
  }

  /** Forgets it: it left the members, and its estimate leaves the neutral mean. */
  forget(): void {
    const estimate = this.#estimate;
    if (!Number.isNaN(estimate)) this.board.account(-estimate, -1);
    this.#estimate = Number.NaN;
    this.#cost = Number.NaN;
  }

  /**
   * The peak EWMA (Finagle's, tower's): a sample above the estimate replaces it at once; one
   * below moves it towards the sample by `1 - exp(-Δ / decayMs)`, Δ the time since the
   * previous sample. A failure counts as at least twice the estimate (or the neutral cost
   * while none), so each failure in a row doubles it; a cancelled call can only raise it.
   */
  #learn(now: number, durationMs: number, code: status, count: CallOutcome): void {
    if (!(durationMs >= 0)) return;
    const before = this.#estimate;
    const known = !Number.isNaN(before);
    let sample = durationMs;
    const reference = known ? before : this.board.neutral;
    if (
      count === 'failure' ||
      code === status.DEADLINE_EXCEEDED ||
      code === status.RESOURCE_EXHAUSTED
    ) {
      sample = Math.max(sample, 2 * reference);
    } else if (code === status.CANCELLED && sample <= reference) {
      return;
    }
    sample = Math.min(Math.max(sample, FLOOR_MS), CEILING_MS);
    let value = sample;
    if (!known) {
      this.board.account(sample, +1);
    } else {
      if (sample < before) {
        const kept = Math.exp(-Math.max(0, now - this.#sampledAt) / this.board.decayMs);
        value = before * kept + sample * (1 - kept);
      }
      this.board.account(value - before, 0);
    }
    this.#estimate = value;
    this.#cost = value;
    this.#sampledAt = now;
  }
}
