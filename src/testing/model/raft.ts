/**
 * One datacenter's Raft index, as its servers share it: every write (catalog or KV) takes the
 * next value, which only grows, and wakes the blocking queries waiting on it. Each store
 * remembers which index touched which of its tables or keys; a query reports the index of
 * the data it read and blocks until that index passes the one it was given.
 */
import { waitForWake } from './wait.js';

export class Raft {
  #index = 1;
  readonly #listeners = new Set<() => void>();

  /** The last index handed out. */
  get index(): number {
    return this.#index;
  }

  /**
   * Takes the next index and returns it. `apply` runs with it before any blocking query
   * wakes, so a woken query reads the new state.
   */
  commit(apply: (index: number) => void): number {
    this.#index += 1;
    apply(this.#index);
    // listeners may unsubscribe while we iterate
    for (const listener of [...this.#listeners]) listener();
    return this.#index;
  }

  /** Calls `listener` after every commit, until the returned function is called. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves once `currentIndex()` is above `minIndex`, after `timeoutMs`, or when `signal`
   * aborts: Consul's blocking query.
   */
  waitForChange(
    currentIndex: () => number,
    minIndex: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    const changed = () => currentIndex() > minIndex;
    if (changed() || signal.aborted) return Promise.resolve();
    return waitForWake(this.#listeners, changed, timeoutMs, signal);
  }
}
