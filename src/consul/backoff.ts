import type { WatchConfig } from './options.js';

/** Exponential backoff with "equal jitter": within [d/2, d] where d doubles up to maxMs. */
export function backoffDelay(
  attempt: number,
  { initialMs, maxMs }: WatchConfig['backoff'],
): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
