/**
 * Records this process's garbage-collection pauses, so that a slow sample can be told apart:
 * time the event loop stood still for GC rather than for the code being measured.
 */
import { PerformanceObserver } from 'node:perf_hooks';

export interface GcPauses {
  /** Milliseconds of GC pauses that started between `from` and `to` (`performance.now()`). */
  pausedMs(from: number, to: number): number;
  stop(): void;
}

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
