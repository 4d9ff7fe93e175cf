import type { MeasureOptions } from './benchmark.js';
import type { ConsulLoadConfig } from './consul-load.js';
import type { ConvergenceConfig } from './convergence.js';
import type { FailoverConfig } from './failover.js';
import type { HealthBenchConfig } from './health.js';
import type { MacroConfig } from './macro.js';
import type { MemoryConfig } from './memory.js';
import type { GrayFailureConfig, PolicyLoadConfig, TurnSlowConfig } from './policies.js';
import type { SubsettingConfig } from './subsetting.js';
import type { WeightedSharesConfig } from './weighted-shares.js';

/** How much of everything `npm run bench` does. */
export interface BenchConfig {
  readonly name: 'full' | 'quick' | 'tiny';
  readonly micro: MeasureOptions;
  readonly macro: MacroConfig;
  readonly convergence: ConvergenceConfig;
  readonly consulLoad: ConsulLoadConfig;
  readonly memory: MemoryConfig;
  readonly weightedShares: WeightedSharesConfig;
  readonly subsetting: SubsettingConfig;
  readonly failover: FailoverConfig;
  readonly health: HealthBenchConfig;
  readonly policies: {
    readonly load: PolicyLoadConfig;
    readonly turnSlow: TurnSlowConfig;
    readonly grayFailures: GrayFailureConfig;
  };
}

/** `npm run bench`: a few minutes; writes bench/RESULTS.md. */
export const FULL: BenchConfig = {
  name: 'full',
  micro: { budget: undefined, smoke: false },
  macro: { rounds: 6, cellMs: 2_000, warmupMs: 2_000, concurrencies: [1, 64] },
  convergence: { warmupCycles: 2, cycles: 30, gapMs: 100, concurrency: 2 },
  consulLoad: { waitMs: 250, periods: 20, watches: 100 },
  memory: {
    warmupChanges: 500,
    changes: 10_000,
    checkpoints: 10,
    concurrency: 4,
    countObjects: true,
    settleMs: 200,
  },
  weightedShares: { calls: 10_000, concurrency: 16 },
  subsetting: { clients: 100, size: 10, backends: 300, rolling: true },
  failover: {
    warmupCycles: 2,
    cycles: 30,
    gapMs: 100,
    concurrency: 2,
    waitMs: 250,
    periods: 20,
    sharedSubscribers: 100,
  },
  health: { runs: 5, phaseMs: 1_000, windowMs: 100, concurrency: 16 },
  policies: {
    load: {
      rounds: { equal: 10, slow: 4 },
      cellMs: 1_000,
      warmupMs: 1_000,
      concurrency: 32,
      slowMs: 100,
    },
    turnSlow: {
      runs: 2,
      beforeMs: 1_000,
      afterMs: 1_500,
      windowMs: 100,
      concurrency: 32,
      slowMs: 100,
    },
    grayFailures: { cellMs: 3_000, warmupMs: 300, concurrency: 16 },
  },
};

/** `npm run bench -- --quick`: the same steps, small, for a check in seconds (the rest as FULL). */
export const QUICK: BenchConfig = {
  ...FULL,
  name: 'quick',
  micro: { budget: { minCpuTimeNs: 20e6, minSamples: 4, batchSamples: 256 }, smoke: false },
  macro: { rounds: 1, cellMs: 300, warmupMs: 300, concurrencies: [1, 64] },
  convergence: { warmupCycles: 1, cycles: 3, gapMs: 60, concurrency: 2 },
  consulLoad: { waitMs: 100, periods: 5, watches: 100 },
  memory: { ...FULL.memory, warmupChanges: 50, changes: 500, checkpoints: 5 },
  subsetting: { ...FULL.subsetting, rolling: false },
  failover: { ...FULL.failover, warmupCycles: 1, cycles: 3, gapMs: 60, waitMs: 100, periods: 5 },
  health: { ...FULL.health, runs: 2, phaseMs: 500 },
  policies: {
    load: { ...FULL.policies.load, rounds: { equal: 1, slow: 1 }, cellMs: 500, warmupMs: 300 },
    turnSlow: { ...FULL.policies.turnSlow, runs: 1, beforeMs: 500, afterMs: 1_000 },
    grayFailures: { ...FULL.policies.grayFailures, cellMs: 1_000 },
  },
};

/** For the test that keeps the harness from rotting: every step, as small as it gets. */
export const TINY: BenchConfig = {
  name: 'tiny',
  micro: { budget: undefined, smoke: true },
  macro: { rounds: 1, cellMs: 50, warmupMs: 50, concurrencies: [1, 4] },
  convergence: { warmupCycles: 0, cycles: 1, gapMs: 60, concurrency: 2 },
  consulLoad: { waitMs: 50, periods: 2, watches: 3 },
  memory: {
    warmupChanges: 2,
    changes: 4,
    checkpoints: 2,
    concurrency: 2,
    countObjects: false,
    settleMs: 20,
  },
  weightedShares: { calls: 50, concurrency: 4 },
  subsetting: { clients: 12, size: 3, backends: 20, rolling: true },
  failover: {
    warmupCycles: 0,
    cycles: 1,
    gapMs: 60,
    concurrency: 2,
    waitMs: 50,
    periods: 2,
    sharedSubscribers: 3,
  },
  health: { runs: 1, phaseMs: 150, windowMs: 50, concurrency: 4 },
  policies: {
    load: {
      rounds: { equal: 1, slow: 1 },
      cellMs: 50,
      warmupMs: 50,
      concurrency: 4,
      slowMs: 20,
    },
    turnSlow: { runs: 1, beforeMs: 100, afterMs: 200, windowMs: 50, concurrency: 4, slowMs: 20 },
    grayFailures: { cellMs: 50, warmupMs: 20, concurrency: 4 },
  },
};
