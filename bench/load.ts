/** A closed-loop load generator: `concurrency` callers, each starting a call when its last ends. */
import { quantile } from './stats.js';

export interface LoadResult {
  readonly calls: number;
  readonly errors: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  /** CPU time this process spent per successful call, in µs (user + system). */
  readonly cpuUsPerCall: number;
  /** The first error, if any, for the report. */
  readonly firstError: string | undefined;
}

/** Keeps `concurrency` calls in flight for `durationMs`, then waits for the last ones. */
export async function runLoad(
  call: () => Promise<unknown>,
  concurrency: number,
  durationMs: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + durationMs;
  const caller = async () => {
    for (let t = performance.now(); t < end; t = performance.now()) {
      try {
        await call();
        latencies.push(performance.now() - t);
      } catch (error) {
        errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  const seconds = (performance.now() - start) / 1e3;
  const used = process.cpuUsage(cpu);
  return {
    calls: latencies.length,
    errors,
    seconds,
    callsPerSecond: latencies.length / seconds,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    p999Ms: quantile(latencies, 0.999),
    cpuUsPerCall: (used.user + used.system) / Math.max(1, latencies.length),
    firstError,
  };
}
