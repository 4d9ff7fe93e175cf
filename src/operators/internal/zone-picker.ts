import type { DiscoveryStatus } from '../../discovery.js';
import type { Instance, InstanceSet } from '../../instance.js';
import type { Backend, Backends, Call, Picker } from '../../picker.js';

/** Each zone's share of the callers, from 0 to 1. */
export type CallerShares = ReadonlyMap<string, number>;

/** What a zone-aware picker is made with: `zoneAware()`'s options, read. */
export interface Settings {
  readonly zone: string;
  readonly zoneOf: (instance: Instance) => string | undefined;
  readonly policy: (members: readonly Instance[]) => Picker;
  readonly random: () => number;
}

/** Each zone's share of `callers`; undefined when there are none. */
export function sharesOf(
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
  /** A member's zone, for the channel's `grpc.lb.locality` label. */
  readonly localityOf: (instance: Instance) => string | undefined;
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
    this.localityOf = settings.zoneOf;
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
  health: 'UNCHECKED',
});
