import type { Instance } from './instance.js';

/**
 * Decides which backend serves one call. A picker is immutable: when membership changes,
 * the operator that built it emits a new one, so a picker never changes under a caller.
 *
 * `pick()` is on the path of every call: it must be O(1) and allocate nothing.
 */
export interface Picker {
  /** The backend for the next call, or `undefined` when there is none. */
  pick(): Instance | undefined;
  /** How many instances this picker chooses from. */
  readonly size: number;
  /** The instances this picker chooses from, in its cycling order. */
  readonly instances: readonly Instance[];
}
