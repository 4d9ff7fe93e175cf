/**
 * A blocking query's wait: resolves when a call of the listener it adds to `listeners` finds
 * `ready()` true, after `timeoutMs`, or when `signal` aborts, whichever comes first, and then
 * takes its listener, timer and abort handler back. What wakes the listeners (a Raft write, a
 * user event) is the caller's.
 */
export function waitForWake(
  listeners: Set<() => void>,
  ready: () => boolean,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve) => {
    const listener = () => {
      if (ready()) done();
    };
    const done = () => {
      clearTimeout(timer);
      listeners.delete(listener);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    listeners.add(listener);
    signal.addEventListener('abort', done, { once: true });
  });
}
