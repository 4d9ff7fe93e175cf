import type { EjectionClock } from '../../src/grpc/outlier-detection.js';

/** An {@link EjectionClock} whose time moves only when the test says so. */
export interface ManualClock extends EjectionClock {
  /** Moves time on by `ms`, running the timers that come due, in order. */
  advance(ms: number): void;
  /** Timers not run nor cancelled yet. */
  readonly pending: number;
}

export function manualClock(start = 1_000_000): ManualClock {
  let now = start;
  const timers = new Set<{ readonly at: number; readonly callback: () => void }>();
  return {
    now: () => now,
    setTimer(callback, ms) {
      const timer = { at: now + ms, callback };
      timers.add(timer);
      return () => timers.delete(timer);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers.delete(due);
        now = due.at;
        due.callback();
      }
      now = end;
    },
    get pending() {
      return timers.size;
    },
  };
}
