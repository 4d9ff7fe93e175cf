import { measure } from 'mitata';

/** One thing to time: `fn` is called many times, each call is one operation. */
export interface Benchmark {
  /** Rows of a group are compared with each other, e.g. `'pick()'`. */
  readonly group: string;
  /** What distinguishes the row within its group, e.g. `'10,000 instances'`. */
  readonly name: string;
  readonly fn: () => unknown;
}

/** Nanoseconds per operation. */
export interface BenchmarkResult {
  readonly group: string;
  readonly name: string;
  readonly avg: number;
  readonly p50: number;
  readonly p99: number;
  readonly samples: number;
}

export interface MeasureOptions {
  /** Spend about 50 ms on each benchmark instead of mitata's ~640 ms. */
  readonly quick: boolean;
}

/** Times each benchmark with mitata, one after the other. */
export async function measureAll(
  benchmarks: readonly Benchmark[],
  { quick }: MeasureOptions,
): Promise<BenchmarkResult[]> {
  const results: BenchmarkResult[] = [];
  for (const { group, name, fn } of benchmarks) {
    const stats = await measure(fn, quick ? { min_cpu_time: 50e6 } : {});
    results.push({
      group,
      name,
      avg: stats.avg,
      p50: stats.p50,
      p99: stats.p99,
      samples: stats.samples.length,
    });
  }
  return results;
}
