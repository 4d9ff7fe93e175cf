import { Observable, type OperatorFunction } from 'rxjs';
import type { InstanceSet } from '../instance.js';
import {
  type ChooseDatacenterOptions,
  type DatacenterConfig,
  type DatacenterMode,
  type DatacenterSet,
  resolveDatacenterConfig,
} from './internal/datacenter-options.js';

/**
 * Serves one datacenter's healthy instances out of several: home while it has `minHealthy`
 * of them, otherwise the first datacenter after it in the list that has, and home again as
 * soon as home has them again.
 *
 * <span class="informal">Failover as a pure function of the latest set of each datacenter:
 * the switch happens on the set that calls for it, with no request of its own.</span>
 *
 * ```
 * source:  -1-2-e-----1-|     1 = dc1 {A, B}  2 = dc2 {C}  e = dc1 {}
 *           chooseDatacenter({ datacenters: ['dc1', 'dc2'] })
 * output:  -a---c-----a-|     a = {A, B}  c = {C}
 * ```
 *
 * ![chooseDatacenter: fails over to dc2 while dc1 has nobody, and goes home](../../docs/marbles/choose-datacenter-fails-over-while-home-has-nobody-healthy-and-goes-home-at-once.svg)
 *
 * Rules:
 * - The source emits each datacenter's set as it changes (`{ datacenter, set }`); the
 *   operator keeps the latest of each. A set of a datacenter not in `datacenters` errors the
 *   output with a `TypeError`.
 * - In order of preference, the first datacenter with at least `minHealthy` instances is
 *   served. If none has, the first with anyone is; if nobody anywhere is healthy, home's
 *   (empty) set is: an empty set comes out only when every datacenter is empty, so a
 *   `whenNobody()` after this operator acts only then.
 * - A datacenter that has not sent its first set yet holds back the choice of any datacenter
 *   after it (its set may win), so nothing comes out before home's first set, and the empty
 *   set waits for every datacenter's first.
 * - The chosen datacenter's set is emitted itself (the same object, with whatever it
 *   carries), each time it is a new one; sets of the others emit nothing unless they change
 *   the choice.
 *
 * `onChoice` is told each time the datacenter served, its mode (`home`, `failover`,
 * `nobody`), or whether it has `minHealthy`, changes, with why and every datacenter's count,
 * before the set is emitted. Completion and errors of the source pass through. State lives
 * in the subscription.
 *
 * ## Example
 *
 * ```ts
 * import { chooseDatacenter, consulInstances$, diff, roundRobin } from 'rxlb';
 * import { map, merge } from 'rxjs';
 *
 * const inDc = (dc: string) =>
 *   consulInstances$('greeter', { dc, whenNobody: false }).pipe(
 *     map((set) => ({ datacenter: dc, set })),
 *   );
 * const picker$ = merge(inDc('dc1'), inDc('dc2')).pipe(
 *   chooseDatacenter({
 *     datacenters: ['dc1', 'dc2'],
 *     onChoice: ({ datacenter, reason }) => console.warn(`greeter: serving ${datacenter}: ${reason}`),
 *   }),
 *   diff(),
 *   roundRobin(),
 * );
 * ```
 * (`consulInstances$`'s `failover` option does this for you, with the agent's datacenter as
 * home and `whenNobody` after the choice.)
 *
 * @param options The datacenters in order of preference and `minHealthy`; see
 * {@link ChooseDatacenterOptions}. Validated at once: a bad option throws a `TypeError` naming it.
 * @see [All chooseDatacenter() marble diagrams](https://github.com/rxlb/rxlb/tree/main/docs/marbles)
 *
 * @return A function that returns an Observable of the sets to serve.
 */
export function chooseDatacenter(
  options: ChooseDatacenterOptions,
): OperatorFunction<DatacenterSet, InstanceSet> {
  return datacenterOperator(resolveDatacenterConfig(options));
}

/** {@link chooseDatacenter} for options validated already. */
export function datacenterOperator(
  config: DatacenterConfig,
): OperatorFunction<DatacenterSet, InstanceSet> {
  const { datacenters, minHealthy, onChoice } = config;
  const home = datacenters[0] ?? '';
  const known = new Set(datacenters);
  const why = reasons(datacenters, minHealthy);
  return (source) =>
    new Observable<InstanceSet>((subscriber) => {
      const latest = new Map<string, InstanceSet>();
      let served: InstanceSet | undefined;
      let chosen = '';

      const serve = (datacenter: string, mode: DatacenterMode, reason: string) => {
        const set = latest.get(datacenter) as InstanceSet;
        // the kind of choice: which datacenter, why, and whether it has minHealthy
        const kind = `${mode} ${datacenter} ${set.size >= minHealthy}`;
        if (kind !== chosen) {
          chosen = kind;
          const healthy = datacenters.map((dc) => ({
            datacenter: dc,
            healthy: latest.get(dc)?.size,
          }));
          onChoice?.({ datacenter, mode, reason, healthy, served: set });
        }
        if (set !== served) {
          served = set;
          subscriber.next(set);
        }
      };

      const decide = () => {
        let firstWithAny: string | undefined;
        for (const [i, dc] of datacenters.entries()) {
          const set = latest.get(dc);
          if (set === undefined) return; // its first set may win: wait for it
          if (set.size >= minHealthy) {
            if (i === 0) serve(dc, 'home', why.home);
            else serve(dc, 'failover', why.failover(i));
            return;
          }
          if (firstWithAny === undefined && set.size > 0) firstWithAny = dc;
        }
        if (firstWithAny === undefined) serve(home, 'nobody', why.nobody);
        else
          serve(firstWithAny, firstWithAny === home ? 'home' : 'failover', why.short(firstWithAny));
      };

      return source.subscribe({
        next: ({ datacenter, set }) => {
          if (!known.has(datacenter)) {
            subscriber.error(
              new TypeError(
                `chooseDatacenter(): a set of datacenter "${datacenter}", which is not one of ${datacenters.map((dc) => `"${dc}"`).join(', ')}`,
              ),
            );
            return;
          }
          latest.set(datacenter, set);
          try {
            decide();
          } catch (error) {
            subscriber.error(error); // what onChoice throws
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}

/**
 * Why each kind of choice is made, in words that stay true for as long as the choice does
 * (counts change more often than choices: `DatacenterChoice.healthy` has them).
 */
function reasons(datacenters: readonly string[], minHealthy: number) {
  const enough = minHealthy === 1 ? 'someone healthy' : `${minHealthy} or more healthy`;
  const few = minHealthy === 1 ? 'nobody healthy' : `fewer than ${minHealthy} healthy`;
  const names = (list: readonly string[]) =>
    list.length === 1
      ? `${list[0]} has`
      : `${list.slice(0, -1).join(', ')} and ${list.at(-1)} have`;
  return {
    home: `${datacenters[0]} has ${enough}`,
    failover: (i: number) => `${names(datacenters.slice(0, i))} ${few}: serving ${datacenters[i]}`,
    short: (dc: string) =>
      `no datacenter has ${enough}: serving ${dc}, the first with someone healthy`,
    nobody: 'no datacenter has anyone healthy',
  };
}
