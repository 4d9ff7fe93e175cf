/**
 * Memory and handles: heap (after a full GC), `process.getActiveResourcesInfo()` and the
 * connections open at the backends, before a balanced channel exists, after warm-up, after
 * `changes` membership changes with calls running, and after `close()`.
 *
 * Each change toggles a spare backend's check in ConsulTestServer and waits until the
 * channel's picker reflects it, so every change goes through the watch, diff(), roundRobin()
 * and the channel's policy, which connects to the spare and lets it go each time. The watch runs
 * with `minIntervalMs: 0`: the default rate limit (50 ms between queries) would stretch
 * 10,000 changes to over 8 minutes without changing what each change allocates.
 *
 * `heapUsed` also grows while V8 compiles and re-optimizes hot code, which is not a leak, so
 * each snapshot also counts the JavaScript objects alive (countHeapObjects, below).
 *
 * grpc-js unrefs idle sockets, so `getActiveResourcesInfo()` does not list every connection:
 * the backends' own count of open connections is the check for leaked ones. One channel is
 * opened, used and closed before the first snapshot, so that modules grpc-js and rxlb load
 * lazily on first use are not mistaken for growth; ConsulTestServer's request log (harness
 * memory, not rxlb's) is cleared before each snapshot.
 */
import { getHeapSnapshot, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Picker } from '../src/picker.js';
import { ConsulTestServer } from '../src/testing/index.js';
import { type Backends, spareAndBase } from './backends.js';
import { checkId, registerAll, registerWithCheck, rxlbChannel } from './channels.js';
import { startTraffic, type Traffic, unaryCaller } from './load.js';
import { field } from './reflect.js';
import type { RxlbApi } from './rxlb.js';
import { sleep } from './stats.js';

export interface MemoryConfig {
  readonly warmupChanges: number;
  readonly changes: number;
  /** Heap is sampled this many times during the changes, to show a trend. */
  readonly checkpoints: number;
  readonly concurrency: number;
  /** Count heap objects at each snapshot (a heap snapshot each: most of a second). */
  readonly countObjects: boolean;
  /** How long to let closed connections finish closing before each snapshot. */
  readonly settleMs: number;
}

export interface MemorySnapshot {
  readonly label: string;
  readonly heapUsed: number;
  /** Active handles and requests by type, e.g. `{ TCPSocketWrap: 2, Timeout: 2 }`. */
  readonly resources: Readonly<Record<string, number>>;
  readonly handles: number;
  /** Client connections open at the backends. */
  readonly backendConnections: number;
  /** JavaScript objects alive (compiled code left out); NaN when not counted. */
  readonly objects: HeapObjects;
}

export interface MemoryResult {
  readonly changes: number;
  readonly snapshots: readonly MemorySnapshot[];
  /** `[changes done, heapUsed]` during the churn. */
  readonly trend: readonly (readonly [number, number])[];
  readonly calls: number;
  readonly callErrors: number;
}

const SERVICE = 'churn';
const SPARE_ID = 'spare';

/** `global.gc`, without asking the user to start node with `--expose-gc`. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc !== 'function') throw new Error('could not expose the garbage collector');
  return () => gc();
}

/**
 * A balanced channel on `consul` with calls running, a way to toggle the spare, and a way to
 * pause the calls for a snapshot.
 */
function churningChannel(
  rxlb: RxlbApi,
  consul: ConsulTestServer,
  spare: string,
  concurrency: number,
) {
  let present = false;
  let reflected = () => {};
  const onPicker = (picker: Picker) => {
    if (picker.instances.some((i) => i.address === spare) === present) reflected();
  };
  const channel = rxlbChannel(rxlb, consul.address, SERVICE, { minIntervalMs: 0, tap: onPicker });
  const call = unaryCaller(channel);
  let traffic: Traffic | undefined = startTraffic(call, concurrency);
  let calls = 0;
  let errors = 0;
  /** Stops the calls and waits for those in flight, so that a snapshot sees none. */
  const pauseCalls = async () => {
    await traffic?.stop();
    calls += traffic?.calls ?? 0;
    errors += traffic?.errors ?? 0;
    traffic = undefined;
  };
  /** Flips the spare's check and resolves once the picker has followed. */
  const toggle = () => {
    present = !present;
    const seen = new Promise<void>((resolve) => {
      reflected = resolve;
    });
    consul.setCheckStatus(checkId(SPARE_ID), present ? 'passing' : 'critical');
    return seen;
  };
  return {
    toggle,
    pauseCalls,
    resumeCalls() {
      traffic ??= startTraffic(call, concurrency);
    },
    /** Leaves the spare out, stops the calls (and their timers), closes the channel. */
    async close() {
      if (present) await toggle();
      await pauseCalls();
      channel.close();
      return { calls, errors };
    },
  };
}

export async function runMemory(
  rxlb: RxlbApi,
  backends: Backends,
  config: MemoryConfig,
): Promise<MemoryResult> {
  const { spare, base } = spareAndBase(backends);
  const gc = collector();
  const consul = await new ConsulTestServer().start();
  registerAll(consul, SERVICE, base);
  registerWithCheck(consul, SERVICE, SPARE_ID, spare, 'critical');
  const snapshot = async (label: string): Promise<MemorySnapshot> => {
    await sleep(config.settleMs);
    consul.clearRequests();
    gc();
    gc();
    const info = process.getActiveResourcesInfo();
    const resources: Record<string, number> = {};
    for (const type of info) resources[type] = (resources[type] ?? 0) + 1;
    const { heapUsed } = process.memoryUsage();
    const backendConnections = await backends.connections();
    const objects = config.countObjects
      ? await countHeapObjects()
      : { count: Number.NaN, bytes: Number.NaN };
    return { label, heapUsed, resources, handles: info.length, backendConnections, objects };
  };
  try {
    const first = churningChannel(rxlb, consul, spare, config.concurrency);
    for (let i = 0; i < 10; i++) await first.toggle();
    await first.close();
    const snapshots = [await snapshot('before the channel')];

    const churn = churningChannel(rxlb, consul, spare, config.concurrency);
    for (let i = 0; i < config.warmupChanges; i++) await churn.toggle();
    await churn.pauseCalls();
    snapshots.push(await snapshot(`after ${config.warmupChanges} changes of warm-up`));
    churn.resumeCalls();
    const trend: [number, number][] = [];
    const every = Math.max(1, Math.floor(config.changes / config.checkpoints));
    for (let i = 1; i <= config.changes; i++) {
      await churn.toggle();
      if (i % every === 0) {
        consul.clearRequests();
        gc();
        trend.push([i, process.memoryUsage().heapUsed]);
      }
    }
    // with the spare out again, as after warm-up, so that both hold the same connections
    if (config.changes % 2 === 1) await churn.toggle();
    await churn.pauseCalls();
    snapshots.push(await snapshot(`after ${config.changes.toLocaleString('en')} more changes`));
    const { calls, errors } = await churn.close();
    snapshots.push(await snapshot('after close()'));
    return {
      changes: config.changes,
      snapshots,
      trend,
      calls,
      callErrors: errors,
    };
  } finally {
    await consul.stop();
  }
}

/** Node types of a snapshot that are program data rather than V8's own machinery. */
const DATA_TYPES = new Set([
  'object',
  'closure',
  'array',
  'string',
  'concatenated string',
  'sliced string',
  'number',
  'regexp',
  'bigint',
]);

const NODES = '"nodes":[';

export interface HeapObjects {
  readonly count: number;
  /** Their shallow sizes, summed. */
  readonly bytes: number;
}

function strings(value: unknown): readonly string[] {
  return Array.isArray(value) ? value.filter((s): s is string => typeof s === 'string') : [];
}

/** Reads `meta` from the text before `"nodes":[`: which field is which, and type names. */
function readMeta(head: string) {
  const snapshot = field(JSON.parse(`${head}}`), 'snapshot');
  const meta = field(snapshot, 'meta');
  const fields = strings(field(meta, 'node_fields'));
  const types = field(meta, 'node_types');
  const typeNames = strings(Array.isArray(types) ? types[0] : undefined);
  const typeAt = fields.indexOf('type');
  const sizeAt = fields.indexOf('self_size');
  if (typeAt < 0 || sizeAt < 0) throw new Error('unexpected heap snapshot format');
  const isData = typeNames.map((name) => DATA_TYPES.has(name));
  return { width: fields.length, typeAt, sizeAt, isData };
}

/**
 * Counts the JavaScript objects alive on the heap, from a V8 heap snapshot (which collects
 * garbage first). Unlike `heapUsed`, the count leaves out what V8 compiles and optimizes as
 * the program warms up (code, deoptimization data, feedback), so that growth in it means
 * objects the program keeps, i.e. a leak.
 *
 * The snapshot is JSON: `{"snapshot":{"meta":…},"nodes":[…],"edges":[…],"strings":[…]}`, tens
 * of megabytes. Only `meta` and `nodes` are needed, so they are read from the stream as it
 * comes and the rest is never parsed.
 */
export async function countHeapObjects(): Promise<HeapObjects> {
  const stream = getHeapSnapshot();
  let head = '';
  let meta: ReturnType<typeof readMeta> | undefined;
  let count = 0;
  let bytes = 0;
  let value = 0; // the number being read
  let position = 0; // index of that number in `nodes`
  let isData = false;
  let digits = false; // whether `value` has digits yet
  for await (const chunk of stream) {
    let text = String(chunk);
    if (!meta) {
      head += text;
      const at = head.indexOf(NODES);
      if (at < 0) continue;
      // Not a RegExp: V8 keeps the last RegExp subject alive, and this one is megabytes long.
      let end = at;
      while (end > 0 && ', \n\r\t'.includes(head.charAt(end - 1))) end -= 1;
      meta = readMeta(head.slice(0, end));
      text = head.slice(at + NODES.length);
    }
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 48 && c <= 57) {
        value = value * 10 + (c - 48);
        digits = true;
        continue;
      }
      if (digits) {
        const column = position % meta.width;
        if (column === meta.typeAt) isData = meta.isData[value] ?? false;
        if (column === meta.sizeAt && isData) {
          count += 1;
          bytes += value;
        }
        position += 1;
        value = 0;
        digits = false;
      }
      if (c === 93) {
        // ']': the end of "nodes"; edges and strings are not needed
        stream.destroy();
        return { count, bytes };
      }
    }
  }
  throw new Error('heap snapshot ended inside "nodes"');
}
