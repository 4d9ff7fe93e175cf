import {
  type CallOptions,
  ClientError,
  type ClientMiddleware,
  type ClientMiddlewareCall,
  Metadata,
  Status,
} from 'nice-grpc-common';
import { readOptions } from '../read-options.js';
import { instruments } from '../telemetry/instruments.js';
import { type MeterProviderLike, readMeterProvider } from '../telemetry/meter.js';
import { ATTEMPT_KEY, closeAttemptLog, openAttemptLog } from './attempts.js';

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
const RETRY_DEFAULTS = Object.freeze({ maxAttempts: 3 });

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
 * - A retry is sent at once (the next instance is another server), and never after the
 *   caller's `signal` aborted; nice-grpc's own deadline middleware works through `signal`.
 * - The caller's `onHeader` and `onTrailer` see every attempt, as with nice-grpc's
 *   `retryMiddleware`.
 * - A retry waits in the channel while the instances it has not tried are still connecting,
 *   as any call does.
 * - When the channel has no other instance to offer, the error of the last attempt made on
 *   an instance is thrown.
 *
 * On a channel that is not balanced by rxlb it never retries.
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
  const o = readOptions(CALLER, options, ['maxAttempts', 'meterProvider']);
  const defaultAttempts = o.number('maxAttempts', ATTEMPTS) ?? RETRY_DEFAULTS.maxAttempts;
  const metrics = instruments(readMeterProvider(o));

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
          return yield* attempt(call, { ...rest, metadata }, progress);
        } catch (error: unknown) {
          const retryable =
            !progress.delivered &&
            error instanceof ClientError &&
            error.code === Status.UNAVAILABLE;
          if (!retryable) throw error;
          // It went out on no backend: the channel had no other to offer (or is not rxlb's).
          if (log.tried.size === tried) throw lastError ?? error;
          if (n >= maxAttempts || rest.signal?.aborted) throw error;
          if (metrics.enabled) metrics.retries.add(1, { 'grpc.method': call.method.path });
          lastError = error;
        }
      }
    } finally {
      closeAttemptLog(log);
    }
  };
}
