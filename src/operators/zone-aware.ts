import { defer, Observable, type OperatorFunction, Subscription } from 'rxjs';
import type { Instance, InstanceSet, Update } from '../instance.js';
import type { Picker } from '../picker.js';
import { readOptions } from '../read-options.js';
import { drawOf, randomOffset } from './internal/random.js';
import {
  type CallerShares,
  type Settings,
  sharesOf,
  ZoneAwarePicker,
} from './internal/zone-picker.js';
import { policyOperator } from './policy-operator.js';
import { RoundRobinPicker } from './round-robin.js';

/** Options of {@link zoneAware}. */
export interface ZoneAwareOptions {
  /** The caller's zone, e.g. `'eu-west-1a'`. Required. */
  readonly zone: string;
  /**
   * A member's zone (and a caller's). Default: its service meta `zone` (in Consul,
   * `Service.Meta.zone`), else its node's meta `zone` (`Node.Meta.zone`). A member without a
   * zone is in no zone: never local.
   */
  readonly zoneOf?: (instance: Instance) => string | undefined;
  /**
   * The caller fleet's instance sets (the service this client runs in), e.g.
   * `consulInstances$('frontend')`: with it, calls stay local only in the measure that the
   * local zone has its share of the members (Envoy's zone-aware routing). Without it, calls
   * stay local while the local zone has anyone usable.
   */
  readonly callers$?: Observable<InstanceSet | Iterable<Instance>>;
  /**
   * Builds the picker used inside one zone, from the zone's members in member order.
   * Default: round robin from a random offset.
   */
  readonly policy?: (members: readonly Instance[]) => Picker;
  /**
   * Draws whether a call stays local and which zone takes it if not, and where each default
   * round robin starts. Must return a number in `[0, 1)`. Default `Math.random`.
   */
  readonly random?: () => number;
}

const zoneMeta = (instance: Instance): string | undefined =>
  instance.meta.zone ?? instance.nodeMeta?.zone;

const DEFAULTS = { zoneOf: zoneMeta, random: Math.random } as const;

/**
 * Turns a stream of update batches into a stream of zone-aware pickers: calls stay in the
 * caller's zone while it can take them, and spill over to the other zones when it cannot.
 *
 * <span class="informal">Envoy's zone-aware routing as a policy operator, with another policy
 * (round robin by default) inside each zone.</span>
 *
 * ```
 * source:  -a-----b-----|     a = [+A1, +A2, +B1]    b = [-A1, -A2]
 *           zoneAware({ zone: 'a' })
 * output:  -x-----y-----|     x picks A1 A2 A1 ...   y picks B1 B1 ...
 * ```
 *
 * ![zoneAware: stays in the local zone while it has anyone](../../docs/marbles/zone-aware-stays-in-the-local-zone-while-it-has-anyone.svg)
 *
 * A member's zone is `zoneOf(member)`, by default its service meta `zone`, else its node's
 * meta `zone`. Without
 * `callers$`, every call goes to a usable member of the caller's `zone` while there is one,
 * else to any usable member. With `callers$`, as Envoy does: when the local zone's share of
 * the usable members is at least its share of the callers, every call stays local; when it is
 * below, only `local share of members / local share of callers` of the calls stay local, and
 * the rest go to the other zones in proportion to their surplus (their share of the members
 * less their share of the callers). So with 1 member in `a` and 3 in `b`, and callers 5 in
 * `a` and 5 in `b`, a caller in `a` keeps half its calls in `a`: the one member in `a` then
 * serves as many calls as each of the three in `b`. While the callers are unknown (before
 * `callers$` emits, or when it emits nobody) calls stay local. Unlike Envoy, there is no
 * minimum cluster size and no panic threshold: `whenNobody()` and outlier detection do those
 * jobs in rxlb.
 *
 * Inside a zone, `policy` (round robin by default) chooses among the zone's usable members.
 * A new picker is emitted for each batch and for each set of callers. Completion of the
 * source completes the output; errors of the source or of `callers$` pass through.
 *
 * ## Example
 *
 * ```ts
 * import { consulInstances$, createBalancedChannel, diff, zoneAware } from 'rxlb';
 *
 * const zone = process.env.ZONE ?? 'eu-west-1a';
 * const channel = createBalancedChannel(
 *   consulInstances$('greeter').pipe(
 *     diff(),
 *     zoneAware({ zone, callers$: consulInstances$('frontend') }),
 *   ),
 * );
 * ```
 *
 * @param options See {@link ZoneAwareOptions}. Validated at once: a missing `zone`, an option
 * of the wrong type or an unknown one throws a `TypeError` naming the option.
 * @see [All zoneAware() marble diagrams](https://github.com/rxlb/rxlb/tree/main/docs/marbles)
 * @return A function that returns an Observable of {@link Picker}s.
 */
export function zoneAware(options: ZoneAwareOptions): OperatorFunction<readonly Update[], Picker> {
  const caller = 'zoneAware()';
  const o = readOptions(caller, options, ['zone', 'zoneOf', 'callers$', 'policy', 'random']);
  const zone = o.string('zone') ?? '';
  if (zone === '') o.missing('zone', "the caller's zone");
  const zoneOf =
    o.function<(instance: Instance) => string | undefined>('zoneOf') ?? DEFAULTS.zoneOf;
  const random = o.function<() => number>('random') ?? DEFAULTS.random;
  const roundRobin = (members: readonly Instance[]) =>
    new RoundRobinPicker(
      members,
      members.length > 0 ? randomOffset(caller, random, members.length) : 0,
    );
  const policy = o.function<(members: readonly Instance[]) => Picker>('policy') ?? roundRobin;
  const callers$ = o.raw('callers$') as ZoneAwareOptions['callers$'];
  if (callers$ !== undefined && typeof callers$?.subscribe !== 'function') {
    o.fail('callers$', 'an Observable of instance sets');
  }
  const settings: Settings = { zone, zoneOf, policy, random: () => drawOf(caller, random) };
  if (callers$ === undefined) {
    return policyOperator(caller, (members) => ZoneAwarePicker.of(members, settings));
  }
  return (source) =>
    defer(() => {
      let shares: CallerShares | undefined;
      let latest: ZoneAwarePicker | undefined;
      const pickers$ = source.pipe(
        policyOperator(caller, (members) => ZoneAwarePicker.of(members, settings, shares)),
      );
      return new Observable<Picker>((subscriber) => {
        // Not callers$'s own subscription as the parent: a callers$ that completes at once
        // (`of(list)`) closes it, and a closed subscription unsubscribes what is added to it.
        const subscription = new Subscription();
        subscription.add(
          callers$.subscribe({
            next: (callers) => {
              shares = sharesOf(callers, zoneOf);
              if (latest === undefined) return;
              latest = latest.withCallers(shares);
              subscriber.next(latest);
            },
            error: (error: unknown) => subscriber.error(error),
          }),
        );
        subscription.add(
          pickers$.subscribe({
            next: (picker) => {
              latest = picker as ZoneAwarePicker;
              subscriber.next(picker);
            },
            error: (error: unknown) => subscriber.error(error),
            complete: () => subscriber.complete(),
          }),
        );
        return subscription;
      });
    });
}
