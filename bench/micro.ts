/**
 * Micro benchmarks (mitata), as one table of cases run by one loop: each case is a row of the
 * micro table (its group and name), and its `setup` builds, once, the function that is timed.
 * Every case is set up first, then each is timed in turn (see benchmark.ts); what several rows
 * of a group time together (a picker and its backends) is built once per run.
 *
 * - `pick()`, at 3, 100 and 10,000 instances: rxlb's `Picker.pick()` over its members and over
 *   the channel's usable backends; the balanced channel's whole per-call pick (the grpc-js
 *   picker its policy publishes: rxlb's choice among the usable backends, the retry
 *   middleware's check, the backend's own pick_first result and the callbacks that count the
 *   call); grpc-js's own `RoundRobinPicker.pick()`; the load-aware policies' picks (add a
 *   policy to {@link PICK_POLICIES} and its rows and targets follow); `weightedRoundRobin()`'s,
 *   weighted 3, 1, 1, 3, 1, 1, … (each picker asked once before timing: its schedule is built on
 *   its first pick); and the floors no picker can beat: a bare array index, a bare index into
 *   the usable backends that reads the backend's instance, and a P2C pick written by hand;
 *   `ringHash()`'s pick of a call with a key (hashing it, then a binary search of the ring).
 * - A change of the usable backends (a backend connects, drops or is ejected: a new schedule
 *   over them, then finding the place to go on from), at 100, 1,000 and 10,000 instances:
 *   weighted round robin beside round robin's (a binary search for its place) and a floor
 *   (copying the usable backends to a new array, as the channel does). Three usable arrays take
 *   turns, each without a different member, so that the picker's cache of the last two never
 *   answers.
 * - One membership change through the operators, at 100, 1,000 and 10,000 instances: `diff()`
 *   per source emission and `roundRobin()` per batch, with one changed instance and with 10 %
 *   churn (10 % of the addresses leave and as many new ones arrive), every emission a fresh set
 *   of fresh objects, as every Consul answer is. Each size has a floor: the least work any
 *   operator must do for a keyed set of that size (for diff(), copy it into a new map and look
 *   each address up in the previous one; for roundRobin(), copy the members into a new array).
 *   Large maps miss the CPU caches, so the floor's cost per instance grows with size too:
 *   diff() is linear when its multiple of the floor stays the same at every size.
 * - Reading one Consul health answer of 10,000 entries into an `InstanceSet`
 *   (`mapHealthEntries`), next to `JSON.parse` of the same body, which the HTTP client pays
 *   before rxlb sees anything.
 *
 * rxlb's pickers run from `rxlb` (its build, dist/, in `npm run bench`), as users run it: the
 * channel's pick creates its call's callbacks, and tsx would wrap each in a `__name()` that the
 * build does not have. The operators' rows time src/'s diff() and roundRobin(), which create no
 * function per call. The channel's picker and grpc-js's are taken from live channels to the
 * backends, and built again over `size` backends cycled from theirs.
 */
import { type experimental, Metadata } from '@grpc/grpc-js';
import { do_not_optimize } from 'mitata';
import { firstValueFrom, from, type OperatorFunction, of, Subject, toArray } from 'rxjs';
import { backend } from '../marbles/fixtures.js';
import { mapHealthEntries } from '../src/consul/health.js';
import type { Instance, InstanceSet, Update } from '../src/instance.js';
import { diff } from '../src/operators/diff.js';
import { roundRobin } from '../src/operators/round-robin.js';
import type { Backend, Backends, Call, Picker } from '../src/picker.js';
import { ConsulTestServer } from '../src/testing/index.js';
import {
  type Benchmark,
  type BenchmarkResult,
  type MeasureOptions,
  measureAll,
} from './benchmark.js';
import { roundRobinChannel } from './channels.js';
import { field } from './reflect.js';
import type { RxlbApi } from './rxlb.js';

type GrpcJsPicker = experimental.Picker;
type Run = () => unknown;
/** What a case's setup makes: the function to time, with its group's full name if it has one. */
type Made = Run | { readonly run: Run; readonly group: string };

/**
 * One row of the micro table: `setup` builds the function to time. The first case of each
 * group is its reference row (the others are shown as multiples of its median).
 */
export interface MicroCase {
  /** Rows of a group are compared with each other, e.g. `'pick(), 100 instances'`. */
  readonly group: string;
  readonly name: string;
  setup(env: Env): Made | Promise<Made>;
}

/** The cases of `group`, each made from its name and setup. */
const rowsOf =
  (group: string) =>
  (name: string, setup: MicroCase['setup']): MicroCase => ({ group, name, setup });

/** What the cases of one run share. */
interface Env {
  readonly rxlb: RxlbApi;
  /** rxlb's balanced channel to the backends, once every backend is READY. */
  readonly live: LiveChannel;
  /** grpc-js RoundRobinPickers over `size` of its READY children, cycled. */
  readonly grpcJs: (size: number) => GrpcJsPicker;
  /** `build()`, called on the first ask for `key` in this run; later asks get its result. */
  shared<T>(key: string, build: () => T): T;
}

/** `build(env)` once per run, for every case that asks. */
const once =
  <T>(key: string, build: (env: Env) => T) =>
  (env: Env): T =>
    env.shared(key, () => build(env));

// Instances

/**
 * A Consul-like instance at a distinct address; a fresh object each call, as every Consul
 * answer brings.
 */
function consulInstance(i: number, version = '1'): Instance {
  const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:50051`;
  return {
    address,
    id: `greeter-${i}`,
    service: 'greeter',
    node: `node-${i % 50}`,
    datacenter: 'dc1',
    tags: ['grpc', 'v1'],
    meta: { version },
    weight: 1,
  };
}

/** `size` instances numbered from `first`, keyed by address; `changed` carries version 2. */
function instanceSet(size: number, { first = 0, changed = -1 } = {}): InstanceSet {
  const set = new Map<string, Instance>();
  for (let i = first; i < first + size; i++) {
    const instance = consulInstance(i, i === changed ? '2' : '1');
    set.set(instance.address, instance);
  }
  return set;
}

/** A batch that adds `size` instances. */
function addAll(size: number): Update[] {
  return [...instanceSet(size).values()].map((instance) => ({
    op: 'add',
    address: instance.address,
    instance,
  }));
}

/** A batch adding `size` instances weighted 3, 1, 1, 3, 1, 1, … */
function weightedBatch(size: number, weights: readonly number[] = [3, 1, 1]): Update[] {
  return Array.from({ length: size }, (_, i) => {
    const instance: Instance = { ...consulInstance(i), weight: weights[i % weights.length] ?? 1 };
    return { op: 'add', address: instance.address, instance };
  });
}

/** `"10,000 instances"` */
export function sizeLabel(size: number): string {
  return `${size.toLocaleString('en')} instances`;
}

/** `size` elements taken from `items` in turn. */
function cycle<T>(items: readonly T[], size: number): T[] {
  const result: T[] = [];
  for (let i = 0; result.length < size && items.length > 0; i++) {
    const item = items[i % items.length];
    if (item !== undefined) result.push(item);
  }
  return result;
}

// pick()

export const PICK_SIZES = [3, 100, 10_000] as const;

export const PICK_NAMES = Object.freeze({
  floor: 'floor: bare array index',
  floorBackends: "floor: bare index into the usable backends, and the backend's instance",
  members: 'rxlb Picker.pick() (members only)',
  usable: 'rxlb Picker.pick(backends)',
  channel: 'rxlb balanced channel per call (its grpc-js picker)',
  grpcJs: 'grpc-js RoundRobinPicker.pick()',
});

export const WEIGHTED_PICK_NAMES = Object.freeze({
  members: 'rxlb weightedRoundRobin Picker.pick() (members only, weights 3:1:1)',
  usable: 'rxlb weightedRoundRobin Picker.pick(backends) (weights 3:1:1)',
});

/** `ringHash()`'s pick of a call that carries a key, 1,000 keys in turn. */
export const RING_HASH_PICK_NAME =
  'rxlb ringHash({ key }) Picker.pick(backends, call) (a key per call, 1,000 keys in turn)';

/** A call whose header `x-user-id` is the next of 1,000 keys each time it is read. */
function keyedCall(): Call {
  const keys = Array.from({ length: 1_000 }, (_, i) => `user-${i}`);
  let next = 0;
  const metadata = {
    get: (key: string) => {
      if (key !== 'x-user-id') return undefined;
      next = next + 1 < keys.length ? next + 1 : 0;
      return keys[next];
    },
  };
  return { method: '', metadata };
}

export const pickGroup = (size: number) => `pick(), ${sizeLabel(size)}`;

export interface PickPolicy {
  /** e.g. `leastRequest()` */
  readonly name: string;
  /** The target: p50 at most this many times its floor's. */
  readonly maxVsFloor: number;
  operator(rxlb: RxlbApi): OperatorFunction<readonly Update[], Picker>;
}

/**
 * The load-aware policies, over the members and over usable backends with calls in flight,
 * as a balanced channel asks. peakEwma() reads latencies the channel would have measured, so
 * that its picks read estimates rather than the neutral cost.
 */
export const PICK_POLICIES: readonly PickPolicy[] = [
  { name: 'leastRequest()', maxVsFloor: 5, operator: (rxlb) => rxlb.leastRequest() },
  { name: 'peakEwma()', maxVsFloor: 5, operator: (rxlb) => rxlb.peakEwma() },
];

/** The row of what no P2C pick can beat, beside the bare loop that the targets compare with. */
export const P2C_FLOOR =
  'floor: P2C by hand (one xorshift32 draw, two backends at random positions, the one with fewer calls in flight)';

/** The row of `policy`'s pick over the members, or over usable backends. */
export function policyPickName(policy: PickPolicy, over: 'members' | 'backends'): string {
  return over === 'members'
    ? `rxlb ${policy.name} Picker.pick() (members only)`
    : `rxlb ${policy.name} Picker.pick(backends)`;
}

/** What `pick()` cannot beat: the next element of an array, wrapping around. */
function bareLoop(instances: readonly Instance[]): Run {
  const items = [...instances];
  let next = 0;
  return () => {
    const item = items[next];
    next = next + 1 < items.length ? next + 1 : 0;
    do_not_optimize(item);
  };
}

/** What `pick(backends)` cannot beat: the same, through the backend objects it reads. */
function bareBackendLoop(backends: Backends): Run {
  const items = [...backends.usable];
  let next = 0;
  return () => {
    const item = items[next];
    next = next + 1 < items.length ? next + 1 : 0;
    do_not_optimize(item?.instance);
  };
}

/**
 * What a P2C pick cannot beat: a draw of a generator written inline, split into two distinct
 * positions, their two backends' counts compared, the winner's instance. It reads two backends
 * at random positions where the bare loop reads the next one: at 10,000 members they are
 * rarely in the processor's caches.
 */
function p2cFloor(size: number): Run {
  const usable = [...instanceSet(size).values()].map((instance, i) =>
    backend(instance, { inFlight: i % 4 }),
  );
  const n = usable.length;
  const state = new Int32Array([0x2545f491]);
  return () => {
    let x = state[0] as number;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    state[0] = x;
    const drawn = (x >>> 0) * 2 ** -32 * n;
    const first = drawn | 0;
    let second = ((drawn - first) * (n - 1)) | 0;
    second += Number(second >= first);
    const a = usable[first] as Backend;
    const b = usable[second] as Backend;
    const winner = first + (second - first) * Number(b.inFlight < a.inFlight);
    do_not_optimize((usable[winner] as Backend).instance);
  };
}

/** What the benchmark needs of the channel's picker and its backends (dist's classes). */
interface ChannelPicker extends GrpcJsPicker {
  readonly constructor: new (
    grpc: unknown, // the channel's grpc-js module
    policy: Picker,
    view: Backends,
    members: ReadonlyMap<string, Backend>,
    name: string,
    exhausted: () => void,
  ) => GrpcJsPicker;
}
type LiveBackend = Backend & { view: Backends | undefined };
type LiveChannel = Awaited<ReturnType<typeof liveChannel>>;

/** A balanced channel over `addresses` once every backend is READY, and its live picker. */
async function liveChannel(rxlb: RxlbApi, addresses: readonly string[]) {
  const channel = rxlb.createBalancedChannel(of(addresses).pipe(rxlb.diff(), rxlb.roundRobin()));
  const deadline = Date.now() + 5_000;
  const ready = () => {
    const backends = channel.backends();
    return backends.length === addresses.length && backends.every((b) => b.state === 'READY');
  };
  while (!ready()) {
    if (Date.now() > deadline) {
      channel.close();
      throw new Error('the balanced channel did not make every backend READY in 5 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const picker = field(field(channel, 'internalChannel'), 'currentPicker') as ChannelPicker;
  const backends = (field(picker, 'view') as Backends).usable as readonly LiveBackend[];
  return { picker, backends, close: () => channel.close() };
}

/** The channel's pick over `size` usable backends, cycled from the live ones. */
async function channelPick(size: number, { rxlb, live }: Env): Promise<Run> {
  const usable = cycle(live.backends, size);
  const policy = await firstValueFrom(
    of(usable.map((b) => b.instance)).pipe(rxlb.diff(), rxlb.roundRobin()),
  );
  const view: Backends = { usable };
  const members = new Map(live.backends.map((backend) => [backend.instance.address, backend]));
  const grpc = field(live.picker, 'grpc');
  const picker = new live.picker.constructor(grpc, policy, view, members, 'bench', () => {});
  const args: experimental.PickArgs = { metadata: new Metadata(), extraPickInfo: {} };
  const [first] = live.backends;
  return () => {
    // The channel marks the backends of its current view; this group's view is that now.
    if (first?.view !== view) for (const backend of live.backends) backend.view = view;
    do_not_optimize(picker.pick(args));
  };
}

function pickCases(size: number): MicroCase[] {
  const group = pickGroup(size);
  const row = rowsOf(group);
  const roundRobin = once(`${group}: roundRobin()`, async ({ rxlb }) => {
    const picker = await firstValueFrom(of(addAll(size)).pipe(rxlb.roundRobin()));
    return { picker, backends: { usable: picker.instances.map((instance) => backend(instance)) } };
  });
  const weighted = once(`${group}: weightedRoundRobin()`, async ({ rxlb }) => {
    const picker = await firstValueFrom(of(weightedBatch(size)).pipe(rxlb.weightedRoundRobin()));
    const backends: Backends = { usable: picker.instances.map((instance) => backend(instance)) };
    picker.pick(); // builds the members' schedule, which the usable backends (all) share
    picker.pick(backends);
    return { picker, backends };
  });
  // Each kind of picker has its own timed functions (function literals): V8 shares what a call
  // site has learned among the closures of one literal, and `picker.pick` called on every kind
  // of picker from one literal would time a polymorphic call.
  return [
    row(PICK_NAMES.floor, async (env) => bareLoop((await roundRobin(env)).picker.instances)),
    row(PICK_NAMES.floorBackends, async (env) => bareBackendLoop((await roundRobin(env)).backends)),
    row(PICK_NAMES.members, async (env) => {
      const { picker } = await roundRobin(env);
      return () => do_not_optimize(picker.pick());
    }),
    row(PICK_NAMES.usable, async (env) => {
      const { picker, backends } = await roundRobin(env);
      return () => do_not_optimize(picker.pick(backends));
    }),
    row(PICK_NAMES.channel, (env) => channelPick(size, env)),
    row(PICK_NAMES.grpcJs, ({ grpcJs }) => {
      const picker = grpcJs(size);
      const args: experimental.PickArgs = { metadata: new Metadata(), extraPickInfo: {} };
      return () => do_not_optimize(picker.pick(args));
    }),
    row(P2C_FLOOR, () => p2cFloor(size)),
    ...PICK_POLICIES.flatMap((policy) => {
      const built = once(`${group}: ${policy.name}`, async ({ rxlb }) => {
        const picker = await firstValueFrom(of(addAll(size)).pipe(policy.operator(rxlb)));
        // latencies as the channel would have measured them, 1 to 7 ms
        const usable = picker.instances.map((instance, i) =>
          backend(instance, { inFlight: i % 4, latencyMs: 1 + (i % 7) }),
        );
        return { picker, backends: { usable } };
      });
      return [
        row(policyPickName(policy, 'members'), async (env) => {
          const { picker } = await built(env);
          return () => do_not_optimize(picker.pick());
        }),
        row(policyPickName(policy, 'backends'), async (env) => {
          const { picker, backends } = await built(env);
          return () => do_not_optimize(picker.pick(backends));
        }),
      ];
    }),
    row(RING_HASH_PICK_NAME, async ({ rxlb }) => {
      const picker = await firstValueFrom(
        of(addAll(size)).pipe(rxlb.ringHash({ key: 'x-user-id' })),
      );
      const backends = { usable: picker.instances.map((instance) => backend(instance)) };
      const call = keyedCall();
      picker.pick(backends, call); // the table of usable entries is built on the first pick
      return () => do_not_optimize(picker.pick(backends, call));
    }),
    row(WEIGHTED_PICK_NAMES.members, async (env) => {
      const { picker } = await weighted(env);
      return () => do_not_optimize(picker.pick());
    }),
    row(WEIGHTED_PICK_NAMES.usable, async (env) => {
      const { picker, backends } = await weighted(env);
      return () => do_not_optimize(picker.pick(backends));
    }),
  ];
}

// A change of the usable backends

const CHANGE_SIZES = [100, 1_000, 10_000] as const;
const changeGroup = (size: number) =>
  `pick() after a change of the usable backends, ${size.toLocaleString('en')} instances`;
const CHANGE_NAMES = Object.freeze({
  floor: 'floor: copy the usable backends to a new array',
  roundRobin: 'rxlb roundRobin Picker.pick(backends)',
  weighted: 'rxlb weightedRoundRobin Picker.pick(backends) (weights 3:1:1)',
});

function changeCases(size: number): MicroCase[] {
  const group = changeGroup(size);
  const row = rowsOf(group);
  const batch = once(group, () => weightedBatch(size));
  const views =
    (operator: (rxlb: RxlbApi) => OperatorFunction<readonly Update[], Picker>) =>
    async (env: Env): Promise<Run> => {
      const picker = await firstValueFrom(of(batch(env)).pipe(operator(env.rxlb)));
      const backends = picker.instances.map((instance) => backend(instance));
      const turns = [1, 2, 3].map((gap) => ({
        usable: backends.filter((_, i) => i !== Math.floor((gap * size) / 4)),
      }));
      let turn = 0;
      return () => do_not_optimize(picker.pick(turns[turn++ % 3]));
    };
  return [
    row(CHANGE_NAMES.floor, (env) => {
      const all = batch(env).map((update) => update.op === 'add' && update.instance);
      return () => do_not_optimize(all.filter((_, i) => i !== size >> 1));
    }),
    row(
      CHANGE_NAMES.roundRobin,
      views((rxlb) => rxlb.roundRobin()),
    ),
    row(
      CHANGE_NAMES.weighted,
      views((rxlb) => rxlb.weightedRoundRobin()),
    ),
  ];
}

// diff() and roundRobin() per change

export const DIFF_SIZES = [100, 1_000, 10_000] as const;
export const CHANGES = ['one change', '10 % churn'] as const;
type Change = (typeof CHANGES)[number];

export const DIFF_FLOOR = 'floor: copy to a new Map + look up each address';
const ROUND_ROBIN_FLOOR = 'floor: copy the members to a new array';
export const diffGroup = (size: number) => `diff() per emission, ${sizeLabel(size)}`;
const roundRobinGroup = (size: number) => `roundRobin() per batch, ${sizeLabel(size)}`;

/** Two sets of `size` instances that differ by `change`: emitting them in turn changes that. */
function alternatingSets(size: number, change: Change): readonly [InstanceSet, InstanceSet] {
  if (change === 'one change') {
    return [instanceSet(size), instanceSet(size, { changed: size >> 1 })];
  }
  return [instanceSet(size), instanceSet(size, { first: Math.round(size / 10) })];
}

/** Calls `next` with `values` in turn, one per call. */
function alternately<T>(values: readonly [T, T], next: (value: T) => void): Run {
  let turn = 0;
  return () => next(values[turn++ & 1] ?? values[0]);
}

function diffCases(size: number): MicroCase[] {
  const row = rowsOf(diffGroup(size));
  const floor = (): Run => {
    let previous: ReadonlyMap<string, Instance> = new Map();
    return alternately(alternatingSets(size, 'one change'), (set) => {
      const next = new Map<string, Instance>();
      for (const [address, instance] of set) {
        next.set(address, instance);
        do_not_optimize(previous.get(address));
      }
      previous = next;
    });
  };
  const timed = (change: Change): Run => {
    const source = new Subject<InstanceSet>();
    source.pipe(diff()).subscribe((batch) => do_not_optimize(batch));
    return alternately(alternatingSets(size, change), (set) => source.next(set));
  };
  return [
    row(DIFF_FLOOR, floor),
    ...CHANGES.map((change) => row(`diff(), ${change}`, () => timed(change))),
  ];
}

function roundRobinCases(size: number): MicroCase[] {
  const row = rowsOf(roundRobinGroup(size));
  const floor = (): Run => {
    const members = new Map([...instanceSet(size)]);
    return () => do_not_optimize([...members.values()]);
  };
  const timed = async (change: Change): Promise<Run> => {
    const [a, b] = alternatingSets(size, change);
    const [first, aToB, bToA] = await firstValueFrom(from([a, b, a]).pipe(diff(), toArray()));
    if (!first || !aToB || !bToA) throw new Error('diff() did not yield three batches');
    const source = new Subject<readonly Update[]>();
    source.pipe(roundRobin()).subscribe((picker) => do_not_optimize(picker));
    source.next(first);
    return alternately([aToB, bToA], (batch) => source.next(batch));
  };
  return [
    row(ROUND_ROBIN_FLOOR, floor),
    ...CHANGES.map((change) => row(`roundRobin(), ${change}`, () => timed(change))),
  ];
}

// A Consul health answer

const HEALTH_ENTRIES = 10_000;
const HEALTH_GROUP = `Consul health answer of ${HEALTH_ENTRIES.toLocaleString('en')} entries`;
const TEMPLATE_ID = 'greeter-template';
const TEMPLATE_HOST = '10.255.255.254';

/**
 * The body of `/v1/health/service/greeter?passing` with `entries` instances: one real entry
 * of ConsulTestServer (node, service with tags, meta and weights, and its checks), repeated
 * with a distinct id and address each. Registering 10,000 instances for real takes seconds.
 */
async function healthAnswer(entries: number): Promise<string> {
  const consul = await new ConsulTestServer().start();
  let template: string;
  try {
    consul.registerService({
      Name: 'greeter',
      ID: TEMPLATE_ID,
      Address: TEMPLATE_HOST,
      Port: 50051,
      Tags: ['grpc', 'v1'],
      Meta: { version: '1' },
      Weights: { Passing: 1, Warning: 1 },
      Check: { CheckID: `${TEMPLATE_ID}-ttl`, TTL: '1h', Status: 'passing' },
    });
    const response = await fetch(`http://${consul.address}/v1/health/service/greeter?passing`);
    const body: unknown = await response.json();
    template = JSON.stringify(Array.isArray(body) ? body[0] : undefined);
  } finally {
    await consul.stop();
  }
  const items: string[] = [];
  for (let i = 0; i < entries; i++) {
    const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    items.push(template.replaceAll(TEMPLATE_ID, `greeter-${i}`).replaceAll(TEMPLATE_HOST, host));
  }
  return `[${items.join(',')}]`;
}

/** The answer, parsed, and the group's name with its size. */
const health = once(HEALTH_GROUP, async () => {
  const text = await healthAnswer(HEALTH_ENTRIES);
  const body: unknown = JSON.parse(text);
  const mapped = mapHealthEntries(body);
  if (mapped?.instances.size !== HEALTH_ENTRIES) {
    throw new Error(`expected ${HEALTH_ENTRIES} instances, got ${mapped?.instances.size}`);
  }
  return { text, body, group: `${HEALTH_GROUP} (${(text.length / 1e6).toFixed(1)} MB)` };
});

const healthRow = rowsOf(HEALTH_GROUP);
const HEALTH_CASES: readonly MicroCase[] = [
  healthRow('reference: JSON.parse of the body', async (env) => {
    const { text, group } = await health(env);
    return { group, run: () => do_not_optimize(JSON.parse(text)) };
  }),
  healthRow('rxlb mapHealthEntries → InstanceSet', async (env) => {
    const { body, group } = await health(env);
    return { group, run: () => do_not_optimize(mapHealthEntries(body)) };
  }),
];

/** Every row of the micro table, in its order. */
export const MICRO_CASES: readonly MicroCase[] = [
  ...PICK_SIZES.flatMap(pickCases),
  ...CHANGE_SIZES.flatMap(changeCases),
  ...DIFF_SIZES.flatMap(diffCases),
  ...DIFF_SIZES.flatMap(roundRobinCases),
  ...HEALTH_CASES,
];

/** The rows of `pick()` that the policy targets read: all but weighted round robin's. */
export const POLICY_PICK_CASES: readonly MicroCase[] = MICRO_CASES.filter(
  (c) =>
    c.group.startsWith('pick(), ') &&
    c.name !== WEIGHTED_PICK_NAMES.members &&
    c.name !== WEIGHTED_PICK_NAMES.usable,
);

// grpc-js's own round-robin picker. `RoundRobinPicker` is not exported by `@grpc/grpc-js`
// (neither from its index nor from `build/src/load-balancer-round-robin.js`, which only exports
// the load balancer), so it is taken from a live `round_robin` channel: its current picker,
// once every backend is READY, is a `RoundRobinPicker` over pick_first children. Its class then
// builds pickers of any size from those children, exactly as grpc-js does on each change.

interface Child {
  readonly endpoint: unknown;
  readonly picker: GrpcJsPicker;
}

type RoundRobinPickerClass = new (children: readonly Child[], nextIndex: number) => GrpcJsPicker;

function isPicker(value: unknown): value is GrpcJsPicker {
  return typeof field(value, 'pick') === 'function';
}

function isChild(value: unknown): value is Child {
  return isPicker(field(value, 'picker'));
}

/** The live channel's RoundRobinPicker class and its children, once all `size` are READY. */
function readRoundRobin(
  channel: ReturnType<typeof roundRobinChannel>,
  size: number,
): { readonly Picker: RoundRobinPickerClass; readonly children: readonly Child[] } | undefined {
  const picker = field(field(channel, 'internalChannel'), 'currentPicker');
  const children = field(picker, 'children');
  if (!isPicker(picker) || picker.constructor.name !== 'RoundRobinPicker') return undefined;
  if (!Array.isArray(children) || children.length !== size || !children.every(isChild)) {
    return undefined;
  }
  return { Picker: picker.constructor as RoundRobinPickerClass, children };
}

/**
 * Connects a round_robin channel to `addresses` and returns a function that builds grpc-js
 * RoundRobinPickers of any size from its READY children (cycled), and the channel to close.
 */
async function grpcJsPickers(
  addresses: readonly string[],
): Promise<{ readonly picker: (size: number) => GrpcJsPicker; readonly close: () => void }> {
  const channel = roundRobinChannel(addresses);
  channel.getConnectivityState(true);
  const deadline = Date.now() + 5_000;
  let live = readRoundRobin(channel, addresses.length);
  while (!live) {
    if (Date.now() > deadline) {
      channel.close();
      throw new Error('grpc-js round_robin channel did not make every backend READY in 5 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
    live = readRoundRobin(channel, addresses.length);
  }
  const { Picker, children } = live;
  return {
    picker: (size) => new Picker(cycle(children, size), 0),
    close: () => channel.close(),
  };
}

/**
 * Sets up every case of `cases`, over live channels to `addresses` (closed once everything is
 * timed), then times each in turn.
 */
export async function runMicro(
  rxlb: RxlbApi,
  addresses: readonly string[],
  options: MeasureOptions,
  cases: readonly MicroCase[] = MICRO_CASES,
): Promise<BenchmarkResult[]> {
  const grpcJs = await grpcJsPickers(addresses);
  let live: LiveChannel | undefined;
  try {
    live = await liveChannel(rxlb, addresses);
    const built = new Map<string, unknown>();
    const env: Env = {
      rxlb,
      live,
      grpcJs: grpcJs.picker,
      shared: <T>(key: string, build: () => T): T => {
        if (!built.has(key)) built.set(key, build());
        return built.get(key) as T;
      },
    };
    const benchmarks: Benchmark[] = [];
    const groups = new Set<string>();
    for (const { group, name, setup } of cases) {
      const made = await setup(env);
      const baseline = !groups.has(group); // the first of its group
      groups.add(group);
      const [fn, shown] = typeof made === 'function' ? [made, group] : [made.run, made.group];
      benchmarks.push({ group: shown, name, baseline, fn });
    }
    return await measureAll(benchmarks, options);
  } finally {
    grpcJs.close();
    live?.close();
  }
}
