/** The demo's phases: calls per backend and the latency of every call, phase by phase. */

export interface Phase {
  readonly name: string;
  /** Calls each backend answered during the phase. */
  readonly calls: Map<string, number>;
  readonly latenciesMs: number[];
}

/** The phase under way, and every phase so far. */
export class Phases {
  readonly all: Phase[] = [];

  /** Starts a phase: from now on, calls count towards it. */
  start(name: string): Phase {
    const phase: Phase = { name, calls: new Map(), latenciesMs: [] };
    this.all.push(phase);
    return phase;
  }

  /** A call `backend` answered in `ms`, for the phase under way. */
  answered(backend: string, ms: number): void {
    const phase = this.all.at(-1);
    if (!phase) return;
    phase.calls.set(backend, (phase.calls.get(backend) ?? 0) + 1);
    phase.latenciesMs.push(ms);
  }
}

/** The share of `phase`'s calls that `backend` answered. */
export function shareOf(phase: Phase | undefined, backend: string): number {
  if (!phase) return 0;
  const total = [...phase.calls.values()].reduce((a, b) => a + b, 0);
  return total === 0 ? 0 : (phase.calls.get(backend) ?? 0) / total;
}

/** The `q`-quantile of `values` (nearest rank), in ms; NaN when there is none. */
export function quantileMs(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}

/** `  steady            1234 calls  p50   1.2 ms  p99   4.5 ms  server 1 33 %, ...` per phase. */
export function phaseLines(
  phases: readonly Phase[],
  labels: ReadonlyMap<string, string>,
): string[] {
  return phases.map((phase) => {
    const calls = phase.latenciesMs.length;
    const ms = (q: number) => `${quantileMs(phase.latenciesMs, q).toFixed(1).padStart(6)} ms`;
    const shares = [...labels]
      .filter(([address]) => phase.calls.has(address))
      .map(([address, label]) => `${label} ${Math.round(shareOf(phase, address) * 100)} %`)
      .join(', ');
    return `  ${phase.name.padEnd(26)} ${String(calls).padStart(6)} calls  p50 ${ms(0.5)}  p99 ${ms(0.99)}  ${shares}`;
  });
}
