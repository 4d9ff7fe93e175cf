/**
 * Convergence: how long after a health change in ConsulTestServer the balanced channel has a
 * new picker, and how long until the first call that honours it has ended, with calls running
 * all along. Each cycle makes four changes to a spare backend:
 * register it failing (not measured), its check passes (a new instance passes), its check
 * fails, its check passes again, it is deregistered.
 *
 * "Honours it": for an instance that appears, the first reply from it; for one that leaves,
 * the first call that started after the new picker (it can no longer be sent there).
 * Changes are `gapMs` apart, more than the watch's `minIntervalMs` (50 ms): changes closer
 * together than that are deliberately coalesced into one query.
 */
import type { Picker } from '../src/picker.js';
import { ConsulTestServer } from '../src/testing/index.js';
import { type Backends, spareAndBase } from './backends.js';
import { checkId, registerAll, registerWithCheck, rxlbChannel } from './channels.js';
import { type CallRecord, startTraffic, unaryCaller } from './load.js';
import type { RxlbApi } from './rxlb.js';
import {
  type GcPauses,
  recordGcPauses,
  runQueueWaitMs,
  type Spread,
  sleep,
  spread,
} from './stats.js';

export interface ConvergenceConfig {
  /** Cycles run first and not counted (JIT, connections). */
  readonly warmupCycles: number;
  readonly cycles: number;
  readonly gapMs: number;
  /** Calls in flight all along. */
  readonly concurrency: number;
}

export const CHANGE_KINDS = [
  'new instance passes',
  'check fails',
  'check passes again',
  'deregistered',
] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

export interface ConvergenceSample {
  readonly kind: ChangeKind;
  /** From the change to the picker that reflects it; NaN when it never came. */
  readonly toPickerMs: number;
  /** From the change to the end of the first call that honours it; NaN when none did. */
  readonly toCallMs: number;
  /**
   * Meanwhile, how long the event loops of this process and of the backends' waited for a CPU
   * (while other programs ran); see stats.ts.
   */
  readonly clientRunQueueMs: number;
  readonly serverRunQueueMs: number;
  /** Meanwhile, how long this process paused for garbage collection. */
  readonly gcMs: number;
}

export interface ConvergenceResult {
  readonly samples: readonly ConvergenceSample[];
  readonly toPicker: Spread;
  readonly toCall: Spread;
  /** Changes whose picker or honouring call did not come within the timeout. */
  readonly timeouts: number;
  /** Calls that started after a removal's picker and still reached the removed backend. */
  readonly violations: number;
  readonly callErrors: number;
}

const TIMEOUT_MS = 2_000;

/** One change being timed. */
interface Pending {
  readonly changedAt: number;
  readonly present: boolean;
  pickerAt: number | undefined;
  callAt: number | undefined;
  readonly done: () => void;
}

/** A change's two times, as convergence and failover measure them. */
export interface TimedChange {
  readonly toPickerMs: number;
  readonly toCallMs: number;
  readonly gcMs: number;
}

/**
 * The samples of `timed`, each with the GC pauses that started while it was measured, and the
 * spread of their two times.
 */
export function spreadsOf<S extends TimedChange>(
  timed: readonly {
    readonly sample: Omit<S, 'gcMs'>;
    readonly from: number;
    readonly to: number;
  }[],
  gc: GcPauses,
): { samples: S[]; toPicker: Spread; toCall: Spread } {
  const samples = timed.map(
    ({ sample, from, to }) => ({ ...sample, gcMs: gc.pausedMs(from, to) }) as S,
  );
  return {
    samples,
    toPicker: spread(samples.map((s) => s.toPickerMs)),
    toCall: spread(samples.map((s) => s.toCallMs)),
  };
}

export async function runConvergence(
  rxlb: RxlbApi,
  backends: Backends,
  config: ConvergenceConfig,
): Promise<ConvergenceResult> {
  const { spare, base } = spareAndBase(backends);
  const service = 'converge';
  const consul = await new ConsulTestServer().start();
  registerAll(consul, service, base);
  let pending: Pending | undefined;
  let violations = 0;
  const hasSpare = (picker: Picker) => picker.instances.some((i) => i.address === spare);
  const settle = (p: Pending) => {
    if (p.pickerAt !== undefined && p.callAt !== undefined) p.done();
  };
  const onPicker = (picker: Picker) => {
    if (pending?.pickerAt === undefined && pending?.present === hasSpare(picker)) {
      pending.pickerAt = performance.now();
      settle(pending);
    }
  };
  const onCall = ({ start, end, backend }: CallRecord) => {
    const p = pending;
    if (p?.pickerAt === undefined || backend === undefined) return;
    if (!p.present && start >= p.pickerAt && backend === spare) violations += 1;
    if (p.callAt !== undefined) return;
    if (p.present ? backend === spare && start >= p.changedAt : start >= p.pickerAt) {
      p.callAt = end;
      settle(p);
    }
  };
  const channel = rxlbChannel(rxlb, consul.address, service, { tap: onPicker });
  const traffic = startTraffic(unaryCaller(channel), config.concurrency, onCall);

  // GC pauses are reported after the fact: each sample's are summed once the run is over.
  const measured: {
    sample: Omit<ConvergenceSample, 'gcMs'>;
    readonly from: number;
    readonly to: number;
  }[] = [];
  const gc = recordGcPauses();
  let timeouts = 0;
  const measure = async (kind: ChangeKind, present: boolean, change: () => void) => {
    let done = () => {};
    let timer: NodeJS.Timeout | undefined;
    const settled = new Promise<boolean>((resolve) => {
      done = () => resolve(true);
      timer = setTimeout(() => resolve(false), TIMEOUT_MS);
    });
    const queued = [runQueueWaitMs(), runQueueWaitMs(backends.pid)];
    const p: Pending = {
      changedAt: performance.now(),
      present,
      pickerAt: undefined,
      callAt: undefined,
      done,
    };
    pending = p;
    change();
    if (!(await settled)) timeouts += 1;
    const [clientRunQueueMs, serverRunQueueMs] = [
      runQueueWaitMs(),
      runQueueWaitMs(backends.pid),
    ].map((ms, i) => ms - (queued[i] ?? Number.NaN));
    clearTimeout(timer);
    pending = undefined;
    measured.push({
      sample: {
        kind,
        toPickerMs: (p.pickerAt ?? Number.NaN) - p.changedAt,
        toCallMs: (p.callAt ?? Number.NaN) - p.changedAt,
        clientRunQueueMs: clientRunQueueMs ?? Number.NaN,
        serverRunQueueMs: serverRunQueueMs ?? Number.NaN,
      },
      from: p.changedAt,
      to: performance.now(),
    });
    await sleep(config.gapMs);
  };
  try {
    await sleep(config.gapMs); // the first picker and connections
    const id = 'spare';
    for (let cycle = 0; cycle < config.warmupCycles + config.cycles; cycle++) {
      if (cycle === config.warmupCycles) {
        measured.length = 0;
        timeouts = 0;
        violations = 0;
      }
      registerWithCheck(consul, service, id, spare, 'critical');
      await sleep(config.gapMs);
      await measure('new instance passes', true, () =>
        consul.setCheckStatus(checkId(id), 'passing'),
      );
      await measure('check fails', false, () => consul.setCheckStatus(checkId(id), 'critical'));
      await measure('check passes again', true, () =>
        consul.setCheckStatus(checkId(id), 'passing'),
      );
      await measure('deregistered', false, () => consul.deregisterService(id));
    }
  } finally {
    gc.stop();
    await traffic.stop();
    channel.close();
    await consul.stop();
  }
  return {
    ...spreadsOf(measured, gc),
    timeouts,
    violations,
    callErrors: traffic.errors,
  };
}
