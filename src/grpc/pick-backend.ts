import { connectivityState } from '@grpc/grpc-js';
import type { Address } from '../instance.js';
import type { Picker } from '../picker.js';

/** What the choice needs to know of a backend. */
interface Candidate {
  readonly state: connectivityState;
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

/** A backend a call can be sent to now: anything but TRANSIENT_FAILURE and SHUTDOWN. */
function isUsable(backend: Candidate): boolean {
  return (
    backend.state !== connectivityState.TRANSIENT_FAILURE &&
    backend.state !== connectivityState.SHUTDOWN
  );
}

/**
 * Chooses the backend of one call: the picker's choice, unless it is in `avoid` or not
 * usable (TRANSIENT_FAILURE: its connection failed and grpc-js would fail the call at once).
 * Then `pick()` is asked again, at most `size` times in all, which visits every instance of
 * a round-robin picker once, and the first usable one wins.
 *
 * IDLE and CONNECTING backends count as usable: a call sent there waits for the connection,
 * as on a plain channel. When no backend outside `avoid` is usable, one more `pick()` (the
 * first one again, for round robin) is used anyway and grpc-js decides (it fails the call
 * with UNAVAILABLE, or queues it when the call is `waitForReady`), so that a call is never
 * failed here for a state that may already be over.
 */
export function pickBackend<B extends Candidate>(
  picker: Picker,
  lookup: (address: Address) => B | undefined,
  avoid: ReadonlySet<Address>,
): PickOutcome<B> {
  let fallback: B | undefined;
  let picked = false;
  for (let i = 0; i < picker.size; i++) {
    const instance = picker.pick();
    if (instance === undefined) break;
    picked = true;
    if (avoid.has(instance.address)) continue;
    const backend = lookup(instance.address);
    if (backend === undefined) continue;
    if (isUsable(backend)) return { type: 'backend', backend };
    fallback ??= backend;
  }
  if (!fallback) return picked ? EXHAUSTED : EMPTY;
  // One more pick, so that calls keep rotating while no backend is usable: after `size`
  // picks a round-robin picker is back where it started and would send them all to one.
  const next = picker.pick();
  const backend = next && !avoid.has(next.address) ? lookup(next.address) : undefined;
  return { type: 'backend', backend: backend ?? fallback };
}
