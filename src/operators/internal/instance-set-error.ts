/** Why {@link diff} could not read a source emission. Stable: callers may branch on it. */
export type InstanceSetErrorCode =
  /** An address string, or an instance's `address`, is not `host:port` / `[ipv6]:port`. */
  | 'ERR_INVALID_ADDRESS'
  /** An element is neither an address string nor an object shaped like an `Instance`. */
  | 'ERR_INVALID_INSTANCE'
  /** The emission is neither an `InstanceSet` (a map) nor an iterable. */
  | 'ERR_INVALID_INSTANCE_SET';

/**
 * A source emission that {@link diff} cannot read as a set of instances. `diff()` emits it as
 * the stream's error rather than dropping the bad element, so a typo in a static list fails
 * loudly. The message names the bad value and its position in the emission.
 *
 * @example
 * ```ts
 * of(['10.0.0.1:80', '10.0.0.2']).pipe(diff()).subscribe({
 *   error: (error) => {
 *     if (error instanceof InstanceSetError && error.code === 'ERR_INVALID_ADDRESS') {
 *       console.error(error.message); // diff(): element 1 has a malformed address "10.0.0.2"; ...
 *     }
 *   },
 * });
 * ```
 */
export class InstanceSetError extends Error {
  override readonly name = 'InstanceSetError';
  readonly code: InstanceSetErrorCode;
  /** The offending value: the element, or the whole emission for `ERR_INVALID_INSTANCE_SET`. */
  readonly value: unknown;
  /** The element's position in the emission (iteration order); undefined for the emission. */
  readonly index: number | undefined;

  constructor(code: InstanceSetErrorCode, message: string, value: unknown, index?: number) {
    super(message);
    this.code = code;
    this.value = value;
    this.index = index;
  }
}
