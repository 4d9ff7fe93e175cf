import { randomBytes } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import type { Address } from '../instance.js';

/**
 * How {@link retryOnAnotherInstance} and the balanced channel share what one call has tried.
 * A client middleware cannot choose a backend, only the channel can, and the channel cannot
 * see the middleware's options, only each attempt's request metadata. So:
 *
 * 1. The middleware opens an {@link AttemptLog} for the call and sends its token under
 *    {@link ATTEMPT_KEY} in the request metadata of every attempt.
 * 2. The channel's pick takes the key off the metadata it is about to send (no server ever
 *    sees it), picks among the usable backends the log does not list, and adds a backend to
 *    the log the moment a call actually goes out on it.
 * 3. After a failed attempt, the middleware retries only if the log grew: an attempt that
 *    reached no backend (no other instance to offer, or a channel that is not rxlb's) ends it.
 *
 * On any other channel nothing reads the key, so the middleware never retries, and the
 * header of the first attempt goes to the server like any other metadata. The log's `seen`
 * tells the middleware which case it is in, so that it can say so.
 */
export const ATTEMPT_KEY = 'rxlb-attempt';

/** The backends one call has gone out on, across its attempts. */
export interface AttemptLog {
  readonly token: string;
  readonly tried: Set<Address>;
  /** Whether a balanced channel's pick has read the key: the call is on rxlb's channel. */
  seen: boolean;
}

// Shared through the global object, so that a middleware and a channel from two copies of
// rxlb (ESM and CJS, say) still meet; tokens carry a per-copy prefix so they never collide.
const REGISTRY = Symbol.for('rxlb.attempts');
const holder = globalThis as { [REGISTRY]?: Map<string, AttemptLog> };
holder[REGISTRY] ??= new Map();
const logs: Map<string, AttemptLog> = holder[REGISTRY];
const prefix = randomBytes(6).toString('hex');
let counter = 0;

/** Opens a log for one call; {@link closeAttemptLog} must follow. */
export function openAttemptLog(): AttemptLog {
  counter = counter === Number.MAX_SAFE_INTEGER ? 1 : counter + 1;
  const log: AttemptLog = { token: `${prefix}.${counter}`, tried: new Set(), seen: false };
  logs.set(log.token, log);
  return log;
}

export function closeAttemptLog(log: AttemptLog): void {
  logs.delete(log.token);
}

/**
 * The log of the call whose (per-pick copy of) metadata this is, if any; removes the key from
 * that metadata, so that the attempt goes out without it.
 */
export function takeAttemptLog(metadata: Metadata): AttemptLog | undefined {
  const values = metadata.get(ATTEMPT_KEY);
  if (values.length === 0) return undefined;
  metadata.remove(ATTEMPT_KEY);
  const [token] = values;
  const log = typeof token === 'string' ? logs.get(token) : undefined;
  if (log) log.seen = true;
  return log;
}
