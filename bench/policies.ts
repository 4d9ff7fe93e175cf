/**
 * The load-aware policies' benchmarks (issue #10), every one over the same policies, each as a
 * channel over the same backends: rxlb's balanced channel with a policy operator over a static
 * list of the backends, and grpc-js's own round_robin. Every table and target takes its rows
 * from {@link POLICIES}: add a policy here and it is measured everywhere.
 *
 * - Policies side by side: unary calls through each policy over five backends in the backends'
 *   process, closed loop, first with five equal backends, then with one of them slow (every
 *   call to it waits `slowMs` more). Rounds are interleaved as in macro.ts: each round runs
 *   every policy once, in an order rotated from round to round, and rows quote medians over
 *   rounds; ratios are medians of per-round ratios.
 * - A backend that turns slow mid-run: each policy runs over the same five backends, all fast,
 *   then one of them becomes `slowMs` slower while the calls go on. The result is how long
 *   after the change its share of the calls fell below half its round-robin share (1/5 ÷ 2 =
 *   10 %) for good: the end of the first window of `windowMs` (by the time calls started,
 *   stepped by 10 ms) from which every later window shows less. So `windowMs` is the shortest
 *   time it can report: that of a share below 10 % from the change on.
 */
import * as grpc from '@grpc/grpc-js';
import { type Channel, credentials, Channel as GrpcChannel, status } from '@grpc/grpc-js';
import { createClientFactory } from 'nice-grpc';
import { type OperatorFunction, of } from 'rxjs';
import type { Update } from '../src/instance.js';
import type { Picker } from '../src/picker.js';
import { EchoService } from '../test/support/echo-service.js';
import type { Backends } from './backends.js';
import { roundRobinChannel } from './channels.js';
import { type LoadResult, PAYLOAD, runLoad, unaryCaller } from './load.js';
import { rotate } from './macro.js';
import type { RxlbApi } from './rxlb.js';
import { median, sleep } from './stats.js';

export interface Policy {
  /** How tables and targets name it, e.g. `rxlb leastRequest()`. */
  readonly name: string;
  /** A channel over `addresses` that balances with this policy. */
  open(rxlb: RxlbApi, addresses: readonly string[]): Channel;
}

/** rxlb's balanced channel over `addresses`, with `operator` as its policy. */
function rxlbPolicy(
  name: string,
  operator: (rxlb: RxlbApi) => OperatorFunction<readonly Update[], Picker>,
): Policy {
  return {
    name: `rxlb ${name}`,
    open: (rxlb, addresses) =>
      rxlb.createBalancedChannel(of(addresses).pipe(rxlb.diff(), operator(rxlb)), {
        name: 'echo',
      }),
  };
}

export const POLICY_NAMES = Object.freeze({
  roundRobin: 'rxlb roundRobin()',
  weightedRoundRobin: 'rxlb weightedRoundRobin()',
  leastRequest: 'rxlb leastRequest()',
  peakEwma: 'rxlb peakEwma()',
  grpcJs: 'grpc-js round_robin',
});

export const POLICIES: readonly Policy[] = [
  rxlbPolicy('roundRobin()', (rxlb) => rxlb.roundRobin()),
  // Unweighted (a static list), it is round robin by another schedule: the row shows what its
  // schedule costs, and that weights are no answer to a backend that turns slow.
  rxlbPolicy('weightedRoundRobin()', (rxlb) => rxlb.weightedRoundRobin()),
  rxlbPolicy('leastRequest()', (rxlb) => rxlb.leastRequest()),
  rxlbPolicy('peakEwma()', (rxlb) => rxlb.peakEwma()),
  { name: POLICY_NAMES.grpcJs, open: (_rxlb, addresses) => roundRobinChannel(addresses) },
  serviceConfigPolicy('least_request_experimental', { choiceCount: 2 }),
  serviceConfigPolicy('rxlb_peak_ewma', {}),
];

/**
 * A plain grpc-js channel on an `ipv4:` target of `addresses` whose service config chooses
 * one of the policies rxlb registers (registerLoadBalancingPolicies()): beside the operator
 * of the same job on rxlb's channel.
 */
function serviceConfigPolicy(name: string, config: object): Policy {
  return {
    name: `grpc-js + ${name}`,
    open: (rxlb, addresses) => {
      rxlb.registerLoadBalancingPolicies({ grpc });
      const channel = new GrpcChannel(`ipv4:${addresses.join(',')}`, credentials.createInsecure(), {
        'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ [name]: config }] }),
      });
      channel.getConnectivityState(true);
      return channel;
    },
  };
}

export interface PolicyLoadConfig {
  /**
   * Rounds over equal backends, and with one slow: on equal backends the policies differ by
   * a few percent at most, which takes more rounds to tell from the machine's drift.
   */
  readonly rounds: { readonly equal: number; readonly slow: number };
  /** How long each policy runs in each round. */
  readonly cellMs: number;
  /** Load on every channel before the first round (connections, JIT, what a policy learns). */
  readonly warmupMs: number;
  readonly concurrency: number;
  /** How much slower the slow backend answers. */
  readonly slowMs: number;
}

/** How many backends the policy benchmarks balance over; the last one is the one made slow. */
export const POLICY_BACKENDS = 5;

export type BackendMix = 'equal' | 'one slow';

/** One policy over one mix of backends: medians over the rounds. */
export interface PolicyRow {
  readonly policy: string;
  readonly backends: BackendMix;
  readonly callsPerSecond: number;
  /** Of the calls answered, the share the slow backend answered (the same backend when equal). */
  readonly slowShare: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  /** Median of the per-round ratios of calls/s to rxlb roundRobin()'s and grpc-js's. */
  readonly vsRoundRobin: number;
  readonly vsGrpcJs: number;
}

interface Cell {
  readonly policy: string;
  readonly round: number;
  readonly load: LoadResult;
  readonly slowShare: number;
}

/** The backends the policies balance over, and the one that `runPolicyLoad` makes slow. */
export function policyBackends(backends: Backends): {
  readonly addresses: readonly string[];
  readonly slowIndex: number;
} {
  const addresses = backends.addresses.slice(0, POLICY_BACKENDS);
  if (addresses.length < POLICY_BACKENDS) throw new Error(`need ${POLICY_BACKENDS} backends`);
  return { addresses, slowIndex: POLICY_BACKENDS - 1 };
}

async function measureMix(
  rxlb: RxlbApi,
  backends: Backends,
  config: PolicyLoadConfig,
  mix: BackendMix,
): Promise<PolicyRow[]> {
  const { addresses, slowIndex } = policyBackends(backends);
  const slowAddress = addresses[slowIndex];
  await backends.setDelay(slowIndex, mix === 'equal' ? 0 : config.slowMs);
  const channels = POLICIES.map((policy) => {
    const channel = policy.open(rxlb, addresses);
    const call = unaryCaller(channel);
    let slow = 0;
    const counted = async () => {
      const reply = await call();
      if (reply.backend === slowAddress) slow++;
    };
    const cell = async (ms: number) => {
      slow = 0;
      const load = await runLoad(counted, config.concurrency, ms);
      return { load, slowShare: slow / Math.max(1, load.calls) };
    };
    return { policy: policy.name, channel, cell };
  });
  try {
    for (const { cell } of channels) await cell(config.warmupMs);
    const cells: Cell[] = [];
    const rounds = mix === 'equal' ? config.rounds.equal : config.rounds.slow;
    for (let round = 0; round < rounds; round++) {
      for (const { policy, cell } of rotate(channels, round)) {
        cells.push({ policy, round, ...(await cell(config.cellMs)) });
      }
    }
    return POLICIES.map(({ name }) => summarize(cells, name, mix));
  } finally {
    for (const { channel } of channels) channel.close();
    await backends.setDelay(slowIndex, 0);
  }
}

function summarize(cells: readonly Cell[], policy: string, backends: BackendMix): PolicyRow {
  const mine = cells.filter((c) => c.policy === policy);
  const of = (value: (cell: Cell) => number) => median(mine.map(value));
  const ratio = (other: string) =>
    median(
      mine.map((cell) => {
        const peer = cells.find((c) => c.policy === other && c.round === cell.round);
        return peer ? cell.load.callsPerSecond / peer.load.callsPerSecond : Number.NaN;
      }),
    );
  return {
    policy,
    backends,
    callsPerSecond: of((c) => c.load.callsPerSecond),
    slowShare: of((c) => c.slowShare),
    p50Ms: of((c) => c.load.p50Ms),
    p99Ms: of((c) => c.load.p99Ms),
    p999Ms: of((c) => c.load.p999Ms),
    errors: mine.reduce((sum, c) => sum + c.load.errors, 0),
    firstError: mine.find((c) => c.load.firstError !== undefined)?.load.firstError,
    vsRoundRobin: ratio(POLICY_NAMES.roundRobin),
    vsGrpcJs: ratio(POLICY_NAMES.grpcJs),
  };
}

/** Every policy over five equal backends, then over five of which one is slow. */
export async function runPolicyLoad(
  rxlb: RxlbApi,
  backends: Backends,
  config: PolicyLoadConfig,
): Promise<PolicyRow[]> {
  const equal = await measureMix(rxlb, backends, config, 'equal');
  const slow = await measureMix(rxlb, backends, config, 'one slow');
  return [...equal, ...slow];
}

export interface TurnSlowConfig {
  /** Runs of every policy, interleaved; rows quote the median and the worst. */
  readonly runs: number;
  /** Calls with every backend fast, before the change. */
  readonly beforeMs: number;
  /** Calls after the change. */
  readonly afterMs: number;
  readonly windowMs: number;
  readonly concurrency: number;
  readonly slowMs: number;
}

/** Half the share round robin gives one of the five backends. */
export const SHED_SHARE = 1 / POLICY_BACKENDS / 2;
const STEP_MS = 10;

export interface TurnSlowRow {
  readonly policy: string;
  /** Per run: ms from the change until the share was below {@link SHED_SHARE} for good. */
  readonly shedMs: readonly number[];
  /** The share of the calls started in the last `windowMs` of each run. */
  readonly finalShare: readonly number[];
}

/** One call: when it started (ms, performance.now()) and whether the turning backend served it. */
interface Sample {
  readonly at: number;
  readonly slow: boolean;
}

/**
 * How long after `changedAt` the share of slow samples, over windows of `windowMs` by start
 * time, was below `threshold` for good: the end of the first window from which every window is
 * below; Infinity when the last window is still above it.
 */
export function shedTime(
  samples: readonly Sample[],
  changedAt: number,
  windowMs: number,
  threshold: number,
): number {
  const after = samples.filter((s) => s.at >= changedAt);
  const end = Math.max(changedAt, ...after.map((s) => s.at));
  let shed = 0;
  let lastStart = Number.NaN;
  for (let start = changedAt; start + windowMs <= end; start += STEP_MS) {
    lastStart = start;
    const window = after.filter((s) => s.at >= start && s.at < start + windowMs);
    const slow = window.filter((s) => s.slow).length;
    if (window.length === 0 || slow / window.length >= threshold)
      shed = start + STEP_MS - changedAt;
  }
  // too short a run to tell, or still above in its last window
  if (Number.isNaN(lastStart) || shed > lastStart - changedAt) return Number.POSITIVE_INFINITY;
  return shed + windowMs;
}

async function runOnce(rxlb: RxlbApi, backends: Backends, config: TurnSlowConfig, policy: Policy) {
  const { addresses, slowIndex } = policyBackends(backends);
  const turning = addresses[slowIndex];
  const channel = policy.open(rxlb, addresses);
  const call = unaryCaller(channel);
  const samples: Sample[] = [];
  const recorded = async () => {
    const at = performance.now();
    const reply = await call();
    samples.push({ at, slow: reply.backend === turning });
  };
  try {
    await runLoad(recorded, config.concurrency, config.beforeMs / 2); // connections, JIT
    samples.length = 0;
    const load = runLoad(recorded, config.concurrency, config.beforeMs + config.afterMs);
    await sleep(config.beforeMs);
    const changedAt = performance.now();
    await backends.setDelay(slowIndex, config.slowMs);
    await load;
    const lastStart = Math.max(...samples.map((s) => s.at));
    const lastWindow = samples.filter((s) => s.at >= lastStart - config.windowMs);
    return {
      shedMs: shedTime(samples, changedAt, config.windowMs, SHED_SHARE),
      finalShare: lastWindow.filter((s) => s.slow).length / Math.max(1, lastWindow.length),
    };
  } finally {
    channel.close();
    await backends.setDelay(slowIndex, 0);
  }
}

export async function runTurnSlow(
  rxlb: RxlbApi,
  backends: Backends,
  config: TurnSlowConfig,
): Promise<TurnSlowRow[]> {
  const rows = new Map(
    POLICIES.map((p) => [p.name, { shedMs: [] as number[], finalShare: [] as number[] }]),
  );
  for (let run = 0; run < config.runs; run++) {
    for (const policy of rotate(POLICIES, run)) {
      const result = await runOnce(rxlb, backends, config, policy);
      rows.get(policy.name)?.shedMs.push(result.shedMs);
      rows.get(policy.name)?.finalShare.push(result.finalShare);
    }
  }
  return [...rows].map(([policy, row]) => ({ policy, ...row }));
}

export interface GrayFailureConfig {
  /** How long each channel runs, after `warmupMs` of calls that all succeed. */
  readonly cellMs: number;
  readonly warmupMs: number;
  readonly concurrency: number;
}

/** One channel with one backend of five failing every call at once. */
export interface GrayFailureRow {
  readonly policy: string;
  readonly calls: number;
  /** The share of calls that failed. */
  readonly failedShare: number;
}

/** One client in a retry storm: every backend answers UNAVAILABLE. */
export interface RetryStormRow {
  readonly client: string;
  readonly calls: number;
  /** Attempts (calls the channel was asked to start) per call. */
  readonly attemptsPerCall: number;
}

/** grpc-js's round_robin under its outlier_detection, A50's failure-percentage ejection. */
const GRPC_JS_OUTLIER_DETECTION = JSON.stringify({
  loadBalancingConfig: [
    {
      outlier_detection: {
        interval: { seconds: 1, nanos: 0 },
        max_ejection_percent: 50,
        failure_percentage_ejection: {
          threshold: 85,
          enforcement_percentage: 100,
          minimum_hosts: 3,
          request_volume: 50,
        },
        child_policy: [{ round_robin: {} }],
      },
    },
  ],
});

const GRAY_POLICIES: readonly Policy[] = [
  ...POLICIES,
  {
    name: `${POLICY_NAMES.grpcJs} + outlier_detection (failure percentage, 1 s)`,
    open: (_rxlb, addresses) =>
      new GrpcChannel(`ipv4:${addresses.join(',')}`, credentials.createInsecure(), {
        'grpc.service_config': GRPC_JS_OUTLIER_DETECTION,
      }),
  },
];

/** `channel` with every `createCall` (every attempt) counted. */
function counted(channel: Channel): { channel: Channel; attempts: () => number } {
  let attempts = 0;
  const proxy = new Proxy(channel, {
    get(target, key) {
      if (key === 'createCall') {
        return (...args: Parameters<Channel['createCall']>) => {
          attempts++;
          return target.createCall(...args);
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { channel: proxy, attempts: () => attempts };
}

/**
 * Gray failures: every policy with default options, and grpc-js's round_robin alone and under
 * outlier_detection, each over the same five backends for `cellMs` while the last one answers
 * every call with INTERNAL at once; then a retry storm, every backend answering UNAVAILABLE,
 * through nice-grpc clients that retry up to 3 attempts.
 */
export async function runGrayFailures(
  rxlb: RxlbApi,
  backends: Backends,
  config: GrayFailureConfig,
): Promise<{ failing: GrayFailureRow[]; storm: RetryStormRow[] }> {
  const { addresses, slowIndex } = policyBackends(backends);
  const failOn = addresses[slowIndex] as string;
  const failing: GrayFailureRow[] = [];
  for (const policy of GRAY_POLICIES) {
    const channel = policy.open(rxlb, addresses);
    try {
      await runLoad(unaryCaller(channel), config.concurrency, config.warmupMs);
      const call = unaryCaller(channel, { ...PAYLOAD, failWith: status.INTERNAL, failOn });
      const load = await runLoad(call, config.concurrency, config.cellMs);
      const calls = load.calls + load.errors;
      failing.push({ policy: policy.name, calls, failedShare: load.errors / Math.max(1, calls) });
    } finally {
      channel.close();
    }
  }
  const clients = [
    ['rxlb retryOnAnotherInstance(), default budget', {}],
    ['rxlb retryOnAnotherInstance({ retryBudget: false })', { retryBudget: false }],
  ] as const;
  const storm: RetryStormRow[] = [];
  const unavailable = { ...PAYLOAD, failWith: status.UNAVAILABLE };
  for (const [client, options] of clients) {
    const balanced = rxlb.createBalancedChannel(
      of(addresses).pipe(rxlb.diff(), rxlb.roundRobin()),
      {
        name: 'echo',
      },
    );
    const { channel, attempts } = counted(balanced);
    try {
      // warmed by a client of its own: the storm's client starts with a budget of its own
      const warm = createClientFactory().create(EchoService, channel);
      await runLoad(() => warm.unary(PAYLOAD), config.concurrency, config.warmupMs);
      const echo = createClientFactory()
        .use(rxlb.retryOnAnotherInstance(options))
        .create(EchoService, channel);
      const before = attempts();
      const load = await runLoad(() => echo.unary(unavailable), config.concurrency, config.cellMs);
      const calls = load.calls + load.errors;
      storm.push({ client, calls, attemptsPerCall: (attempts() - before) / Math.max(1, calls) });
    } finally {
      balanced.close();
    }
  }
  return { failing, storm };
}
