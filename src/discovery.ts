/**
 * What discovery tells a balanced channel besides the members: the service's name, and why
 * there is no set yet while it has never produced one. grpc-js's resolvers hand the same to
 * their load balancer with the addresses; rxlb's stages are plain RxJS operators over plain
 * values, so the word travels on the values themselves, from sets to update batches to
 * pickers, under a symbol: a value that never came from discovery simply has none. A leaf,
 * like `notify.ts`: every room may use it.
 *
 * The status is one live object per discovery subscription: `unresolved` clears the moment
 * discovery answers, even when that answer changes nothing downstream. It is up to date
 * before the value of an answer is emitted, so a subscriber reading it when the value arrives
 * learns about that answer (its `index`), not the one before.
 */
export interface DiscoveryStatus {
  /** The discovered service, e.g. Consul's service name. */
  readonly service: string;
  /**
   * Why discovery has no set: set only while it has never produced one and its attempts
   * fail (e.g. `health query for "greeter" at http://127.0.0.1:8500 failed: ECONNREFUSED`).
   */
  readonly unresolved: string | undefined;
  /**
   * The version of discovery's last answer, for discoveries that number them: Consul's
   * `X-Consul-Index` as the answer carried it (undefined before the first answer and when it
   * carried none). Live as the rest: read it when the value arrives, later answers move it.
   */
  readonly index?: number | undefined;
}

// A registered symbol, so that values keep their status across two copies of rxlb.
const STATUS = Symbol.for('rxlb.discovery');

/** The discovery status `value` carries, if it came from discovery. */
export function discoveryOf(value: unknown): DiscoveryStatus | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const status: unknown = (value as { [STATUS]?: unknown })[STATUS];
  return typeof status === 'object' && status !== null ? (status as DiscoveryStatus) : undefined;
}

/**
 * Makes `value` carry `status` (when there is one), as a hidden property: it is not
 * enumerated, copied by spreads or compared by equality checks. `value` must not be frozen
 * yet. Returns `value`.
 */
export function withDiscovery<T extends object>(value: T, status: DiscoveryStatus | undefined): T {
  if (status !== undefined && discoveryOf(value) !== status) {
    Object.defineProperty(value, STATUS, { value: status, configurable: true });
  }
  return value;
}
