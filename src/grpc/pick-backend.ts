import { connectivityState } from '@grpc/grpc-js';
import type { Address } from '../instance.js';
import type { Picker } from '../picker.js';

/** What the choice needs to know of a backend. */
interface Candidate {
  readonly state: connectivityState;
  /** Taken out of picking by outlier detection: used only when nothing better is left. */
  readonly ejected: boolean;
}

/** The outcome of choosing a backend for one call. */
export type PickOutcome<B> =
  | { readonly type: 'backend'; readonly backend: B }
  /** The picker has no instance. */
  | { readonly type: 'empty' }
  /** Every instance of the picker is one the call must avoid. */
  | { readonly type: 'exhausted' };

const EMPTY = Object.freeze({ type: 'empty' });
const EXHAUSTED = Object.freeze({ type: 'exhausted' });

/**
 * How good a backend is for a call now; lower is better, and READY is taken at once.
 * - READY: connected, the call goes out now.
 * - IDLE or CONNECTING: the call waits for the connection, which may fail.
 * - ejected by outlier detection, its connection not known to have failed.
 * - TRANSIENT_FAILURE or SHUTDOWN: grpc-js fails the call at once (or queues it).
 */
const READY = 0;
const CONNECTING = 1;
const EJECTED = 2;
const FAILED = 3;

function rank(backend: Candidate): number {
  const { state } = backend;
  if (state === connectivityState.TRANSIENT_FAILURE || state === connectivityState.SHUTDOWN) {
    return FAILED;
  }
  if (backend.ejected) return EJECTED;
  return state === connectivityState.READY ? READY : CONNECTING;
}

/**
 * Chooses the backend of one call: the picker's choice when it is READY and not in `avoid`.
 * Otherwise `pick()` is asked again, at most `size` times in all, which visits every instance
 * of a round-robin picker once, and the first READY one wins, as in grpc-js's round_robin,
 * which picks among READY subchannels only. So a backend that is reconnecting (after a
 * GOAWAY, say) or not yet connected gets no call while another is READY.
 *
 * With no READY backend, the best one seen is used (see `rank()`): IDLE or CONNECTING (the
 * call waits for the connection, as on a plain channel), then ejected ones, then
 * TRANSIENT_FAILURE ones, where grpc-js decides (it fails the call with UNAVAILABLE, or
 * queues it when the call is `waitForReady`), so that a call is never failed here for a
 * state that may already be over.
 */
export function pickBackend<B extends Candidate>(
  picker: Picker,
  lookup: (address: Address) => B | undefined,
  avoid: ReadonlySet<Address>,
): PickOutcome<B> {
  let best: B | undefined;
  let bestRank = FAILED;
  let bestAt = 0;
  let picked = false;
  for (let i = 0; i < picker.size; i++) {
    const instance = picker.pick();
    if (instance === undefined) break;
    picked = true;
    if (avoid.has(instance.address)) continue;
    const backend = lookup(instance.address);
    if (backend === undefined) continue;
    const candidate = rank(backend);
    if (candidate === READY) return { type: 'backend', backend };
    if (best === undefined || candidate < bestRank) {
      best = backend;
      bestRank = candidate;
      bestAt = i;
    }
  }
  if (!best) return picked ? EXHAUSTED : EMPTY;
  // After `size` picks a round-robin picker is back where it started, and would send every
  // call to the same backend while none is READY. Moving it past the one chosen, as a READY
  // choice does, rotates the calls over the equally good ones.
  for (let i = 0; i <= bestAt; i++) picker.pick();
  return { type: 'backend', backend: best };
}
