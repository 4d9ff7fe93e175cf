import { type MonoTypeOperatorFunction, Observable, Subscription } from 'rxjs';
import { discoveryOf } from '../discovery.js';
import type { InstanceSet } from '../instance.js';
import {
  type NobodyConfig,
  type NobodyMode,
  type NobodyReport,
  resolveNobodyConfig,
  type WhenNobodyOptions,
} from './internal/nobody-options.js';

/**
 * Decides what to serve when discovery says that nobody is healthy: keep the last good set
 * for a while (the default), fail fast, fall back to every registered instance, or panic
 * below a share of healthy instances, as Envoy does.
 *
 * <span class="informal">An empty healthy set is as often Consul's glitch (checks flapping
 * during a deploy) as a real outage; this operator is the policy for telling them apart.</span>
 *
 * ```
 * source:  -a-e-b-----e------|     a = {A, B}  e = {}  b = {A}
 *           whenNobody({ graceMs: 3 })
 * output:  -a---b-----------e|     (e within 3 ms of b is held; later it passes)
 * ```
 *
 * ![whenNobody: keeps the last good set through a short empty spell](../../docs/marbles/when-nobody-keep-last-keeps-the-last-good-set-through-a-short-empty-spell.svg)
 *
 * Policies (`policy`):
 * - `'keep-last'` (default): an empty set after a non-empty one is held back and the last
 *   non-empty set stays served for `graceMs` (default 30 s); a non-empty set within that time
 *   ends the spell, otherwise the empty set is emitted when it runs out. An empty first set
 *   has nothing to keep and passes at once. `graceMs: 0` fails fast, `Infinity` never does.
 * - `'fail-fast'`: empty sets pass through at once (the operator only reports them).
 * - `'fallback'`: while the healthy set is empty, serve `registered$`'s latest set: every
 *   registered instance, healthy or not (`consulInstances$(service, { passing: false })`).
 * - `'panic'`: while fewer than `thresholdPercent` % (default 50) of the registered instances
 *   are healthy, serve `registered$`'s latest set, as Envoy's panic threshold does; 0 never
 *   panics.
 *
 * With `registered$`, the operator subscribes to it for as long as it is subscribed itself,
 * and follows its changes while it substitutes it; an empty healthy set that arrives before
 * `registered$`'s first answer waits for it (or for its completion). The healthy set is
 * emitted as it comes whenever it is served; a substitute is emitted when it changes.
 * Before the first answer, an empty set that `consulInstances$` marks as unresolved (it
 * could not ask Consul) passes through untouched: it says nothing about who is healthy.
 *
 * `onReport` is told each time the kind of set served changes (`healthy`, `kept-last`,
 * `empty`, `fallback`, `panic`), with why, the counts, and the set served, before it is
 * emitted. Completion and errors of the source, and errors of `registered$`, pass through;
 * completion ends a grace period unfinished. State lives in the subscription. Timing goes
 * through `scheduler` (default `asyncScheduler`), so it runs in virtual time in marble tests.
 *
 * ## Example
 *
 * ```ts
 * import { consulInstances$, diff, roundRobin, whenNobody } from 'rxlb';
 *
 * const picker$ = consulInstances$('greeter')
 *   .pipe(
 *     whenNobody({
 *       policy: 'panic',
 *       registered$: consulInstances$('greeter', { passing: false }),
 *       onReport: ({ mode, reason }) => console.warn(`greeter: serving ${mode}: ${reason}`),
 *     }),
 *     diff(),
 *     roundRobin(),
 *   );
 * ```
 *
 * @param options One policy and its settings; see {@link WhenNobodyOptions}. Validated at
 * once: a bad option throws a `TypeError` naming it.
 * @see [All whenNobody() marble diagrams](https://github.com/rxlb/rxlb/tree/main/docs/marbles)
 *
 * @return A function that returns an Observable of the instance sets to serve.
 */
export function whenNobody(options: WhenNobodyOptions = {}): MonoTypeOperatorFunction<InstanceSet> {
  return nobodyOperator(resolveNobodyConfig(options));
}

/** {@link whenNobody} for options validated already. */
export function nobodyOperator(config: NobodyConfig): MonoTypeOperatorFunction<InstanceSet> {
  const { policy, graceMs, registered$ } = config;
  return (source) =>
    new Observable<InstanceSet>((subscriber) => {
      let healthy: InstanceSet | undefined;
      let lastGood: InstanceSet | undefined;
      let registered: InstanceSet | undefined;
      let registeredDone = false;
      let served: InstanceSet | undefined;
      let mode: NobodyMode = 'healthy';
      const subscription = new Subscription();
      let grace: Subscription | undefined;

      const endGrace = () => {
        grace?.unsubscribe();
        grace = undefined;
      };

      /** Reports a change of mode, then emits `set` unless it is already served. */
      const serve = (set: InstanceSet, next: NobodyMode, reason: string, fromSource: boolean) => {
        if (next !== mode) {
          mode = next;
          const report: NobodyReport = {
            policy,
            mode,
            reason,
            healthy: healthy?.size ?? 0,
            registered: registered?.size,
            served: set,
          };
          config.onReport?.(report);
        }
        if (set !== served || (fromSource && set === healthy)) {
          served = set;
          subscriber.next(set);
        }
      };

      const keepLast = (set: InstanceSet, fromSource: boolean) => {
        if (set.size > 0) {
          endGrace();
          lastGood = set;
          serve(set, 'healthy', healthyReason(set), fromSource);
        } else if (policy === 'fail-fast' || graceMs === 0) {
          serve(set, 'empty', 'no healthy instance', fromSource);
        } else if (lastGood === undefined) {
          serve(set, 'empty', 'no healthy instance, and no earlier set to keep', fromSource);
        } else if (mode === 'empty') {
          serve(set, 'empty', `no healthy instance for ${graceMs} ms`, fromSource);
        } else if (mode !== 'kept-last') {
          const forever = graceMs === Number.POSITIVE_INFINITY;
          const reason = `no healthy instance: keeping the last ${count(lastGood)}`;
          serve(
            lastGood,
            'kept-last',
            forever ? reason : `${reason} for up to ${graceMs} ms`,
            false,
          );
          if (!forever) grace = config.scheduler.schedule(expire, graceMs);
        }
      };

      const expire = () => {
        grace = undefined;
        const set = healthy;
        if (set) guarded(() => serve(set, 'empty', `no healthy instance for ${graceMs} ms`, false));
      };

      const substitute = (set: InstanceSet, fromSource: boolean) => {
        if (registered === undefined) {
          if (set.size > 0) serve(set, 'healthy', healthyReason(set), fromSource);
          else if (registeredDone) {
            serve(
              set,
              'empty',
              'no healthy instance, and registered$ ended unanswered',
              fromSource,
            );
          } // else wait for registered$'s first answer
          return;
        }
        const all = registered;
        const thin =
          policy === 'fallback'
            ? set.size === 0
            : set.size * 100 < config.thresholdPercent * all.size;
        if (thin && all.size > 0) {
          const reason =
            policy === 'fallback'
              ? `no healthy instance: serving the ${count(all)} registered`
              : `${set.size} of ${all.size} registered instances healthy (below ${config.thresholdPercent} %): serving all ${all.size}`;
          serve(all, policy === 'fallback' ? 'fallback' : 'panic', reason, false);
        } else if (set.size === 0) {
          serve(set, 'empty', 'no instance healthy or registered', fromSource);
        } else {
          serve(set, 'healthy', healthyReason(set), fromSource);
        }
      };

      /** What onReport throws errors the output, as in `tap()`. */
      const guarded = (run: () => void) => {
        try {
          run();
        } catch (error) {
          subscriber.error(error);
        }
      };

      const decide = (fromSource: boolean) => {
        const set = healthy;
        if (set === undefined) return;
        guarded(() => (registered$ ? substitute(set, fromSource) : keepLast(set, fromSource)));
      };

      if (registered$) {
        subscription.add(
          registered$.subscribe({
            next: (set) => {
              registered = set;
              decide(false);
            },
            error: (error: unknown) => subscriber.error(error),
            complete: () => {
              registeredDone = true;
              decide(false);
            },
          }),
        );
      }
      if (!subscriber.closed) {
        subscription.add(
          source.subscribe({
            next: (set) => {
              // No answer yet, only a failure to get one: not "nobody", nothing to decide.
              if (healthy === undefined && discoveryOf(set)?.unresolved !== undefined) {
                subscriber.next(set);
                return;
              }
              healthy = set;
              decide(true);
            },
            error: (error: unknown) => subscriber.error(error),
            complete: () => subscriber.complete(),
          }),
        );
      }
      subscription.add(endGrace);
      return subscription;
    });
}

function count(set: InstanceSet): string {
  return set.size === 1 ? '1 instance' : `${set.size} instances`;
}

function healthyReason(set: InstanceSet): string {
  return `${count(set)} healthy`;
}
