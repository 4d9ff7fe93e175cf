import type { OperatorFunction } from 'rxjs';
import type { Instance, Update } from '../instance.js';
import type { Backend, Picker } from '../picker.js';
import { readOptions } from '../read-options.js';
import { PowerOfChoicesPicker } from './internal/power-of-choices-picker.js';
import { policyOperator } from './policy-operator.js';

/** Options of {@link peakEwma}. */
export interface PeakEwmaOptions {
  /**
   * The source of the random draws, one per pick: must return a number in `[0, 1)`, as
   * `Math.random` does. Inject a fixed sequence for deterministic tests. Default: each picker's
   * own xorshift32 generator, seeded from `Math.random`.
   */
  readonly random?: () => number;
}

const CALLER = 'peakEwma()';

/**
 * What became of the options the estimate took when `peakEwma()` kept it: the channel
 * measures latency now, for every policy.
 */
const MOVED: Readonly<Record<string, string>> = {
  decayMs: 'the channel measures latency now: createBalancedChannel(picker$, { decayMs })',
  scheduler: 'the channel measures latency now, on its own clock: peakEwma() reads none',
};

/**
 * Turns a stream of update batches into a stream of peak-EWMA pickers, one per batch: each call
 * goes to whichever of two random backends has the lower latency estimate times calls in flight
 * plus one.
 *
 * <span class="informal">The power of two choices on a peak-sensitive moving average of
 * latency, as Finagle, Linkerd and tower's `PeakEwma` make it: the channel measures, the
 * picker only compares.</span>
 *
 * ```
 * source:  -a-------b--|     a = [+A, +B]             b = [+C]
 *           peakEwma(), with A 100 ms, B 2 ms, C 5 ms, 1 call in flight on B
 * output:  -x-------y--|     x: always B (2 × 2 < 100)   y: B against C by 4 against 5
 * ```
 *
 * ![peakEwma: picks the lower latency times calls in flight](../../docs/marbles/peak-ewma-picks-the-lower-latency-times-calls-in-flight-of-two-random-members.svg)
 *
 * In a balanced channel, every pick draws two distinct usable backends (connected, not
 * ejected) at random and takes the one of lower cost, `latencyMs × (inFlight + 1)`, as the
 * channel measures them (`Backend.latencyMs`, `Backend.inFlight`); a tie goes to a random one
 * of the two. So a backend twice as fast takes twice as many calls at once before it stops
 * winning. What the channel's estimate does (see `Backend.latencyMs`, and `decayMs` of
 * `createBalancedChannel()`):
 *
 * - **Peaks at once, decays slowly.** A call slower than the estimate replaces it at once: a
 *   backend that slows down loses its calls within one of its slow calls; one that recovers
 *   wins them back over about `decayMs` (10 s by default).
 * - **Failures are penalised.** A call that failed for the backend's sake (a lost connection,
 *   UNKNOWN, INTERNAL, UNAVAILABLE, DATA_LOSS), ran out of its deadline or was refused for
 *   want of resources counts as taking at least twice the estimate: a backend that fails fast
 *   never looks fast, and every failure in a row doubles its estimate.
 * - **No history is neutral.** A backend with no call ended yet costs the mean estimate of
 *   those that have one, neither favoured nor avoided; while none has one, picks compare
 *   calls in flight only, as {@link leastRequest} does.
 * - **Avoided backends are retried.** A backend that gets no call sees its estimate decay
 *   towards zero, so that one once slow is tried again when it looks cheaper than the others,
 *   and avoided again at its first slow answer if it still is.
 *
 * Estimates belong to the channel's backends, so they outlive pickers: a new batch forgets
 * nothing of the members that stay, and a member that leaves takes its estimate with it.
 * `pick()` is O(1), reads no clock, and allocates nothing but an array when the usable
 * backends change. `pick()` without backends (no channel) has nothing measured: it returns a
 * uniformly random member, `undefined` when there is none. Members are applied as
 * `roundRobin()` applies them and a new picker is emitted for every batch, also an empty one.
 * Completion and errors of the source pass through. Weights are not read (see
 * {@link leastRequest} for weighted least-request).
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
 * // What a pick compares: the channel's measurements of two random usable backends.
 * of(['10.0.0.1:50051', '10.0.0.2:50051'])
 *   .pipe(diff(), peakEwma())
 *   .subscribe((picker) => {
 *     const [slow, fast] = picker.instances;
 *     if (!slow || !fast) return;
 *     const measured = (instance: Instance, latencyMs: number) =>
 *       ({ instance, latencyMs, inFlight: 0, successes: 0, failures: 0 });
 *     const usable = [measured(slow, 120), measured(fast, 3)];
 *     console.log(picker.pick({ usable })?.address); // '10.0.0.2:50051', the faster
 *   });
 * ```
 *
 * @param options See {@link PeakEwmaOptions}. Validated at once: an unknown key, or a `random`
 * that is not a function throws a `TypeError` naming the option (`decayMs` and `scheduler`
 * say where they went: the channel's `decayMs`).
 * @see {@link leastRequest} needs no latency, and suits backends of one speed.
 * @see [All peakEwma() marble diagrams](https://github.com/rxlb/rxlb/tree/main/docs/marbles)
 *
 * @return A function that returns an Observable of {@link Picker}s.
 */
export function peakEwma(
  options: PeakEwmaOptions = {},
): OperatorFunction<readonly Update[], Picker> {
  for (const [key, where] of Object.entries(MOVED)) {
    if ((options as Record<string, unknown> | undefined)?.[key] !== undefined) {
      throw new TypeError(`${CALLER}: option "${key}" is gone: ${where}`);
    }
  }
  const random = readOptions(CALLER, options, ['random']).function<() => number>('random');
  return policyOperator(CALLER, (members) => new PeakEwmaPicker(members, random));
}

/**
 * Power of two random choices on latency: a backend's cost is its latency estimate times its
 * calls in flight plus one (Finagle's and Linkerd's peak EWMA). Without backends nothing is
 * measured: every member costs the same, and the first drawn, a random one, wins.
 */
class PeakEwmaPicker extends PowerOfChoicesPicker {
  constructor(members: readonly Instance[], random: (() => number) | undefined) {
    super(members, 2, random, CALLER);
  }

  protected override costOfUsable({ latencyMs, inFlight }: Backend): number {
    return latencyMs * (inFlight + 1);
  }

  protected override costOfMember(): number {
    return 0;
  }
}
