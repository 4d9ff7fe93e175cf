/**
 * How long a process's main thread (its event loop) has waited, runnable, for a CPU: the
 * second field of Linux's `/proc/<pid>/schedstat`, in ms. It tells a slow sample caused by
 * other programs on the machine from one caused by our own code. NaN where unavailable.
 */
import { readFileSync } from 'node:fs';

export function runQueueWaitMs(pid: number | 'self' = 'self'): number {
  try {
    const [, waitNs] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ');
    return Number(waitNs) / 1e6;
  } catch {
    return Number.NaN;
  }
}
