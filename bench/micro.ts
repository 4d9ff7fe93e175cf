/**
 * Micro benchmarks (mitata): per-call picking, per-change operator work, and reading a Consul
 * answer. grpc-js's picker and rxlb's channel picker come from live channels to `addresses`
 * (see grpc-js-picker.ts and micro-pick.ts), closed once everything is timed.
 */
import { type Benchmark, type BenchmarkResult, type Budget, measureAll } from './benchmark.js';
import { grpcJsPickers } from './grpc-js-picker.js';
import { operatorBenchmarks } from './micro-diff.js';
import { healthBenchmarks } from './micro-health.js';
import { pickBenchmarks } from './micro-pick.js';
import { usableChangeBenchmarks, weightedPickBenchmarks } from './micro-weighted.js';
import type { RxlbApi } from './rxlb.js';

export interface MicroConfig {
  /** mitata's time per benchmark; undefined: its defaults. */
  readonly budget: Budget | undefined;
  /** Only call each benchmark a few times (for the harness's own test): figures mean nothing. */
  readonly smoke: boolean;
}

/** Calls each benchmark a few times; reports the last call's time. */
function smokeAll(benchmarks: readonly Benchmark[]): BenchmarkResult[] {
  return benchmarks.map(({ group, name, baseline = false, fn }) => {
    let ns = 0;
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      fn();
      ns = (performance.now() - start) * 1e6;
    }
    return { group, name, baseline, avg: ns, p50: ns, p99: ns, samples: 1 };
  });
}

export async function runMicro(
  rxlb: RxlbApi,
  addresses: readonly string[],
  config: MicroConfig,
): Promise<BenchmarkResult[]> {
  const grpcJs = await grpcJsPickers(addresses);
  let picks: Awaited<ReturnType<typeof pickBenchmarks>> | undefined;
  try {
    picks = await pickBenchmarks(rxlb, addresses, grpcJs.picker);
    const benchmarks = [
      ...besideTheirGroup(picks.benchmarks, await weightedPickBenchmarks(rxlb)),
      ...(await usableChangeBenchmarks(rxlb)),
      ...(await operatorBenchmarks()),
      ...(await healthBenchmarks()),
    ];
    return config.smoke ? smokeAll(benchmarks) : await measureAll(benchmarks, config);
  } finally {
    grpcJs.close();
    picks?.close();
  }
}

/** `benchmarks`, with each of `more` after the last one of its group, so groups stay together. */
function besideTheirGroup(
  benchmarks: readonly Benchmark[],
  more: readonly Benchmark[],
): Benchmark[] {
  const merged = [...benchmarks];
  for (const extra of more) {
    const last = merged.findLastIndex((b) => b.group === extra.group);
    merged.splice(last < 0 ? merged.length : last + 1, 0, extra);
  }
  return merged;
}
