import type { Address } from '../instance.js';

/**
 * How {@link retryOnAnotherInstance} and the balanced channel talk about one attempt of a
 * call. A client middleware cannot choose a backend, only the channel can, and the channel
 * cannot see the middleware's options, only the request metadata. So:
 *
 * 1. The middleware sends {@link AVOID_KEY} in the request metadata: the addresses this call
 *    already tried, comma-separated (an empty value when none). Its presence also asks the
 *    channel to say which backend it chose.
 * 2. The channel removes the key before anything is sent, picks a backend outside the list,
 *    and adds {@link BACKEND_KEY} (the chosen address) to the call's trailers, whether the
 *    backend or the channel ended the call. A call that failed before any backend was chosen
 *    (no instance, deadline, closed channel) carries no {@link BACKEND_KEY}.
 * 3. The middleware reads and removes {@link BACKEND_KEY} in its `onTrailer`, before the
 *    caller's `onTrailer` sees the trailers.
 *
 * On a balanced channel both keys stay inside the client process: neither reaches a server
 * nor a caller. On any other channel nothing answers step 1, so the middleware never retries
 * (no {@link BACKEND_KEY} comes back), and the (empty) {@link AVOID_KEY} header of the first
 * attempt goes to the server like any other metadata.
 */
export const AVOID_KEY = 'rxlb-avoid';

/** See {@link AVOID_KEY}. */
export const BACKEND_KEY = 'rxlb-backend';

/** The value of {@link AVOID_KEY} for these addresses. */
export function encodeAvoid(addresses: Iterable<Address>): string {
  return [...addresses].join(',');
}

/** The addresses listed by the values of {@link AVOID_KEY}, however they were split. */
export function decodeAvoid(values: readonly unknown[]): ReadonlySet<Address> {
  const addresses = new Set<Address>();
  for (const value of values) {
    if (typeof value !== 'string') continue;
    for (const address of value.split(',')) {
      const trimmed = address.trim();
      if (trimmed !== '') addresses.add(trimmed);
    }
  }
  return addresses;
}
