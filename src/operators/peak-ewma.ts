import { asyncScheduler, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Update } from '../instance.js';
import type { Picker } from '../picker.js';
import { readOptions } from '../read-options.js';
import { LatencyEstimates } from './latency-estimates.js';
import { PeakEwmaPicker } from './peak-ewma-picker.js';
import { pickerOperator } from './picker-operator.js';

/** Options of {@link peakEwma}. */
export interface PeakEwmaOptions {
  /**
   * How fast old latencies fade, in ms: a sample taken `decayMs` after the previous one moves
   * the estimate 63 % of the way to it, and a backend that gets no call sees its cost fall by
   * 63 % in that time. Shorter reacts faster to a backend that got faster again, and retries a
   * slow one sooner. Default 10 s, as Finagle and Linkerd.
   */
  readonly decayMs?: number;
  /**
   * The clock of the decay: its `now()` is read once per call report. Default
   * `asyncScheduler`; a `TestScheduler` runs the operator in virtual time.
   */
  readonly scheduler?: SchedulerLike;
  /**
   * The source of the random draws, one per pick: must return a number in `[0, 1)`, as
   * `Math.random` does. Inject a fixed sequence for deterministic tests. Default: each picker's
   * own xorshift32 generator, seeded from `Math.random`.
   */
  readonly random?: () => number;
}

const DEFAULTS = {
  decayMs: 10_000,
  scheduler: asyncScheduler,
} as const satisfies Omit<Required<PeakEwmaOptions>, 'random'>;

const CALLER = 'peakEwma()';

/**
 * Turns a stream of update batches into a stream of peak-EWMA pickers, one per batch: each call
 * goes to whichever of two random backends has the lower latency estimate times calls in flight
 * plus one; the estimates learn from every call's end.
 *
 * <span class="informal">The power of two choices on a peak-sensitive moving average of
 * latency, as Finagle, Linkerd and tower's `PeakEwma` make it.</span>
 *
 * ```
 * source:  -a-------b--|     a = [+A, +B]             b = [+C]
 * ended$:  ---r-s------|     r = A took 100 ms        s = B took 2 ms
 *           peakEwma()
 * output:  -x-------y--|     x: A, B alike (no history)  y: never A; C costs the mean, 51 ms
 * ```
 *
 * ![peakEwma: learns latencies from call reports across pickers](../../docs/marbles/peak-ewma-learns-latencies-from-call-reports-across-pickers.svg)
 *
 * In a balanced channel, every pick draws two distinct usable backends (connected, not ejected)
 * at random and takes the one of lower cost, `estimate × (inFlight + 1)`; a tie goes to a
 * random one of the two. The channel tells the picker how each call it chose ended
 * (`Picker.callEnded`), and the estimate of that backend learns:
 *
 * - **Peaks at once, decays slowly.** A call slower than the estimate replaces it at once; a
 *   faster one moves it towards its time by `1 - exp(-Δ / decayMs)`, Δ the time since the
 *   backend's previous report. A backend that slows down loses its calls within one of its
 *   slow calls; one that recovers wins them back over about `decayMs`.
 * - **Failures are penalised.** A call that failed for the backend's sake (a lost connection,
 *   or UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE, DATA_LOSS) counts
 *   as taking at least twice the backend's estimate: a backend that fails fast never looks
 *   fast, and every failure in a row doubles its estimate (estimates stop at an hour). Any
 *   other status is the server's answer and counts its time. A cancelled call can raise an
 *   estimate, never lower it.
 * - **No history is neutral.** A backend with no report yet costs the mean estimate of those
 *   that have one, neither favoured nor avoided; while no backend has one, picks compare
 *   calls in flight only, as {@link leastRequest} does.
 * - **Avoided backends are retried.** A backend that gets no call keeps its estimate, but its
 *   cost decays towards zero by `exp(-Δ / decayMs)` (as in tower and Finagle), so that a
 *   backend once slow is tried again when it looks cheaper than the others, and avoided again
 *   at its first slow answer if it still is.
 *
 * Estimates are kept by address across the pickers of one subscription (a new batch forgets
 * nothing of the members that stay) and forgotten for members that leave; a resubscribed
 * pipeline starts afresh. Time comes from `scheduler.now()`, read once per call report, never
 * per pick: each report also redraws one member's cost, in turn. `pick()` is O(1), reads no
 * clock, and allocates nothing but an array of positions when the usable backends change.
 *
 * `pick()` without backends (no channel) sees nothing in flight: of two random members it
 * returns the lower estimate, `undefined` when there is none; `callEnded` still teaches it.
 * Members are applied as `roundRobin()` applies them and a new picker is emitted for every
 * batch, also an empty one. Completion and errors of the source pass through. Weights are not
 * read (see {@link leastRequest} for weighted least-request).
 *
 * ## Example
 *
 * ```ts
 * import { of } from 'rxjs';
 * import { consulInstances$, createBalancedChannel, diff, peakEwma } from 'rxlb';
 *
 * // In a channel: calls move away from a backend as soon as it answers slowly.
 * const channel = createBalancedChannel(consulInstances$('greeter').pipe(diff(), peakEwma()));
 *
 * // What the channel tells a picker after each call, and what it learns from it.
 * of(['10.0.0.1:50051', '10.0.0.2:50051'])
 *   .pipe(diff(), peakEwma())
 *   .subscribe((picker) => {
 *     const [slow, fast] = picker.instances;
 *     if (!slow || !fast) return;
 *     picker.callEnded?.({ instance: slow, durationMs: 120, code: 0, connectionFailure: false });
 *     picker.callEnded?.({ instance: fast, durationMs: 3, code: 0, connectionFailure: false });
 *     console.log(picker.pick()?.address); // '10.0.0.2:50051', the faster
 *   });
 * ```
 *
 * @param options See {@link PeakEwmaOptions}. Validated at once: an unknown key, a `decayMs`
 * that is not a number of ms from 1 to 2^31-1, a `scheduler` without `now()`, or a `random`
 * that is not a function throws a `TypeError` naming the option.
 * @see {@link leastRequest} needs no latency, and suits backends of one speed.
 * @see [All peakEwma() marble diagrams](../../docs/marbles/)
 *
 * @return A function that returns an Observable of {@link Picker}s.
 */
export function peakEwma(
  options: PeakEwmaOptions = {},
): OperatorFunction<readonly Update[], Picker> {
  const reader = readOptions(CALLER, options, ['decayMs', 'scheduler', 'random']);
  const decayMs = reader.ms('decayMs', { min: 1 }) ?? DEFAULTS.decayMs;
  const random = reader.function<() => number>('random');
  const scheduler = reader.raw('scheduler') ?? DEFAULTS.scheduler;
  const clock = hasNow(scheduler)
    ? scheduler
    : reader.fail('scheduler', 'an RxJS SchedulerLike (with now())');
  return pickerOperator(CALLER, () => {
    const estimates = new LatencyEstimates(decayMs, () => clock.now());
    return (members) => {
      estimates.retain(members);
      return new PeakEwmaPicker(members, estimates, random, CALLER);
    };
  });
}

function hasNow(value: unknown): value is Pick<SchedulerLike, 'now'> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<SchedulerLike>).now === 'function'
  );
}
