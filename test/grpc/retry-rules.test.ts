/**
 * The rules of retryOnAnotherInstance(), against a stand-in for the balanced channel: each
 * attempt takes its call's attempt log off the metadata as the channel's pick does, goes out on
 * the first backend the log does not list (and adds it), or fails with UNAVAILABLE without
 * reaching one when every backend has been tried. Time is vitest's fake timers where backoffs
 * matter.
 */
import { getEventListeners } from 'node:events';
import { Metadata as GrpcMetadata } from '@grpc/grpc-js';
import {
  type CallOptions,
  ClientError,
  type ClientMiddlewareCall,
  Metadata,
  Status,
} from 'nice-grpc-common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ATTEMPT_KEY, openAttemptLog, takeAttemptLog } from '../../src/grpc/attempts.js';
import {
  type RetryOnAnotherInstanceCallOptions,
  type RetryOnAnotherInstanceOptions,
  retryOnAnotherInstance,
} from '../../src/grpc/retry-on-another-instance.js';

/** How a backend answers: with a reply, or an error of this code and details. */
type Answer = 'ok' | { code: Status; details: string };

interface Attempt {
  backend: string | undefined;
  /** When it went out, by Date.now() (fake while fake timers are on). */
  at: number;
  /** Whether its metadata still carried the middleware's key when it went out. */
  keyed: boolean;
}

/**
 * A channel of `backends` (address → answer). `balanced: false` plays a plain grpc-js channel:
 * it reads no key, and every attempt goes to the first backend.
 */
function channel(backends: Record<string, Answer>, { balanced = true } = {}) {
  const attempts: Attempt[] = [];
  function call(requestStream = false): ClientMiddlewareCall<string, string> {
    async function* next(_request: unknown, options: CallOptions): AsyncGenerator<never, string> {
      const metadata = new GrpcMetadata();
      const token = options.metadata?.get(ATTEMPT_KEY);
      if (token !== undefined) metadata.set(ATTEMPT_KEY, token);
      const log = balanced ? takeAttemptLog(metadata) : undefined;
      const address = Object.keys(backends).find((a) => !log?.tried.has(a));
      attempts.push({ backend: address, at: Date.now(), keyed: token !== undefined && !balanced });
      if (address === undefined)
        throw new ClientError('/echo/Unary', Status.UNAVAILABLE, 'no backend');
      log?.tried.add(address);
      const answer = backends[address] as Answer;
      if (answer === 'ok') return `reply of ${address}`;
      throw new ClientError('/echo/Unary', answer.code, answer.details);
    }
    return {
      method: {
        path: '/echo/Unary',
        requestStream,
        responseStream: false,
        options: {},
      },
      requestStream,
      request: requestStream ? (async function* () {})() : 'request',
      responseStream: false,
      next,
    } as unknown as ClientMiddlewareCall<string, string>;
  }
  return { attempts, call };
}

/** Runs a unary call through the middleware; resolves with its reply or the error it threw. */
async function run(
  middleware: ReturnType<typeof retryOnAnotherInstance>,
  call: ClientMiddlewareCall<string, string>,
  options: CallOptions & Partial<RetryOnAnotherInstanceCallOptions> = {},
): Promise<unknown> {
  const generator = middleware(call, options);
  try {
    let step = await generator.next();
    while (!step.done) step = await generator.next();
    return step.value;
  } catch (error) {
    return error;
  }
}

const down = (details: string): Answer => ({ code: Status.UNAVAILABLE, details });

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('retryOnAnotherInstance, by its rules', () => {
  it('waits min(initialBackoff × multiplier^(n-1), maxBackoff) × a uniform draw before the nth retry', async () => {
    vi.useFakeTimers({ now: 0 });
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const options: RetryOnAnotherInstanceOptions = {
      maxAttempts: 5,
      retryBudget: false,
      initialBackoff: '1s',
      backoffMultiplier: 3,
      maxBackoff: 5_000,
    };
    const { attempts, call } = channel({
      a: down('a'),
      b: down('b'),
      c: down('c'),
      d: down('d'),
      e: 'ok',
    });
    const reply = run(retryOnAnotherInstance(options), call());
    await vi.runAllTimersAsync();
    expect(await reply).toBe('reply of e');
    const gaps = attempts.slice(1).map((attempt, i) => attempt.at - (attempts[i] as Attempt).at);
    // half of 1 s, 3 s, then of the 5 s cap (9 s and 27 s are above it)
    expect(gaps).toEqual([500, 1_500, 2_500, 2_500]);
  });

  it('retries at once with initialBackoff 0', async () => {
    vi.useFakeTimers({ now: 0 });
    const { attempts, call } = channel({ a: down('a'), b: 'ok' });
    const reply = run(retryOnAnotherInstance({ initialBackoff: 0, retryBudget: false }), call());
    await vi.runAllTimersAsync();
    expect(await reply).toBe('reply of b');
    expect(attempts.map((attempt) => attempt.at)).toEqual([0, 0]);
  });

  it('stops waiting and sends no retry when the caller aborts during a backoff, failing with the error of its attempt', async () => {
    vi.useFakeTimers({ now: 0 });
    const { attempts, call } = channel({ a: down('a is down'), b: 'ok' });
    const abort = new AbortController();
    const middleware = retryOnAnotherInstance({
      initialBackoff: '1h',
      maxBackoff: '1h',
      retryBudget: false,
    });
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const outcome = run(middleware, call(), { signal: abort.signal });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(attempts).toHaveLength(1);
    abort.abort();
    // no timer needs to run for the call to end
    await expect(outcome).resolves.toMatchObject({
      code: Status.UNAVAILABLE,
      details: 'a is down',
    });
    expect(attempts).toHaveLength(1);
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0);
  });

  it('leaves no listener on the caller’s signal once a backoff is over', async () => {
    const { call } = channel({ a: down('a'), b: 'ok' });
    const abort = new AbortController();
    const middleware = retryOnAnotherInstance({ initialBackoff: 5, retryBudget: false });
    for (let i = 0; i < 20; i++) {
      expect(await run(middleware, call(), { signal: abort.signal })).toBe('reply of b');
    }
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0);
  });

  it('throws the error of the last attempt made on a backend when the channel has no other to offer', async () => {
    const { attempts, call } = channel({ a: down('a is down'), b: down('b is down') });
    const error = await run(
      retryOnAnotherInstance({ maxAttempts: 5, initialBackoff: 0, retryBudget: false }),
      call(),
    );
    expect(attempts.map((attempt) => attempt.backend)).toEqual(['a', 'b', undefined]);
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({ code: Status.UNAVAILABLE, details: 'b is down' });
  });

  it('throws the channel’s own error when the first attempt reached no backend', async () => {
    const { attempts, call } = channel({});
    const error = await run(retryOnAnotherInstance({ initialBackoff: 0 }), call());
    expect(attempts).toHaveLength(1);
    expect(error).toMatchObject({ code: Status.UNAVAILABLE, details: 'no backend' });
  });

  it('sends a client-streaming call once, and one with maxInstanceAttempts: 1 once and without its key', async () => {
    const streaming = channel({ a: down('a'), b: 'ok' });
    const middleware = retryOnAnotherInstance({ initialBackoff: 0, retryBudget: false });
    expect(await run(middleware, streaming.call(true))).toMatchObject({ details: 'a' });
    expect(streaming.attempts).toHaveLength(1);
    const plain = channel({ a: down('a'), b: 'ok' }, { balanced: false });
    const warnings: Error[] = [];
    const listen = (warning: Error) => warnings.push(warning);
    process.on('warning', listen);
    try {
      const once = await run(middleware, plain.call(), { maxInstanceAttempts: 1 });
      expect(once).toMatchObject({ details: 'a' });
      expect(plain.attempts).toEqual([{ backend: 'a', at: expect.any(Number), keyed: false }]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]); // nothing it could not do: it was not asked to retry
    } finally {
      process.off('warning', listen);
    }
  });

  it('on a channel not balanced by rxlb, says so at the first UNAVAILABLE (not at other errors), with the whole story', async () => {
    const warnings: Error[] = [];
    const listen = (warning: Error) => warnings.push(warning);
    process.on('warning', listen);
    try {
      const middleware = retryOnAnotherInstance({ initialBackoff: 0 });
      const internal = channel(
        { a: { code: Status.INTERNAL, details: 'bug' } },
        { balanced: false },
      );
      expect(await run(middleware, internal.call())).toMatchObject({ code: Status.INTERNAL });
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
      const plain = channel({ a: down('a is down'), b: 'ok' }, { balanced: false });
      expect(await run(middleware, plain.call())).toMatchObject({ details: 'a is down' });
      expect(plain.attempts).toHaveLength(1);
      await vi.waitFor(() => expect(warnings).toHaveLength(1));
      expect(warnings[0]).toMatchObject({ name: 'RxlbWarning', code: 'RXLB_RETRY_NOT_BALANCED' });
      expect(warnings[0]?.message).toBe(
        "retryOnAnotherInstance(): /echo/Unary went out on a channel that is not rxlb's balanced " +
          'channel (a plain grpc-js channel, a consul: target...), so its calls are never retried: ' +
          'only a channel made by createBalancedChannel() can send a retry to an instance the call ' +
          "has not tried. Give the client such a channel, or use grpc-js's retryPolicy in the " +
          "channel's service config.",
      );
    } finally {
      process.off('warning', listen);
    }
  });

  it('forgets a call’s attempts once it ends: a late pick with its key finds nothing, and is not thrown by it', async () => {
    let token: string | undefined;
    const { call } = channel({ a: 'ok' });
    const spy = call();
    const next = spy.next;
    spy.next = ((request: string, options: CallOptions) => {
      token = options.metadata?.get(ATTEMPT_KEY);
      return next(request, options);
    }) as typeof spy.next;
    expect(await run(retryOnAnotherInstance(), spy)).toBe('reply of a');
    expect(token).toEqual(expect.any(String));
    const late = new GrpcMetadata();
    late.set(ATTEMPT_KEY, token as string);
    expect(takeAttemptLog(late)).toBeUndefined();
    expect(late.get(ATTEMPT_KEY)).toEqual([]); // the key never goes out
  });

  it('names each call by a token that is a legal metadata value, and finds its log by it', () => {
    const log = openAttemptLog();
    const metadata = new GrpcMetadata();
    metadata.set(ATTEMPT_KEY, Metadata({ [ATTEMPT_KEY]: log.token }).get(ATTEMPT_KEY) as string);
    expect(takeAttemptLog(metadata)).toBe(log);
    expect(log.seen).toBe(true);
  });

  it('rejects backoffs and budgets beyond their bounds with a TypeError naming the option', () => {
    const bad = (options: object) => () => retryOnAnotherInstance(options as never);
    const tooLong = 2 ** 31;
    expect(bad({ initialBackoff: tooLong })).toThrow(/"initialBackoff"/);
    expect(bad({ maxBackoff: tooLong })).toThrow(/"maxBackoff"/);
    expect(bad({ retryBudget: { minRetriesPerSecond: -1 } })).toThrow(
      /"retryBudget.minRetriesPerSecond"/,
    );
    expect(bad({ retryBudget: { ttl: 0 } })).toThrow(/"retryBudget.ttl"/);
    expect(() =>
      retryOnAnotherInstance({ backoffMultiplier: 1.5, maxBackoff: '1s' }),
    ).not.toThrow();
  });
});
