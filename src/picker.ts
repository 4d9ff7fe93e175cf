import type { DiscoveryStatus } from './discovery.js';
import type { Instance } from './instance.js';

/**
 * Decides which backend serves one call. A policy operator (`roundRobin()`, ...) emits a new
 * immutable picker over the current *members* after every update batch; the balanced channel
 * owns the *backends* (connections, ejections, and what it measures of each call) and, on
 * every call, asks the latest picker to choose among the members that are usable now. As in
 * grpc-js, the watching (connection states) and the deciding (`pick()`) are split; as in
 * tower, the channel measures and the picker only reads: a call's outcome is recorded on the
 * {@link Backend} that served it and goes no further.
 *
 * This file is the whole contract between policies and the channel: the channel relies on
 * nothing a picker does that is not written here, and a policy may rely on everything the
 * channel promises here. `policyOperator()` builds an operator that keeps this contract from
 * a function of the members.
 *
 * What a picker promises:
 * - `instances` never changes once it is emitted. A member's identity is its `address`:
 *   the channel keeps one backend (one connection) per address, and two members at one
 *   address are one backend.
 * - `pick(backends)` returns the instance of one of `backends.usable`, in O(1) amortised time
 *   (O(log n) at most) whatever the number of members, and without allocating. A picker that
 *   returns anything else, or throws, does not break the channel, which then rotates over
 *   `usable` itself, but it has lost its say for that call.
 * - `pick()` without `backends` chooses among all `instances` as if all were usable, and
 *   returns `undefined` only when there are none. It serves callers that have no connections
 *   (tests, benchmarks, another kind of client): nothing is measured there.
 * - A picker may read the {@link Call} it is handed, during `pick()` only: the channel reuses
 *   the object for the next call, so a picker that keeps it would read another call.
 * - `discovery`, when present, is what discovery said with the members (see
 *   {@link DiscoveryStatus}); the channel reads it for its messages. `policyOperator()` sets
 *   it from the update batches.
 *
 * What the channel promises:
 * - It calls `pick(backends, call)` only with a non-empty `usable`, and calls with no usable
 *   backend wait (or fail, see `createBalancedChannel()`) without asking the picker.
 * - `call` says what the pick may know of the call (its method and request metadata) and costs
 *   nothing to a policy that ignores it: one object per channel picker, nothing allocated per
 *   call; a header is read (and joined) only when a policy asks for it.
 * - `usable` is the same array, with the same objects, until the set of usable members
 *   changes; then it is a new array. A policy may therefore cache what it derives from it
 *   (a position, a schedule) and recompute only when the array differs.
 * - `usable` lists members in the order of `instances`, each at most once.
 * - A {@link Backend}'s measurements are live: the channel updates them as calls start and
 *   end, and a pick reads them as they are at that moment, without reading a clock.
 * - A backend is usable while its connection is READY, its health service says it is serving
 *   (when the channel checks health: see {@link BackendHealth}) and outlier detection has
 *   not ejected it (if every such backend is ejected, those: see `createBalancedChannel()`).
 *
 * @example
 * ```ts
 * import type { Backends, Instance, Picker } from 'rxlb';
 *
 * // The first usable member, always: a policy for a primary with standbys.
 * function primaryFirst(instances: readonly Instance[]): Picker {
 *   return {
 *     instances,
 *     pick: (backends?: Backends) => (backends ? backends.usable[0]?.instance : instances[0]),
 *   };
 * }
 * ```
 */
export interface Picker {
  /**
   * The backend for the next call: the instance of one of `backends.usable`; or, without
   * `backends`, one of `instances` (`undefined` when there is none). `call`, when given, is
   * what is known of the call (see {@link Call}); valid during this `pick()` only.
   */
  pick(backends?: Backends, call?: Call): Instance | undefined;
  /** The members this picker chooses from, in its own order. */
  readonly instances: readonly Instance[];
  /** What discovery said with these members, if they came from discovery. */
  readonly discovery?: DiscoveryStatus;
  /**
   * The locality (zone) of a member, as a policy that routes by zone reads it (`zoneAware()`
   * sets it). The balanced channel then labels each call attempt's metrics with the picked
   * member's (`grpc.lb.locality`, gRPC's label for it; `''` for a member in no zone), so that
   * the share of calls kept in the caller's zone can be read. Absent: no such label.
   */
  readonly localityOf?: (instance: Instance) => string | undefined;
}

/**
 * One member's backend as the channel measures it at the moment of a pick; read-only for the
 * policy. Measured from the channel's side, per attempt: a call retried on another backend
 * counts once on each.
 */
export interface Backend {
  /** The member, as the latest picker lists it. */
  readonly instance: Instance;
  /** Calls the channel started on it (on the wire) that have not ended yet. */
  readonly inFlight: number;
  /**
   * How long its calls take, in ms, from the moment one goes out to its status: a
   * peak-sensitive moving average (Finagle's and tower's peak EWMA). A call slower than the
   * estimate replaces it at once; a faster one moves it towards its time by
   * `1 - exp(-Δ / decayMs)`, Δ the time since its previous call ended. A call that failed for
   * the backend's sake counts as at least twice the estimate, so a backend that fails fast
   * never looks fast; a cancelled call can raise it, never lower it. While it gets no call
   * the estimate decays towards 0 by `exp(-Δ / decayMs)`, so that a backend once slow is
   * tried again. Before its first call ends: the mean of the other members' estimates, or 1
   * while none has one (so that costs compare calls in flight). Always above 0.
   */
  readonly latencyMs: number;
  /**
   * Its calls that ended OK or with an answer of the server's (an application error such as
   * NOT_FOUND), recently: each counts `exp(-age / decayMs)`, so this is about the calls of
   * the last `decayMs` (10 s by default). Fractional.
   */
  readonly successes: number;
  /**
   * Its calls that failed for the backend's sake, recently, counted as `successes` are: a lost
   * connection, UNAVAILABLE, INTERNAL, UNKNOWN or DATA_LOSS (see docs/failures.md).
   * Fractional.
   */
  readonly failures: number;
  /**
   * What its health service says of it, when the channel checks health (gRFC A17): see
   * {@link BackendHealth}. A backend in `usable` is always `'SERVING'`, `'UNIMPLEMENTED'` (its
   * server has no health service) or `'UNCHECKED'` (the channel does not check health): a
   * policy never sees an unhealthy backend, and may tell a checked one from an unchecked one.
   */
  readonly health: BackendHealth;
}

/**
 * What a backend's health service says of it, by `grpc.health.v1`'s names, when the balanced
 * channel checks health (gRFC A17: its `healthCheck` option, or `healthCheckConfig` in the
 * service config). The channel keeps one `Health/Watch` stream on each backend's connection:
 * - `'SERVING'`: its last answer; it takes calls.
 * - `'NOT_SERVING'`, `'SERVICE_UNKNOWN'` (its server knows no such service name) or
 *   `'UNKNOWN'`: its last answer; it takes no call until it answers `'SERVING'`.
 * - `'PENDING'`: no answer yet on its current connection (or it has none yet); it takes no
 *   call until one comes, as A17 says (calls wait for it, they do not fail).
 * - `'UNIMPLEMENTED'`: its server has no health service; it takes calls, as A17 says.
 * - `'UNCHECKED'`: the channel does not check health (the default); it takes calls.
 *
 * A lost connection keeps its last answer; the next connection starts `'PENDING'`.
 */
export type BackendHealth =
  | 'SERVING'
  | 'NOT_SERVING'
  | 'SERVICE_UNKNOWN'
  | 'UNKNOWN'
  | 'PENDING'
  | 'UNIMPLEMENTED'
  | 'UNCHECKED';

/** The channel's view of a picker's members, handed to every `pick()`. */
export interface Backends {
  /**
   * The members usable now: connected (READY in gRPC's terms), serving by their health service
   * (when the channel checks health) and not ejected by outlier detection, in the order of the picker's `instances`. Never empty. The same array until
   * that set changes.
   */
  readonly usable: readonly Backend[];
}

/**
 * What a pick may know of the call it chooses a backend for: its method and its request
 * metadata, read-only, and free of any gRPC type (a policy never imports grpc-js). Valid only
 * during the `pick()` it is handed to: the channel reuses the object.
 */
export interface Call {
  /**
   * The call's full method, `/package.Service/Method`, when the channel knows it (rxlb's
   * balanced channel does while its metrics are on: grpc-js hands a picker no method, and the
   * channel learns it through the config selector it installs for them); empty otherwise.
   */
  readonly method: string;
  /** The call's request metadata. */
  readonly metadata: CallMetadata;
}

/** A read-only view of a call's request metadata (gRPC headers). */
export interface CallMetadata {
  /**
   * The text value of header `key` (lower case, as gRPC keeps them), several values joined
   * with `,` as HTTP/2 would join them (gRFC A76); `undefined` when the call has none, and
   * for binary (`-bin`) headers.
   */
  get(key: string): string | undefined;
}
