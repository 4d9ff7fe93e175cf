/** Fault injection for the test server: what to break, where, and how many times. */
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type OptionReader, readOptions } from '../../read-options.js';
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

/** Consul's own bodies for the statuses tests inject most. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  403: 'Permission denied',
  429: 'Your IP is issuing too many concurrent connections, please rate limit your calls',
  500: 'rpc error making call: No cluster leader',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

const SCOPE_KEYS = ['kind', 'path', 'method', 'datacenter', 'count'];
const KIND_KEYS: Readonly<Record<Fault['kind'], readonly string[]>> = {
  status: ['status', 'body'],
  malformed: [],
  body: ['body'],
  drop: [],
  hang: [],
  delay: ['ms'],
  index: ['index'],
};

/** Checks a fault, with a `TypeError` naming what is wrong; returns how many it hits. */
function checkFault(fault: unknown): number {
  const kind = readOptions('inject()', fault, [
    ...SCOPE_KEYS,
    'status',
    'body',
    'ms',
    'index',
  ]).oneOf('kind', Object.keys(KIND_KEYS) as Fault['kind'][]);
  if (kind === undefined) throw new TypeError('inject(): option "kind" must be given');
  const f: OptionReader = readOptions('inject()', fault, [...SCOPE_KEYS, ...KIND_KEYS[kind]]);
  f.string('path');
  f.oneOf('method', ['GET', 'PUT', 'DELETE']);
  f.string('datacenter');
  const count = f.number('count', { min: 1, integer: true }) ?? 1;
  if (kind === 'status') {
    const status = f.number('status', { min: 400, max: 599, integer: true });
    if (status === undefined) f.fail('status', 'an HTTP error status (400 to 599)');
    f.string('body');
  }
  if (kind === 'body' && JSON.stringify(f.raw('body')) === undefined) f.fail('body', 'JSON');
  if (kind === 'delay' && f.ms('ms') === undefined) f.fail('ms', 'a number of ms');
  if (kind === 'index' && f.raw('index') !== null) {
    if (f.number('index', { min: 0, integer: true }) === undefined) {
      f.fail('index', 'an integer >= 0, or null for no X-Consul-Index');
    }
  }
  return count;
}

/** The armed faults, in injection order; each request takes the first that matches. */
export class FaultQueue {
  readonly #armed: { fault: Fault; left: number }[] = [];

  add(fault: Fault): void {
    this.#armed.push({ fault, left: checkFault(fault) });
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
