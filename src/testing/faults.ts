/** Fault injection for the test server: what to break, where, and how many times. */

/** Which requests a fault applies to, and how many of them. */
export interface FaultScope {
  /** Exact request path, e.g. `/v1/health/service/greeter`. Default: every path. */
  readonly path?: string;
  /** Default: every method. */
  readonly method?: 'GET' | 'PUT';
  /** How many matching requests it hits; `Infinity` for all. Default 1. */
  readonly count?: number;
}

/**
 * A fault {@link ConsulTestServer.inject} can apply to the next matching requests:
 * - `status`: answer with this HTTP status (and `body`, default Consul's text for it);
 * - `malformed`: answer 200 with a body that is not JSON;
 * - `body`: answer 200 with this JSON body instead of the real one (headers as usual), to
 *   play a Consul that lies: entries with missing fields, bad ports, a body not an array;
 * - `drop`: destroy the connection without answering;
 * - `hang`: never answer (until the client gives up or the server stops);
 * - `delay`: answer normally after `ms`;
 * - `index`: answer normally but with this `X-Consul-Index` (`null`: no header at all), to
 *   play an index that goes backwards, 0, or is missing.
 */
export type Fault = FaultScope &
  (
    | { readonly kind: 'status'; readonly status: number; readonly body?: string }
    | { readonly kind: 'malformed' }
    | { readonly kind: 'body'; readonly body: unknown }
    | { readonly kind: 'drop' }
    | { readonly kind: 'hang' }
    | { readonly kind: 'delay'; readonly ms: number }
    | { readonly kind: 'index'; readonly index: number | null }
  );

const KINDS = new Set(['status', 'malformed', 'body', 'drop', 'hang', 'delay', 'index']);

/** Consul's own bodies for the statuses tests inject most. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  403: 'Permission denied',
  429: 'Your IP is issuing too many concurrent connections, please rate limit your calls',
  500: 'rpc error making call: No cluster leader',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** The armed faults, in injection order; each request takes the first that matches. */
export class FaultQueue {
  readonly #armed: { fault: Fault; left: number }[] = [];

  add(fault: Fault): void {
    if (!KINDS.has(fault.kind)) throw new TypeError(`inject(): unknown fault kind "${fault.kind}"`);
    const count = fault.count ?? 1;
    if (!(count >= 1)) throw new TypeError('inject(): option "count" must be >= 1');
    if (fault.kind === 'status' && !(Number.isInteger(fault.status) && fault.status >= 400)) {
      throw new TypeError('inject(): option "status" must be an HTTP error status (>= 400)');
    }
    if (fault.kind === 'body' && JSON.stringify(fault.body) === undefined) {
      throw new TypeError('inject(): option "body" must be JSON');
    }
    if (fault.kind === 'delay' && !(fault.ms >= 0)) {
      throw new TypeError('inject(): option "ms" must be >= 0');
    }
    this.#armed.push({ fault, left: count });
  }

  clear(): void {
    this.#armed.length = 0;
  }

  /** Takes one use of the first armed fault that matches and is (or is not) an index fault. */
  take(method: string, path: string, index: boolean): Fault | undefined {
    const i = this.#armed.findIndex(
      ({ fault }) =>
        (fault.kind === 'index') === index &&
        (fault.path === undefined || fault.path === path) &&
        (fault.method === undefined || fault.method === method),
    );
    const armed = this.#armed[i];
    if (!armed) return undefined;
    armed.left -= 1;
    if (armed.left <= 0) this.#armed.splice(i, 1);
    return armed.fault;
  }
}
