/**
 * The figures of a run (quantiles, a ratio's interval), and what else held a sample up: this
 * process's garbage-collection pauses and the time an event loop waited for a CPU.
 */
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';

/** The `q`-quantile (0 ≤ q ≤ 1) of `values`, by nearest rank; NaN when there are none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** p50, p99 and max of a benchmark's timings; values that are not finite are left out. */
export interface Spread {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function spread(values: readonly number[]): Spread {
  const finite = values.filter(Number.isFinite);
  return { p50: quantile(finite, 0.5), p99: quantile(finite, 0.99), max: Math.max(...finite) };
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Student's t for a two-sided 95 % interval, by degrees of freedom (1 to 30; 1.96 beyond). */
const T95 = [
  12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.2, 2.18, 2.16, 2.14, 2.13, 2.12,
  2.11, 2.1, 2.09, 2.09, 2.08, 2.07, 2.07, 2.06, 2.06, 2.06, 2.05, 2.05, 2.05, 2.04,
];

/**
 * The geometric mean of `ratios` and its 95 % interval: a t interval on their logarithms (a
 * ratio of 0.5 and one of 2 cancel out, where their arithmetic mean would be 1.25).
 */
export function ratioInterval(ratios: readonly number[]): {
  mean: number;
  low: number;
  high: number;
} {
  const logs = ratios.map(Math.log);
  const n = logs.length;
  const mean = logs.reduce((sum, v) => sum + v, 0) / n;
  const variance = logs.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (n - 1);
  const halfWidth = (T95[n - 2] ?? 1.96) * Math.sqrt(variance / n);
  return {
    mean: Math.exp(mean),
    low: Math.exp(mean - halfWidth),
    high: Math.exp(mean + halfWidth),
  };
}

export interface GcPauses {
  /** Milliseconds of GC pauses that started between `from` and `to` (`performance.now()`). */
  pausedMs(from: number, to: number): number;
  stop(): void;
}

/**
 * Records this process's garbage-collection pauses, so that a slow sample can be told apart:
 * time the event loop stood still for GC rather than for the code being measured.
 */
export function recordGcPauses(): GcPauses {
  const pauses: { readonly start: number; readonly duration: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      pauses.push({ start: entry.startTime, duration: entry.duration });
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    pausedMs: (from, to) =>
      pauses
        .filter(({ start }) => start >= from && start <= to)
        .reduce((sum, { duration }) => sum + duration, 0),
    stop: () => observer.disconnect(),
  };
}

/**
 * How long a process's main thread (its event loop) has waited, runnable, for a CPU: the
 * second field of Linux's `/proc/<pid>/schedstat`, in ms. It tells a slow sample caused by
 * other programs on the machine from one caused by our own code. NaN where unavailable.
 */
export function runQueueWaitMs(pid: number | 'self' = 'self'): number {
  try {
    const [, waitNs] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ');
    return Number(waitNs) / 1e6;
  } catch {
    return Number.NaN;
  }
}
