/**
 * Failover between datacenters: how long after the answer that empties home (dc1) the
 * balanced channel has a picker of dc2's instances, and how long after home is back it has
 * dc1's again, with calls running all along; then the idle cost of a failover watch, in
 * health queries per wait period for each watched datacenter.
 *
 * Two ConsulTestServers joined over the WAN; the client asks dc1's agent, so both loops'
 * queries reach dc1's server (dc2's with `?dc=dc2`). A change is dc1's node going into
 * maintenance and out of it: one index, every instance of dc1 at once.
 */
import type { Subscription } from 'rxjs';
import type { Picker } from '../src/picker.js';
import { ConsulTestServer } from '../src/testing/index.js';
import type { Backends } from './backends.js';
import { registerAll, rxlbChannel } from './channels.js';
import { spreadsOf } from './convergence.js';
import { type CallRecord, startTraffic, unaryCaller } from './load.js';
import type { RxlbApi } from './rxlb.js';
import { recordGcPauses, runQueueWaitMs, type Spread, sleep } from './stats.js';

export interface FailoverConfig {
  /** Cycles run first and not counted (JIT, connections). */
  readonly warmupCycles: number;
  /** Each cycle empties dc1, then brings it back. */
  readonly cycles: number;
  readonly gapMs: number;
  /** Calls in flight all along. */
  readonly concurrency: number;
  /** The idle measurement: `wait` of the watches, and how many wait periods it counts. */
  readonly waitMs: number;
  readonly periods: number;
  /** How many `sharedConsulInstances$` subscribers the second idle measurement runs. */
  readonly sharedSubscribers: number;
}

export const FAILOVER_KINDS = ['dc1 emptied → dc2', 'dc1 back → dc1'] as const;
export type FailoverKind = (typeof FAILOVER_KINDS)[number];

export interface FailoverSample {
  readonly kind: FailoverKind;
  /** From the change to the picker over the other datacenter's instances; NaN if none came. */
  readonly toPickerMs: number;
  /** From the change to the end of the first call answered in that datacenter. */
  readonly toCallMs: number;
  /** Meanwhile, how long this process's event loop waited for a CPU (see stats.ts). */
  readonly runQueueMs: number;
  /** Meanwhile, how long this process paused for garbage collection. */
  readonly gcMs: number;
}

export interface FailoverIdle {
  readonly subscribers: number;
  readonly shared: boolean;
  readonly waitMs: number;
  readonly elapsedMs: number;
  /** Health queries per wait period for each watched datacenter, all subscribers together. */
  readonly perWait: Readonly<Record<'dc1' | 'dc2', number>>;
}

export interface FailoverResult {
  readonly samples: readonly FailoverSample[];
  readonly toPicker: Spread;
  readonly toCall: Spread;
  /** Changes whose picker or first call did not come within the timeout. */
  readonly timeouts: number;
  /** Calls that started after a switch's picker and still reached the datacenter left. */
  readonly violations: number;
  readonly callErrors: number;
  readonly idle: readonly FailoverIdle[];
}

const SERVICE = 'failover';
const TIMEOUT_MS = 2_000;

/** dc1, and dc2 joined to it over the WAN, each with two of the backends. */
async function twoDatacenters(dc1Addresses: readonly string[], dc2Addresses: readonly string[]) {
  const dc1 = await new ConsulTestServer({ datacenter: 'dc1' }).start();
  const dc2 = await new ConsulTestServer({ datacenter: 'dc2', wanJoin: dc1 }).start();
  registerAll(dc1, SERVICE, dc1Addresses);
  registerAll(dc2, SERVICE, dc2Addresses);
  return {
    dc1,
    async stop() {
      await dc2.stop();
      await dc1.stop();
    },
  };
}

/** One switch being timed: from `changedAt` to a picker over `to` and a call answered there. */
interface Pending {
  readonly changedAt: number;
  readonly to: ReadonlySet<string>;
  readonly from: ReadonlySet<string>;
  pickerAt: number | undefined;
  callAt: number | undefined;
  readonly done: () => void;
}

async function measureSwitches(
  rxlb: RxlbApi,
  backends: Backends,
  config: FailoverConfig,
): Promise<Omit<FailoverResult, 'idle'>> {
  const [a, b, c, d] = backends.addresses;
  if (d === undefined || c === undefined || b === undefined || a === undefined) {
    throw new Error('the failover benchmark needs 4 backends');
  }
  const dc1Backends = new Set([a, b]);
  const dc2Backends = new Set([c, d]);
  const { dc1, stop } = await twoDatacenters([a, b], [c, d]);
  let pending: Pending | undefined;
  let violations = 0;
  const settle = (p: Pending) => {
    if (p.pickerAt !== undefined && p.callAt !== undefined) p.done();
  };
  const onPicker = (picker: Picker) => {
    const p = pending;
    if (p === undefined || p.pickerAt !== undefined || picker.instances.length === 0) return;
    if (picker.instances.every((instance) => p.to.has(instance.address))) {
      p.pickerAt = performance.now();
      settle(p);
    }
  };
  const onCall = ({ start, end, backend }: CallRecord) => {
    const p = pending;
    if (p === undefined || backend === undefined) return;
    if (p.pickerAt !== undefined && start >= p.pickerAt && p.from.has(backend)) violations += 1;
    if (p.callAt === undefined && start >= p.changedAt && p.to.has(backend)) {
      p.callAt = end;
      settle(p);
    }
  };
  const channel = rxlbChannel(rxlb, dc1.address, SERVICE, { tap: onPicker, failover: ['dc2'] });
  const traffic = startTraffic(unaryCaller(channel), config.concurrency, onCall);
  const timed: { sample: Omit<FailoverSample, 'gcMs'>; from: number; to: number }[] = [];
  const gc = recordGcPauses();
  let timeouts = 0;
  const measure = async (kind: FailoverKind, emptied: boolean) => {
    let done = () => {};
    let timer: NodeJS.Timeout | undefined;
    const settled = new Promise<boolean>((resolve) => {
      done = () => resolve(true);
      timer = setTimeout(() => resolve(false), TIMEOUT_MS);
    });
    const [to, from] = emptied ? [dc2Backends, dc1Backends] : [dc1Backends, dc2Backends];
    const p: Pending = {
      changedAt: performance.now(),
      to,
      from,
      pickerAt: undefined,
      callAt: undefined,
      done,
    };
    pending = p;
    const queued = runQueueWaitMs();
    dc1.setNodeMaintenance(emptied, 'failover benchmark');
    if (!(await settled)) timeouts += 1;
    clearTimeout(timer);
    pending = undefined;
    const sample = {
      kind,
      toPickerMs: (p.pickerAt ?? Number.NaN) - p.changedAt,
      toCallMs: (p.callAt ?? Number.NaN) - p.changedAt,
      runQueueMs: runQueueWaitMs() - queued,
    };
    timed.push({ sample, from: p.changedAt, to: performance.now() });
    await sleep(config.gapMs);
  };
  try {
    await sleep(config.gapMs); // the first picker and connections
    for (let cycle = 0; cycle < config.warmupCycles + config.cycles; cycle++) {
      if (cycle === config.warmupCycles) {
        timed.length = 0;
        timeouts = 0;
        violations = 0;
      }
      await measure('dc1 emptied → dc2', true);
      await measure('dc1 back → dc1', false);
    }
  } finally {
    gc.stop();
    await traffic.stop();
    channel.close();
    await stop();
  }
  return {
    ...spreadsOf<FailoverSample>(timed, gc),
    timeouts,
    violations,
    callErrors: traffic.errors,
  };
}

/** Idle failover watches: health queries per wait period, home's and dc2's. */
async function measureIdle(
  rxlb: RxlbApi,
  subscribers: number,
  shared: boolean,
  { waitMs, periods }: FailoverConfig,
): Promise<FailoverIdle> {
  const { dc1, stop } = await twoDatacenters(['127.0.0.1:50051'], ['127.0.0.2:50051']);
  const watch$ = shared ? rxlb.sharedConsulInstances$ : rxlb.consulInstances$;
  const subscriptions: Subscription[] = [];
  try {
    const firstSets = Array.from(
      { length: subscribers },
      () =>
        new Promise<void>((resolve) => {
          const options = { address: dc1.address, wait: waitMs, failover: ['dc2'] };
          subscriptions.push(watch$(SERVICE, options).subscribe(() => resolve()));
        }),
    );
    await Promise.all(firstSets);
    // home answers first: count from when every loop waits in its blocking query
    const loops = 2 * (shared ? 1 : subscribers);
    while (dc1.activeRequests < loops) await sleep(5);
    const start = performance.now();
    await sleep(waitMs * periods);
    const elapsedMs = performance.now() - start;
    const queries = dc1.requests.filter(
      (r) => r.path === `/v1/health/service/${SERVICE}` && r.receivedAt >= start,
    );
    const periodsSeen = elapsedMs / waitMs;
    // without sharing, each subscriber has its own loops: count per subscriber
    const per = (dc: 'dc1' | 'dc2') => {
      const asked = queries.filter((q) => (dc === 'dc2') === q.query.includes('dc=dc2'));
      return asked.length / periodsSeen / (shared ? 1 : subscribers);
    };
    return {
      subscribers,
      shared,
      waitMs,
      elapsedMs,
      perWait: { dc1: per('dc1'), dc2: per('dc2') },
    };
  } finally {
    for (const subscription of subscriptions) subscription.unsubscribe();
    await stop();
  }
}

export async function runFailover(
  rxlb: RxlbApi,
  backends: Backends,
  config: FailoverConfig,
): Promise<FailoverResult> {
  const switches = await measureSwitches(rxlb, backends, config);
  const idle = [
    await measureIdle(rxlb, 1, false, config),
    await measureIdle(rxlb, config.sharedSubscribers, true, config),
  ];
  return { ...switches, idle };
}
