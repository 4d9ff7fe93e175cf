import type { Instance } from './instance.js';

/**
 * Decides which backend serves one call. A policy operator (`roundRobin()`, ...) emits a new
 * immutable picker over the current *members* after every update batch; the balanced channel
 * owns the *backends* (connections, ejections, calls in flight) and, on every call, asks the
 * latest picker to choose among the members that are usable now. As in grpc-js, the watching
 * (connection states) and the deciding (`pick()`) are split: the channel rebuilds its view of
 * usable backends whenever a connection changes state or a new picker arrives, and a call with
 * no usable backend waits in the channel, not on a backend.
 *
 * This file is the whole contract between policies and the channel: the channel relies on
 * nothing a picker does that is not written here, and a policy may rely on everything the
 * channel promises here.
 *
 * What a picker promises:
 * - `instances` and `size` never change once it is emitted.
 * - `pick(backends)` returns the instance of one of `backends.usable`, in O(1) amortised time
 *   (O(log n) at most) whatever the number of members, and without allocating. A picker that
 *   returns anything else does not break the channel, which then rotates over `usable`
 *   itself, but it has lost its say.
 * - `pick()` without `backends` chooses among all `instances` as if all were usable, and
 *   returns `undefined` only when there are none. It serves callers that have no connections
 *   (tests, benchmarks, another kind of client).
 *
 * What the channel promises:
 * - It calls `pick(backends)` only with a non-empty `usable`, and calls with no usable backend
 *   wait (or fail, see `createBalancedChannel()`) without asking the picker.
 * - `usable` is the same array, with the same objects, until the set of usable members
 *   changes; then it is a new array. A policy may therefore cache what it derives from it
 *   (a position, a schedule) and recompute only when the array differs.
 * - `usable` lists members in the order of `instances`, each at most once.
 * - A {@link Backend}'s `inFlight` is live: it counts calls as they start and end.
 * - `callEnded`, when the picker has it, is told of every call that a `pick(backends)` of
 *   this picker chose, once, when it ends, and never inside `pick()`.
 *
 * @example
 * ```ts
 * import type { Backends, Instance, Picker } from 'rxlb';
 *
 * // The first usable member, always: a policy for a primary with standbys.
 * function primaryFirst(instances: readonly Instance[]): Picker {
 *   return {
 *     instances,
 *     size: instances.length,
 *     pick: (backends?: Backends) => (backends ? backends.usable[0]?.instance : instances[0]),
 *   };
 * }
 * ```
 */
export interface Picker {
  /**
   * The backend for the next call: the instance of one of `backends.usable`; or, without
   * `backends`, one of `instances` (`undefined` when there is none).
   */
  pick(backends?: Backends): Instance | undefined;
  /** How many instances this picker chooses from. */
  readonly size: number;
  /** The members this picker chooses from, in its own order. */
  readonly instances: readonly Instance[];
  /**
   * Told how a call that this picker chose ended, for policies that learn from outcomes
   * (latency, errors). Optional: most policies need only `inFlight`.
   */
  callEnded?(report: CallReport): void;
}

/** One member as the channel sees it at the moment of a pick; read-only for the policy. */
export interface Backend {
  /** The member, as the latest picker lists it. */
  readonly instance: Instance;
  /** Calls the channel started on it (on the wire) that have not ended yet. */
  readonly inFlight: number;
}

/** The channel's view of a picker's members, handed to every `pick()`. */
export interface Backends {
  /**
   * The members usable now: connected (READY in gRPC's terms) and not ejected by outlier
   * detection, in the order of the picker's `instances`. Never empty. The same array until
   * that set changes.
   */
  readonly usable: readonly Backend[];
}

/** How a call the channel sent where a picker chose ended: see `Picker.callEnded`. */
export interface CallReport {
  /** The member that served it. */
  readonly instance: Instance;
  /** From the moment the call went out on its connection to its status, in ms. */
  readonly durationMs: number;
  /** Its gRPC status code: 0 (OK) or an error such as 14 (UNAVAILABLE). */
  readonly code: number;
  /**
   * Whether it failed for its connection (UNAVAILABLE that the client made up: refused,
   * reset or dropped) rather than with a status a server sent.
   */
  readonly connectionFailure: boolean;
}
