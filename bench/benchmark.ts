import { measure } from 'mitata';

/** One thing to time: `fn` is called many times, each call is one operation. */
export interface Benchmark {
  /** Rows of a group are compared with each other, e.g. `'pick(), 100 instances'`. */
  readonly group: string;
  /** What distinguishes the row within its group, e.g. `'rxlb Picker.pick()'`. */
  readonly name: string;
  /** The group's reference row: the others are shown as multiples of its median. */
  readonly baseline?: boolean;
  readonly fn: () => unknown;
}

/** Nanoseconds per operation. */
export interface BenchmarkResult {
  readonly group: string;
  readonly name: string;
  readonly baseline: boolean;
  readonly avg: number;
  readonly p50: number;
  readonly p99: number;
  readonly samples: number;
}

/** How long mitata spends on each benchmark; undefined: its defaults (≥ 642 ms, ≥ 12 samples). */
export interface Budget {
  readonly minCpuTimeNs: number;
  readonly minSamples: number;
  /** Operations faster than 65 µs are timed in batches of this many (default 4096). */
  readonly batchSamples: number;
}

export interface MeasureOptions {
  /** mitata's time per benchmark; undefined: its defaults. */
  readonly budget: Budget | undefined;
  /** Only call each benchmark a few times (for the harness's own test): figures mean nothing. */
  readonly smoke: boolean;
}

/**
 * Calls `fn` 10,000 times, or for 50 ms if that comes first. mitata warms up too, but its
 * first measurement of a benchmark has caught V8 before it optimized the function under test
 * (`Picker.pick(backends)` at 10,000 instances measured 40 ns where it costs 4 ns), and this
 * loop ends that.
 */
function warm(fn: () => unknown): void {
  const end = performance.now() + 50;
  for (let i = 0; i < 10_000 && performance.now() < end; i++) fn();
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

/** Times each benchmark with mitata, one after the other, each warmed up first (or smokes them). */
export async function measureAll(
  benchmarks: readonly Benchmark[],
  { budget, smoke }: MeasureOptions,
): Promise<BenchmarkResult[]> {
  if (smoke) return smokeAll(benchmarks);
  const results: BenchmarkResult[] = [];
  for (const { group, name, baseline = false, fn } of benchmarks) {
    warm(fn);
    const stats = await measure(
      fn,
      budget === undefined
        ? {}
        : {
            min_cpu_time: budget.minCpuTimeNs,
            min_samples: budget.minSamples,
            batch_samples: budget.batchSamples,
          },
    );
    results.push({
      group,
      name,
      baseline,
      avg: stats.avg,
      p50: stats.p50,
      p99: stats.p99,
      samples: stats.samples.length,
    });
  }
  return results;
}
