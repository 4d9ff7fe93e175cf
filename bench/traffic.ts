/**
 * Calls that keep running while a benchmark changes membership: `concurrency` callers, each
 * starting a unary call when its last ends, reporting every call to `onCall`.
 */
import type { EchoReply } from '../test/support/echo-service.js';

export interface CallRecord {
  /** `performance.now()` when the call started and when it ended. */
  readonly start: number;
  readonly end: number;
  /** The backend that answered; undefined when the call failed. */
  readonly backend: string | undefined;
}

export interface Traffic {
  /** Calls that failed so far. */
  readonly errors: number;
  readonly calls: number;
  /** Stops starting calls and resolves once the last one has ended. */
  stop(): Promise<void>;
}

export function startTraffic(
  call: () => Promise<EchoReply>,
  concurrency: number,
  onCall: (record: CallRecord) => void = () => {},
): Traffic {
  let running = true;
  let calls = 0;
  let errors = 0;
  const caller = async () => {
    while (running) {
      const start = performance.now();
      let backend: string | undefined;
      try {
        backend = (await call()).backend;
        calls += 1;
      } catch {
        errors += 1;
      }
      onCall({ start, end: performance.now(), backend });
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, caller));
  return {
    get errors() {
      return errors;
    },
    get calls() {
      return calls;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}
