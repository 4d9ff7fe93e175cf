/** Runs every benchmark of `npm run bench` with one configuration, against one set of backends. */
import { cpus, loadavg, release, type } from 'node:os';
import { type AffinityResults, runAffinity } from './affinity.js';
import { startBackends } from './backends.js';
import type { BenchmarkResult } from './benchmark.js';
import type { BenchConfig } from './config.js';
import { type ConsulLoadResult, runConsulLoad } from './consul-load.js';
import { type ConvergenceResult, runConvergence } from './convergence.js';
import { type FailoverResult, runFailover } from './failover.js';
import { type HealthRow, runHealth } from './health.js';
import { type MacroRow, runMacro } from './macro.js';
import { type MemoryResult, runMemory } from './memory.js';
import { runMicro } from './micro.js';
import {
  type GrayFailureRow,
  type PolicyRow,
  type RetryStormRow,
  runGrayFailures,
  runPolicyLoad,
  runTurnSlow,
  type TurnSlowRow,
} from './policies.js';
import type { Rxlb } from './rxlb.js';
import { runSubsetting, type SubsettingResult } from './subsetting.js';
import { runWeightedShares, type WeightedSharesResult } from './weighted-shares.js';

export interface MachineInfo {
  readonly node: string;
  readonly cpu: string;
  readonly cores: number;
  readonly os: string;
  /** ISO 8601, when the run started. */
  readonly date: string;
  /** 1-minute load average when the run started and when it ended. */
  readonly loadStart: number;
  readonly loadEnd: number;
  readonly seconds: number;
}

export interface BenchResults {
  readonly config: BenchConfig['name'];
  /** Where the rxlb under test came from (see rxlb.ts). */
  readonly rxlbFrom: Rxlb['from'];
  readonly machine: MachineInfo;
  readonly micro: readonly BenchmarkResult[];
  readonly macro: readonly MacroRow[];
  readonly convergence: ConvergenceResult;
  readonly consulLoad: readonly ConsulLoadResult[];
  readonly memory: MemoryResult;
  readonly weightedShares: WeightedSharesResult;
  readonly subsetting: SubsettingResult;
  readonly failover: FailoverResult;
  /** Ring hash's balance and keys moved, zone-aware routing's local shares. */
  readonly affinity: AffinityResults;
  /** A backend whose health service says NOT_SERVING, then SERVING again. */
  readonly health: readonly HealthRow[];
  /** Policies side by side over five backends, equal and one slow; one turning slow. */
  readonly policies: {
    readonly load: readonly PolicyRow[];
    readonly turnSlow: readonly TurnSlowRow[];
    /** One backend failing every call; and a retry storm. */
    readonly grayFailures: {
      readonly failing: readonly GrayFailureRow[];
      readonly storm: readonly RetryStormRow[];
    };
  };
}

/** 3 backends for the macro rows, a spare one for the changes, and a fifth for the policy rows. */
export const BACKENDS = 5;

export async function runSuite(
  config: BenchConfig,
  rxlb: Rxlb,
  log: (line: string) => void = () => {},
): Promise<BenchResults> {
  const started = performance.now();
  const date = new Date().toISOString();
  const loadStart = loadavg()[0] ?? Number.NaN;
  const backends = await startBackends(BACKENDS);
  try {
    const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const result = await run();
      log(`${name}: ${((performance.now() - t) / 1e3).toFixed(1)} s`);
      return result;
    };
    const micro = await step('micro', () => runMicro(rxlb.api, backends.addresses, config.micro));
    const macro = await step('macro', () => runMacro(rxlb.api, backends, config.macro));
    const convergence = await step('convergence', () =>
      runConvergence(rxlb.api, backends, config.convergence),
    );
    const consulLoad = await step('load on Consul', () =>
      runConsulLoad(rxlb.api, config.consulLoad),
    );
    const weightedShares = await step('weighted shares', () =>
      runWeightedShares(rxlb.api, backends.addresses, config.weightedShares),
    );
    const subsetting = await step('subsetting', async () =>
      runSubsetting(rxlb.api, config.subsetting),
    );
    const failover = await step('failover', () => runFailover(rxlb.api, backends, config.failover));
    const affinity = await step('affinity', async () => runAffinity(rxlb.api));
    const health = await step('health checks', () => runHealth(rxlb.api, backends, config.health));
    const policies = await step('policies', async () => ({
      load: await runPolicyLoad(rxlb.api, backends, config.policies.load),
      turnSlow: await runTurnSlow(rxlb.api, backends, config.policies.turnSlow),
      grayFailures: await runGrayFailures(rxlb.api, backends, config.policies.grayFailures),
    }));
    // Last: its heap snapshots leave V8's heap profiler tracking object moves, which slows
    // every later garbage collection for the rest of the process (the policy rows ran at half
    // their calls/s after it, with 60 ms pauses).
    const memory = await step('memory', () => runMemory(rxlb.api, backends, config.memory));
    return {
      config: config.name,
      rxlbFrom: rxlb.from,
      machine: {
        node: process.version,
        cpu: cpus()[0]?.model ?? 'unknown CPU',
        cores: cpus().length,
        os: `${type()} ${release()}`,
        date,
        loadStart,
        loadEnd: loadavg()[0] ?? Number.NaN,
        seconds: (performance.now() - started) / 1e3,
      },
      micro,
      macro: macro.rows,
      convergence,
      consulLoad,
      memory,
      weightedShares,
      subsetting,
      failover,
      affinity,
      health,
      policies,
    };
  } finally {
    await backends.close();
  }
}
