import {
  type CallOptions,
  ClientError,
  type ClientMiddleware,
  type ClientMiddlewareCall,
  Metadata,
  Status,
} from 'nice-grpc-common';
import { MAX_TIMER_MS } from '../duration.js';
import { type OptionReader, readOptions } from '../read-options.js';
import { instruments } from '../telemetry/instruments.js';
import { type MeterProviderLike, readMeterProvider } from '../telemetry/meter.js';
import { ATTEMPT_KEY, type AttemptLog, closeAttemptLog, openAttemptLog } from './attempts.js';
import { RetryBudget } from './retry-budget.js';

/**
 * Options of {@link retryOnAnotherInstance}; each says its default.
 *
 * @example
 * ```ts
 * const factory = createClientFactory().use(retryOnAnotherInstance({ maxAttempts: 2 }));
 * ```
 */
export interface RetryOnAnotherInstanceOptions {
  /**
   * Attempts per call, the first one included, each on a different instance. `Infinity`
   * tries every instance once. Default 3.
   */
  readonly maxAttempts?: number;
  /**
   * How many retries the client may send, as Linkerd's `retryBudget` (and Finagle's
   * `RetryBudget`) bound them: over the last `ttl`, at most `retryRatio` of the calls plus
   * `minRetriesPerSecond × ttl`. A retry beyond the budget is not sent: the call fails with
   * the error of its attempt. With every backend failing, a call then costs at most
   * `1 + retryRatio` attempts (plus the floor), not `maxAttempts`: a fleet in trouble does not
   * get several times its load. One budget per middleware, shared by its calls. `false` turns
   * it off. Default `{ retryRatio: 0.2, minRetriesPerSecond: 10, ttl: 10_000 }`, Linkerd's.
   */
  readonly retryBudget?:
    | {
        readonly retryRatio?: number;
        readonly minRetriesPerSecond?: number;
        /** ms, or Go's text (`'10s'`). */
        readonly ttl?: number | string;
      }
    | false;
  /**
   * The wait before the `n`th retry is drawn uniformly from `[0, min(initialBackoff ×
   * backoffMultiplier^(n-1), maxBackoff))`, as gRFC A6 draws it: retries of many callers do not
   * arrive in step. In ms, or Go's text. Defaults: 10 ms, 100 ms, 2. An `initialBackoff` of 0
   * retries at once.
   */
  readonly initialBackoff?: number | string;
  readonly maxBackoff?: number | string;
  readonly backoffMultiplier?: number;
  /**
   * Where `rxlb.client.retries` goes: an OpenTelemetry `MeterProvider`. Default: the global
   * one of `@opentelemetry/api`, if the application has it; nothing without it.
   */
  readonly meterProvider?: MeterProviderLike;
}

/**
 * Call options added by {@link retryOnAnotherInstance}.
 *
 * @example
 * ```ts
 * // A call that must not run twice, even on UNAVAILABLE:
 * await payments.charge(request, { maxInstanceAttempts: 1 });
 * ```
 */
export interface RetryOnAnotherInstanceCallOptions {
  /** This call's `maxAttempts`; `1` turns the retry off for it. */
  maxInstanceAttempts?: number;
}

/** Defaults of {@link RetryOnAnotherInstanceOptions}, in one place. */
export const RETRY_DEFAULTS = Object.freeze({
  maxAttempts: 3,
  retryBudget: Object.freeze({ retryRatio: 0.2, minRetriesPerSecond: 10, ttl: 10_000 }),
  initialBackoff: 10,
  maxBackoff: 100,
  backoffMultiplier: 2,
});

const CALLER = 'retryOnAnotherInstance()';
const ATTEMPTS = { min: 1, integer: true } as const;

/**
 * The call as the middleware sends it, once per attempt. Streaming responses are passed on
 * as they come; `delivered` says whether one reached the caller.
 */
async function* attempt<Request, Response>(
  call: ClientMiddlewareCall<Request, Response>,
  options: CallOptions,
  progress: { delivered: boolean },
): AsyncGenerator<Response, Response | undefined, undefined> {
  if (!call.responseStream) return yield* call.next(call.request, options);
  for await (const response of call.next(call.request, options)) {
    progress.delivered = true;
    yield response;
  }
  return undefined;
}

/**
 * A nice-grpc client middleware that retries a call which failed with `UNAVAILABLE` on
 * another instance, never the same one twice, for channels made by
 * {@link createBalancedChannel}.
 *
 * - Unary and server-streaming calls are retried when they fail with `UNAVAILABLE` before
 *   any response message reached the caller; a stream that delivered a message is not.
 * - Client-streaming and bidi calls are never retried: their request stream has been
 *   consumed by the first attempt.
 * - A retry waits a random backoff (10 ms at most for the first, by default), is sent only
 *   while the retry budget allows (20 % of calls plus 10 a second, by default) and never
 *   after the caller's `signal` aborted; nice-grpc's own deadline middleware works through
 *   `signal`. A retry the budget refuses ends the call with its attempt's error.
 * - The caller's `onHeader` and `onTrailer` see every attempt, as with nice-grpc's
 *   `retryMiddleware`.
 * - A retry waits in the channel while the instances it has not tried are still connecting,
 *   as any call does.
 * - When the channel has no other instance to offer, the error of the last attempt made on
 *   an instance is thrown.
 *
 * On a channel that is not balanced by rxlb (a plain grpc-js channel, a `consul:` target) it
 * cannot choose another instance, so it never retries; the first call that shows it (one that
 * succeeds, or fails with `UNAVAILABLE`, without rxlb's channel seeing it) emits a process
 * warning, once per middleware: type `RxlbWarning`, code `RXLB_RETRY_NOT_BALANCED`. Calls go on
 * as without the middleware: a client factory may serve both kinds of channel.
 *
 * @example
 * ```ts
 * import { createClientFactory } from 'nice-grpc';
 * import { createBalancedChannel, retryOnAnotherInstance } from 'rxlb';
 *
 * const channel = createBalancedChannel(picker$, { name: 'greeter' });
 * const greeter = createClientFactory()
 *   .use(retryOnAnotherInstance({ maxAttempts: 3 }))
 *   .create(GreeterDefinition, channel);
 * await greeter.sayHello({ name: 'world' });                            // up to 3 instances
 * await greeter.sayHello({ name: 'once' }, { maxInstanceAttempts: 1 }); // no retry
 * ```
 */
export function retryOnAnotherInstance(
  options: RetryOnAnotherInstanceOptions = {},
): ClientMiddleware<RetryOnAnotherInstanceCallOptions> {
  const o = readOptions(CALLER, options, [
    'maxAttempts',
    'retryBudget',
    'initialBackoff',
    'maxBackoff',
    'backoffMultiplier',
    'meterProvider',
  ]);
  const defaultAttempts = o.number('maxAttempts', ATTEMPTS) ?? RETRY_DEFAULTS.maxAttempts;
  const budget = retryBudgetOf(o);
  const initialBackoff =
    o.duration('initialBackoff', { max: MAX_TIMER_MS }) ?? RETRY_DEFAULTS.initialBackoff;
  const maxBackoff = o.duration('maxBackoff', { max: MAX_TIMER_MS }) ?? RETRY_DEFAULTS.maxBackoff;
  const multiplier =
    o.number('backoffMultiplier', { min: 1, max: 1e6 }) ?? RETRY_DEFAULTS.backoffMultiplier;
  const metrics = instruments(readMeterProvider(o));
  let warned = false;
  /** Says once, at the first attempt that shows it, that the channel is not rxlb's. */
  const notice = (log: AttemptLog, method: string) => {
    if (log.seen || warned) return;
    warned = true;
    process.emitWarning(
      `${CALLER}: ${method} went out on a channel that is not rxlb's balanced channel (a plain ` +
        'grpc-js channel, a consul: target...), so its calls are never retried: only a ' +
        'channel made by createBalancedChannel() can send a retry to an instance the call has ' +
        "not tried. Give the client such a channel, or use grpc-js's retryPolicy in the " +
        "channel's service config.",
      { type: 'RxlbWarning', code: 'RXLB_RETRY_NOT_BALANCED' },
    );
  };

  return async function* retryOnAnotherInstanceMiddleware<Request, Response>(
    call: ClientMiddlewareCall<Request, Response>,
    callOptions: CallOptions & Partial<RetryOnAnotherInstanceCallOptions>,
  ): AsyncGenerator<Response, Response | undefined, undefined> {
    const { maxInstanceAttempts, ...rest } = callOptions;
    const maxAttempts =
      maxInstanceAttempts === undefined
        ? defaultAttempts
        : (readOptions(CALLER, { maxInstanceAttempts }, ['maxInstanceAttempts']).number(
            'maxInstanceAttempts',
            ATTEMPTS,
          ) ?? defaultAttempts);
    budget?.deposit();
    if (call.requestStream || maxAttempts === 1) {
      return yield* attempt(call, rest, { delivered: false });
    }

    const log = openAttemptLog();
    const metadata = Metadata(rest.metadata);
    metadata.set(ATTEMPT_KEY, log.token);
    let lastError: unknown;
    try {
      for (let n = 1; ; n++) {
        const progress = { delivered: false };
        const tried = log.tried.size;
        try {
          const response = yield* attempt(call, { ...rest, metadata }, progress);
          notice(log, call.method.path);
          return response;
        } catch (error: unknown) {
          const unavailable = error instanceof ClientError && error.code === Status.UNAVAILABLE;
          if (unavailable) notice(log, call.method.path);
          if (!unavailable || progress.delivered) throw error;
          // It went out on no backend: the channel had no other to offer (or is not rxlb's).
          if (log.tried.size === tried) throw lastError ?? error;
          if (n >= maxAttempts || rest.signal?.aborted) throw error;
          const method = { 'grpc.method': call.method.path };
          if (budget && !budget.tryWithdraw()) {
            if (metrics.enabled) metrics.retriesThrottled.add(1, method);
            throw error;
          }
          const cap = Math.min(initialBackoff * multiplier ** (n - 1), maxBackoff);
          if (cap > 0) await sleep(Math.random() * cap, rest.signal);
          if (rest.signal?.aborted) throw error;
          if (metrics.enabled) metrics.retries.add(1, method);
          lastError = error;
        }
      }
    } finally {
      closeAttemptLog(log);
    }
  };
}

/** The middleware's retry budget, or none when `retryBudget` is false. */
function retryBudgetOf(o: OptionReader): RetryBudget | undefined {
  if (o.raw('retryBudget') === false) return undefined;
  const defaults = RETRY_DEFAULTS.retryBudget;
  const b = o.nested('retryBudget', ['retryRatio', 'minRetriesPerSecond', 'ttl']);
  return new RetryBudget(
    b?.number('retryRatio', { min: 0, max: 1000 }) ?? defaults.retryRatio,
    b?.number('minRetriesPerSecond', { min: 0, max: 1e9 }) ?? defaults.minRetriesPerSecond,
    b?.duration('ttl', { min: 1, max: MAX_TIMER_MS }) ?? defaults.ttl,
  );
}

/** Resolves after `ms`, or at once when `signal` aborts; leaves no timer behind. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
