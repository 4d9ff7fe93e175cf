import { defer, Observable, type OperatorFunction } from 'rxjs';
import type { DiscoveryStatus } from '../discovery.js';
import type { Instance, InstanceSet, Update } from '../instance.js';
import type { Backend, Backends, Call, Picker } from '../picker.js';
import { readOptions } from '../read-options.js';
import { drawOf, randomOffset } from './internal/random.js';
import { policyOperator } from './policy-operator.js';
import { RoundRobinPicker } from './round-robin.js';

/** Options of {@link zoneAware}. */
export interface ZoneAwareOptions {
  /** The caller's zone, e.g. `'eu-west-1a'`. Required. */
  readonly zone: string;
  /**
   * A member's zone (and a caller's). Default: its service meta `zone` (in Consul,
   * `Service.Meta.zone`). A member without a zone is in no zone: never local.
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

const zoneMeta = (instance: Instance): string | undefined => instance.meta.zone;

const DEFAULTS = { zoneOf: zoneMeta, random: Math.random } as const;

/** Each zone's share of the callers, from 0 to 1. */
type CallerShares = ReadonlyMap<string, number>;

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
 * A member's zone is `zoneOf(member)`, by default its service meta `zone`. Without
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
        const subscription = callers$.subscribe({
          next: (callers) => {
            shares = sharesOf(callers, zoneOf);
            if (latest === undefined) return;
            latest = latest.withCallers(shares);
            subscriber.next(latest);
          },
          error: (error: unknown) => subscriber.error(error),
        });
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

interface Settings {
  readonly zone: string;
  readonly zoneOf: (instance: Instance) => string | undefined;
  readonly policy: (members: readonly Instance[]) => Picker;
  readonly random: () => number;
}

/** Each zone's share of `callers`; undefined when there are none. */
function sharesOf(
  callers: InstanceSet | Iterable<Instance>,
  zoneOf: (instance: Instance) => string | undefined,
): CallerShares | undefined {
  const set = callers as Partial<InstanceSet>;
  const instances: Iterable<Instance> =
    typeof set.get === 'function' && typeof set.values === 'function'
      ? set.values()
      : (callers as Iterable<Instance>);
  const counts = new Map<string, number>();
  let total = 0;
  for (const instance of instances) {
    const zone = zoneOf(instance) ?? '';
    counts.set(zone, (counts.get(zone) ?? 0) + 1);
    total++;
  }
  if (total === 0) return undefined;
  return new Map([...counts].map(([zone, count]) => [zone, count / total]));
}

/** One zone's members, its picker, and its usable backends of the moment. */
interface Zone {
  readonly name: string;
  readonly picker: Picker;
  usable: readonly Backend[];
}

/**
 * Chooses a zone for each call (the local one, or another by its surplus), then lets that
 * zone's picker choose among its usable members. The plan (the chance of staying local and
 * the other zones' cumulative surplus) is recomputed only when the usable backends change.
 */
export class ZoneAwarePicker implements Picker {
  readonly instances: readonly Instance[];
  readonly #settings: Settings;
  readonly #shares: CallerShares | undefined;
  readonly #zones: readonly Zone[];
  /** Each member's zone, by address. */
  readonly #zoneOf: ReadonlyMap<string, Zone>;
  /** Every member, for calls when the local zone has nobody usable. */
  readonly #everyone: Picker;
  readonly #local: Zone | undefined;
  #usable: readonly Backend[] | undefined;
  #everyMember: readonly Backend[] | undefined;
  /** The chance that a call stays local. */
  #stay = 1;
  /** The zones other than the local one that take calls, and their cumulative weights. */
  #others: Zone[] = [];
  #cumulative: number[] = [];

  static of(
    members: readonly Instance[],
    settings: Settings,
    shares?: CallerShares,
  ): ZoneAwarePicker {
    const byZone = new Map<string, Instance[]>();
    for (const member of members) {
      const zone = settings.zoneOf(member) ?? '';
      const list = byZone.get(zone);
      if (list === undefined) byZone.set(zone, [member]);
      else list.push(member);
    }
    const zones = [...byZone].map(([name, list]) => ({
      name,
      picker: settings.policy(list),
      usable: NOBODY,
    }));
    return new ZoneAwarePicker(members, settings, shares, zones, settings.policy(members));
  }

  private constructor(
    members: readonly Instance[],
    settings: Settings,
    shares: CallerShares | undefined,
    zones: readonly Zone[],
    everyone: Picker,
  ) {
    this.instances = Object.freeze([...members]);
    this.#settings = settings;
    this.#shares = shares;
    this.#zones = zones;
    this.#everyone = everyone;
    this.#local = zones.find((zone) => zone.name === settings.zone && zone.name !== '');
    this.#zoneOf = new Map(
      zones.flatMap((zone) => zone.picker.instances.map((m) => [m.address, zone] as const)),
    );
  }

  /** The same members and zone pickers, with the callers' shares `shares`. */
  withCallers(shares: CallerShares | undefined): ZoneAwarePicker {
    // the zones' pickers go on (a round robin keeps its place); their usable backends are
    // this picker's own, so that the old one, still asked, cannot change them
    const zones = this.#zones.map(({ name, picker }) => ({ name, picker, usable: NOBODY }));
    const picker = new ZoneAwarePicker(
      this.instances,
      this.#settings,
      shares,
      zones,
      this.#everyone,
    );
    if (this.discovery !== undefined) {
      Object.defineProperty(picker, 'discovery', { value: this.discovery, configurable: true });
    }
    return picker;
  }

  declare readonly discovery?: DiscoveryStatus;

  pick(backends?: Backends, call?: Call): Instance | undefined {
    if (backends === undefined) {
      // as if every member were usable: plan over backends of them all, built once
      this.#everyMember ??= this.instances.map(asBackend);
      if (this.#usable !== this.#everyMember) {
        this.#usable = this.#everyMember;
        this.#plan(this.#everyMember);
      }
      const zone = this.#choose();
      return (zone?.picker ?? this.#everyone).pick(undefined, call);
    }
    const { usable } = backends;
    if (usable !== this.#usable) {
      this.#usable = usable;
      this.#plan(usable);
    }
    const zone = this.#choose();
    return zone === undefined
      ? this.#everyone.pick(backends, call)
      : zone.picker.pick({ usable: zone.usable }, call);
  }

  /** The zone of the next call; undefined: any member. */
  #choose(): Zone | undefined {
    const local = this.#local;
    if (local === undefined || local.usable.length === 0) return undefined;
    if (this.#stay >= 1 || this.#settings.random() < this.#stay) return local;
    const total = this.#cumulative[this.#cumulative.length - 1] ?? 0;
    const draw = this.#settings.random() * total;
    for (let i = 0; i < this.#others.length; i++) {
      if (draw < (this.#cumulative[i] ?? 0)) return this.#others[i];
    }
    return local;
  }

  /** Splits `usable` by zone and works out the chance of staying local (Envoy's rule). */
  #plan(usable: readonly Backend[]): void {
    const split = new Map<Zone, Backend[]>(this.#zones.map((zone) => [zone, []]));
    for (const backend of usable) {
      const zone = this.#zoneOf.get(backend.instance.address);
      if (zone !== undefined) split.get(zone)?.push(backend);
    }
    for (const [zone, list] of split) zone.usable = list;
    this.#stay = 1;
    this.#others = [];
    this.#cumulative = [];
    const local = this.#local;
    const shares = this.#shares;
    if (local === undefined || shares === undefined || usable.length === 0) return;
    const upstream = (zone: Zone) => zone.usable.length / usable.length;
    const callers = shares.get(local.name) ?? 0;
    if (upstream(local) >= callers) return;
    this.#stay = upstream(local) / callers;
    let sum = 0;
    for (const zone of this.#zones) {
      if (zone === local || zone.usable.length === 0) continue;
      const surplus = Math.max(0, upstream(zone) - (shares.get(zone.name) ?? 0));
      if (surplus === 0) continue;
      sum += surplus;
      this.#others.push(zone);
      this.#cumulative.push(sum);
    }
    // no zone with a surplus (the shares of unknown zones): what does not stay goes anywhere
    if (this.#others.length === 0) this.#stay = 1;
  }
}

const NOBODY: readonly Backend[] = Object.freeze([]);

const asBackend = (instance: Instance): Backend => ({
  instance,
  inFlight: 0,
  latencyMs: 1,
  successes: 0,
  failures: 0,
});
