/** Fault injection for the test server: what to break, where, and how many times. */
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MutableRecord } from './request-log.js';
import type { Reply } from './routes.js';

/**
 * Which requests a fault applies to, and how many of them.
 *
 * @example
 * ```ts
 * // the next two health queries for dc2 that this server receives are refused
 * consul.inject({ kind: 'status', status: 503, path: '/v1/health/service/greeter', datacenter: 'dc2', count: 2 });
 * ```
 */
export interface FaultScope {
  /** Exact request path, e.g. `/v1/health/service/greeter`. Default: every path. */
  readonly path?: string;
  /** Default: every method. */
  readonly method?: 'GET' | 'PUT' | 'DELETE';
  /**
   * Only requests for this datacenter: those whose `dc` query parameter names it, or, for
   * this server's own datacenter, those without one. Default: every datacenter.
   */
  readonly datacenter?: string;
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
 *
 * @example
 * ```ts
 * consul.inject({ kind: 'drop', method: 'GET' }); // the next GET gets no answer at all
 * consul.inject({ kind: 'index', index: 1, path: '/v1/health/service/greeter' }); // index goes back
 * ```
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
  take(
    request: { readonly method: string; readonly path: string; readonly datacenter: string },
    index: boolean,
  ): Fault | undefined {
    const i = this.#armed.findIndex(
      ({ fault }) =>
        (fault.kind === 'index') === index &&
        (fault.path === undefined || fault.path === request.path) &&
        (fault.method === undefined || fault.method === request.method) &&
        (fault.datacenter === undefined || fault.datacenter === request.datacenter),
    );
    const armed = this.#armed[i];
    if (!armed) return undefined;
    armed.left -= 1;
    if (armed.left <= 0) this.#armed.splice(i, 1);
    return armed.fault;
  }
}

/**
 * What `fault` does to an answer: the reply to send (the same, delayed, or another), or
 * `undefined` when none is to be sent (dropped, hung, or the request went away meanwhile).
 */
export async function strike(
  fault: Fault | undefined,
  reply: Reply,
  request: {
    readonly record: MutableRecord;
    readonly socket: Socket;
    readonly signal: AbortSignal;
  },
): Promise<Reply | undefined> {
  switch (fault?.kind) {
    case 'drop':
      request.record.outcome = 'dropped';
      request.socket.destroy();
      return undefined;
    case 'hang':
      return undefined; // until the client or stop() ends it
    case 'delay':
      // node's own sleep: rejects at once when the request goes away, leaving nothing behind
      await sleep(fault.ms, undefined, { signal: request.signal }).catch(() => {});
      return request.signal.aborted ? undefined : reply;
    case 'status':
      return { status: fault.status, text: fault.body ?? STATUS_TEXT[fault.status] ?? 'error' };
    case 'body':
      return okWith(reply, JSON.stringify(fault.body));
    case 'malformed':
      return okWith(reply, '[{"Node": {"Node": "rxlb-test-node", "Addr');
    default:
      return reply;
  }
}

/** A 200 answer with this raw JSON instead of the reply's own body or error text. */
function okWith({ text: _text, bytes: _bytes, ...reply }: Reply, raw: string): Reply {
  return { ...reply, status: 200, raw };
}
