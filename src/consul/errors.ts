import http from 'node:http';

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
  /**
   * Consul answered 2xx with a body that is not the expected JSON; or the server is not
   * Consul at all (a 2xx with no `X-Consul-*` header and a body that is not JSON: a web page),
   * which the message says: `http://10.0.0.5:80 is not a Consul agent: ...`.
   */
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

/** Fields papi puts on the errors it rejects with. */
export interface PapiError extends Error {
  isAbort?: boolean;
  isTimeout?: boolean;
  isCodec?: boolean;
  isResponse?: boolean;
  code?: string;
  response?: { statusCode?: number; body?: unknown; headers?: http.IncomingHttpHeaders };
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS|ERR_SSL|EPROTO|HOSTNAME/;
const MAX_CAUSES = 4;

/**
 * Maps a failed request to a {@link ConsulError}. papi (the HTTP layer under `consul`) hangs
 * the response on its errors, and the response holds the request with its `X-Consul-Token`
 * header: a logger that prints an error's `cause` deeply would print the token. So the
 * ConsulError's cause is a copy that keeps only what diagnoses the failure, and every text
 * that came from the network is scrubbed of the token.
 *
 * @param at What failed and where, e.g. `health query for "greeter" at http://127.0.0.1:8500`.
 * @param token The ACL token, scrubbed from every text the error carries.
 */
export function toConsulError(error: unknown, at: string, token: string | undefined): ConsulError {
  const scrub = scrubber(token);
  if (!(error instanceof Error)) {
    return new ConsulError('ERR_CONSUL_UNREACHABLE', `${at} failed: ${scrub(String(error))}`);
  }
  const e = error as PapiError;
  const inner = e.cause instanceof Error ? (e.cause as PapiError) : e;
  const cause = diagnosis(error, scrub);
  if (e.isTimeout) return new ConsulError('ERR_CONSUL_TIMEOUT', `${at} timed out`, { cause });
  const status = e.isResponse ? e.response?.statusCode : undefined;
  if (status !== undefined) {
    const text = bodyText(e.response?.body, scrub) || http.STATUS_CODES[status] || 'error';
    return new ConsulError('ERR_CONSUL_HTTP', `${at} failed: HTTP ${status} ${text}`, {
      statusCode: status,
      cause,
    });
  }
  if (e.isCodec) {
    return new ConsulError('ERR_CONSUL_BAD_RESPONSE', `${at} returned malformed JSON`, { cause });
  }
  const code = inner.code ?? e.code;
  if (code !== undefined && TLS_CODES.test(code)) {
    const message = `${at} failed TLS: ${code} (${scrub(inner.message)})`;
    return new ConsulError('ERR_CONSUL_TLS', message, { cause });
  }
  const reason = code ?? scrub(inner.message);
  return new ConsulError('ERR_CONSUL_UNREACHABLE', `${at} failed: ${reason}`, { cause });
}

const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json$/i;
const SNIPPET = 60;

/**
 * The error for a 2xx answer that cannot have come from Consul, or undefined: one without any
 * `X-Consul-*` header (every answer of Consul 1.9 and later has `X-Consul-Default-ACL-Policy`,
 * every read `X-Consul-Index`) whose body is not JSON, or any body at all where Consul sends
 * none (`expectsBody` false: a registration). An empty answer of an older Consul passes.
 *
 * @param what The request, e.g. `health query for "greeter"`.
 * @param origin Where it went, `http://127.0.0.1:8500`.
 */
export function notConsulError(
  response: Pick<http.IncomingMessage, 'statusCode' | 'headers'>,
  body: unknown,
  { what, origin, token, expectsBody }: NotConsulContext,
): ConsulError | undefined {
  const { statusCode = 0, headers } = response;
  if (statusCode < 200 || statusCode > 299) return undefined;
  if (Object.keys(headers).some((name) => name.toLowerCase().startsWith('x-consul-'))) {
    return undefined;
  }
  const text = Buffer.isBuffer(body)
    ? body.toString('utf8')
    : typeof body === 'string'
      ? body
      : undefined;
  const empty = body === undefined || body === null || text === '';
  const type =
    String(headers['content-type'] ?? '')
      .split(';', 1)[0]
      ?.trim() ?? '';
  if (empty || (expectsBody && JSON_TYPE.test(type))) return undefined;
  const scrub = scrubber(token);
  const shown = text === undefined ? '' : scrub(text.replace(/\s+/g, ' ').trim());
  const snippet = shown.length > SNIPPET ? `${shown.slice(0, SNIPPET)}…` : shown;
  return new ConsulError(
    'ERR_CONSUL_BAD_RESPONSE',
    `${origin} is not a Consul agent: ${what} got HTTP ${statusCode}` +
      `${type === '' ? '' : ` (${type})`} without any X-Consul-* header` +
      `${snippet === '' ? '' : `: ${JSON.stringify(snippet)}`}` +
      ` (is the address right? Consul's HTTP API listens on port 8500 by default)`,
  );
}

/** What {@link notConsulError} says and expects of an answer. */
export interface NotConsulContext {
  readonly what: string;
  readonly origin: string;
  readonly token: string | undefined;
  /** Whether Consul answers this request with a JSON body (a read), or none (a write). */
  readonly expectsBody: boolean;
}

function scrubber(token: string | undefined): (text: string) => string {
  if (token === undefined || token === '') return (text) => text;
  return (text) => text.replaceAll(token, '[token]');
}

/**
 * A plain copy of an error and its causes: name, message, code and stack, scrubbed; none of
 * the objects (request, response, socket) that the original carries.
 */
function diagnosis(error: unknown, scrub: (text: string) => string, depth = 0): Error | undefined {
  if (!(error instanceof Error) || depth >= MAX_CAUSES) return undefined;
  const cause = diagnosis(error.cause, scrub, depth + 1);
  const copy = new Error(scrub(error.message), cause === undefined ? undefined : { cause });
  copy.name = error.name;
  copy.stack = scrub(error.stack ?? '');
  const { code } = error as PapiError;
  if (typeof code === 'string') Object.assign(copy, { code });
  return copy;
}

/** The first line of a response body, scrubbed, then cut to 200 characters. */
function bodyText(body: unknown, scrub: (text: string) => string): string {
  const raw = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : '';
  const text = scrub(raw);
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
