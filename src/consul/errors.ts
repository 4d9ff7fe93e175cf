/** Why one request to Consul failed. Stable: callers may branch on it. */
export type ConsulErrorCode =
  /** Connection refused, reset or dropped before an answer; DNS failure. */
  | 'ERR_CONSUL_UNREACHABLE'
  /** No complete answer within the HTTP timeout (`wait` + `wait`/16 + 1 s). */
  | 'ERR_CONSUL_TIMEOUT'
  /** The TLS handshake failed: unknown CA, bad client certificate, wrong host name. */
  | 'ERR_CONSUL_TLS'
  /** Consul answered with a non-2xx status (`statusCode` says which: 403 ACL, 429, 5xx, ...). */
  | 'ERR_CONSUL_HTTP'
  /** Consul answered 2xx with a body that is not the expected JSON. */
  | 'ERR_CONSUL_BAD_RESPONSE';

/**
 * A failed request to Consul. Messages name the service and Consul's address, never the
 * ACL token. `cause` is a plain copy of the underlying error (name, message, code, stack,
 * and its own causes), never the HTTP request or response, which carry the token header.
 *
 * @example
 * ```ts
 * consulInstances$('greeter', {
 *   onError: ({ error }) => {
 *     if (error.code === 'ERR_CONSUL_HTTP' && error.statusCode === 403) alertOps(error.message);
 *   },
 * });
 * ```
 */
export class ConsulError extends Error {
  override readonly name = 'ConsulError';
  readonly code: ConsulErrorCode;
  /** HTTP status for `ERR_CONSUL_HTTP`. */
  readonly statusCode: number | undefined;

  constructor(
    code: ConsulErrorCode,
    message: string,
    options: { statusCode?: number | undefined; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.statusCode = options.statusCode;
  }
}
