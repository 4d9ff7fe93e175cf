/**
 * Micro benchmarks (mitata): per-call picking and call forwarding, per-change operator work,
 * and reading a Consul answer. grpc-js's picker comes from a live channel to `addresses` (see
 * grpc-js-picker.ts), closed again before anything is timed.
 */
import { type Benchmark, type BenchmarkResult, type Budget, measureAll } from './benchmark.js';
import { grpcJsPickers } from './grpc-js-picker.js';
import { callBenchmarks } from './micro-call.js';
import { operatorBenchmarks } from './micro-diff.js';
import { healthBenchmarks } from './micro-health.js';
import { pickBenchmarks } from './micro-pick.js';

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
  addresses: readonly string[],
  config: MicroConfig,
): Promise<BenchmarkResult[]> {
  const grpcJs = await grpcJsPickers(addresses);
  let picks: Awaited<ReturnType<typeof pickBenchmarks>>;
  try {
    picks = await pickBenchmarks(grpcJs.picker);
  } finally {
    grpcJs.close();
  }
  const benchmarks = [
    ...picks,
    ...callBenchmarks(),
    ...(await operatorBenchmarks()),
    ...(await healthBenchmarks()),
  ];
  return config.smoke ? smokeAll(benchmarks) : measureAll(benchmarks, config);
}
