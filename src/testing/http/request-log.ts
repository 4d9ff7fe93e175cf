/** The test server's record of the requests it received: the most recent ones, bounded. */

/**
 * A request the server received, for assertions. Never holds more than the request did.
 *
 * @example
 * ```ts
 * const last = consul.requests.at(-1);
 * expect(last).toMatchObject({ method: 'GET', path: '/v1/health/service/greeter', outcome: 'answered' });
 * expect(new URLSearchParams(last?.query).get('index')).toBe(String(consul.index));
 * ```
 */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** The raw query string, without `?`. */
  readonly query: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** `performance.now()` when it arrived. */
  readonly receivedAt: number;
  /**
   * `pending` while open; `answered` once the response was sent; `closed-by-client` when the
   * client went away first; `dropped` when a `drop` fault cut it; `stopped` when the server
   * stopped with it open.
   */
  readonly outcome: 'pending' | 'answered' | 'closed-by-client' | 'dropped' | 'stopped';
  /** The status sent, when answered. */
  readonly status: number | undefined;
}

export type MutableRecord = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] };

/** How many requests the log keeps by default. */
export const DEFAULT_REQUEST_LOG_SIZE = 10_000;

/** Keeps the last `size` requests; counts them all. */
export class RequestLog {
  readonly #size: number;
  readonly #entries: MutableRecord[] = [];
  #count = 0;

  constructor(size: number) {
    this.#size = size;
  }

  add(record: MutableRecord): void {
    this.#count += 1;
    if (this.#size === 0) return;
    this.#entries.push(record);
    // trimming in batches keeps adding O(1) amortised
    if (this.#entries.length >= 2 * this.#size) this.#entries.splice(0, this.#size);
  }

  /** The most recent requests, oldest first. */
  get entries(): readonly RecordedRequest[] {
    return this.#entries.length > this.#size ? this.#entries.slice(-this.#size) : this.#entries;
  }

  /** Every request received since the start or the last `clear()`, kept or not. */
  get count(): number {
    return this.#count;
  }

  clear(): void {
    this.#entries.length = 0;
    this.#count = 0;
  }
}
