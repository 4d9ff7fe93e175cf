/**
 * Subsetting: `clients` clients (ordinals 0..clients-1) keep `size` of `backends` backends
 * each. For rxlb's `subset()` and two stateless schemes it stands against, it counts how many
 * clients each backend serves, and how many connections (subset members) move when one backend
 * leaves, when one joins, and over a rolling replacement of every backend (a new one joins,
 * then an old one leaves, one at a time). A moved connection is a member a client drops for
 * another. Pure computation: no network.
 */
import { Subject } from 'rxjs';
import type { Update } from '../src/instance.js';
import { hash32, idealSubset } from '../src/operators/internal/subset-assignment.js';
import type { RxlbApi } from './rxlb.js';

export interface SubsettingConfig {
  readonly clients: number;
  readonly size: number;
  readonly backends: number;
  /** Also replace every backend, one at a time (seconds: every scheme deals again). */
  readonly rolling: boolean;
}

export const SUBSET_SCHEMES = [
  'rxlb subset()',
  'deal again on each change',
  'rendezvous hashing',
] as const;
export type SubsetScheme = (typeof SUBSET_SCHEMES)[number];

export const SUBSET_SCHEME_LABELS: Readonly<Record<SubsetScheme, string>> = {
  'rxlb subset()': 'rxlb subset(): deal once, then replace only what changed',
  'deal again on each change':
    "the SRE book's deterministic subsetting, dealt again on each change",
  'rendezvous hashing': 'rendezvous hashing: each client its top size by hash(client, backend)',
};

/** Clients per backend: the least, the most, and the mean. */
export interface Spread {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
}

export interface SubsettingRow {
  readonly scheme: SubsetScheme;
  readonly initial: Spread;
  /** One backend leaves: connections moved, clients that changed, clients that had it. */
  readonly leave: { readonly moved: number; readonly clients: number; readonly had: number };
  /** One backend joins. */
  readonly join: { readonly moved: number; readonly clients: number };
  /** After every backend was replaced, one at a time; undefined when not run. */
  readonly rolling: (Spread & { readonly moved: number }) | undefined;
}

export interface SubsettingResult {
  readonly config: SubsettingConfig;
  readonly rows: readonly SubsettingRow[];
}

const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:50051`;

/** The clients of one scheme: told each new set of backends, returns every client's members. */
type Fleet = (backends: readonly string[]) => readonly ReadonlySet<string>[];

/** rxlb's clients, each its own `subset()` pipeline, fed by one `diff()` of the sets. */
function rxlbFleet(rxlb: RxlbApi, { clients, size }: SubsettingConfig): Fleet {
  const sets = new Subject<readonly string[]>();
  const batches = new Subject<readonly Update[]>();
  sets.pipe(rxlb.diff()).subscribe(batches);
  const kept = Array.from({ length: clients }, (_, clientId) => {
    const members = new Set<string>();
    batches.pipe(rxlb.subset({ size, clientId })).subscribe((batch) => {
      for (const update of batch) {
        if (update.op === 'delete') members.delete(update.address);
        else members.add(update.address);
      }
    });
    return members;
  });
  return (backends) => {
    sets.next(backends);
    return kept;
  };
}

function statelessFleet(scheme: SubsetScheme, { clients, size }: SubsettingConfig): Fleet {
  const ids = Array.from({ length: clients }, (_, id) => id);
  if (scheme === 'deal again on each change') {
    return (backends) => ids.map((id) => new Set(idealSubset(id, backends, size)));
  }
  return (backends) =>
    ids.map((id) => {
      const keyed = backends.map((backend) => ({ backend, key: hash32(backend, id) }));
      keyed.sort((x, y) => x.key - y.key || (x.backend < y.backend ? -1 : 1));
      return new Set(keyed.slice(0, size).map(({ backend }) => backend));
    });
}

function spread(members: readonly ReadonlySet<string>[], backends: readonly string[]): Spread {
  const counts = new Map(backends.map((backend) => [backend, 0]));
  for (const set of members) for (const m of set) counts.set(m, (counts.get(m) ?? 0) + 1);
  const values = [...counts.values()];
  const total = values.reduce((a, b) => a + b, 0);
  return { min: Math.min(...values), max: Math.max(...values), mean: total / values.length };
}

/** Feeds the fleet `backends`; returns the connections moved and the clients that moved. */
function step(fleet: Fleet, held: ReadonlySet<string>[], backends: readonly string[]) {
  let moved = 0;
  let changed = 0;
  fleet(backends).forEach((members, i) => {
    const before = held[i] ?? new Set<string>();
    const dropped = [...before].filter((m) => !members.has(m)).length;
    moved += dropped;
    if (dropped > 0) changed++;
    held[i] = new Set(members);
  });
  return { moved, clients: changed };
}

function runScheme(fleet: Fleet, scheme: SubsetScheme, config: SubsettingConfig): SubsettingRow {
  let live = Array.from({ length: config.backends }, (_, i) => address(i));
  const held: ReadonlySet<string>[] = [];
  step(fleet, held, live);
  const initial = spread(held, live);
  const leaving = live[0] ?? '';
  const had = held.filter((set) => set.has(leaving)).length;
  const leave = step(fleet, held, live.slice(1));
  step(fleet, held, live); // it comes back
  const join = step(fleet, held, [...live, address(config.backends)]);
  step(fleet, held, live);
  if (!config.rolling)
    return { scheme, initial, leave: { ...leave, had }, join, rolling: undefined };
  let moved = 0;
  let next = config.backends + 1;
  for (let i = 0; i < config.backends; i++) {
    const old = live[0] ?? '';
    live = [...live.slice(1), address(next++)];
    moved += step(fleet, held, [...live, old]).moved;
    moved += step(fleet, held, live).moved;
  }
  return {
    scheme,
    initial,
    leave: { ...leave, had },
    join,
    rolling: { ...spread(held, live), moved },
  };
}

export function runSubsetting(rxlb: RxlbApi, config: SubsettingConfig): SubsettingResult {
  const rows = SUBSET_SCHEMES.map((scheme) =>
    runScheme(
      scheme === 'rxlb subset()' ? rxlbFleet(rxlb, config) : statelessFleet(scheme, config),
      scheme,
      config,
    ),
  );
  return { config, rows };
}
