import { config as rxjsConfig } from 'rxjs';

/**
 * Calls a user callback so that it cannot break what called it (a watch loop, a call): what
 * it throws goes where RxJS sends unhandled errors, `config.onUnhandledError` when set, else
 * an uncaught exception. A leaf, like `duration.ts`: every room may use it.
 */
export function notify<T>(callback: ((value: T) => void) | undefined, value: T): void {
  if (!callback) return;
  try {
    callback(value);
  } catch (error) {
    queueMicrotask(() => {
      const handler = rxjsConfig.onUnhandledError;
      if (!handler) throw error;
      handler(error);
    });
  }
}
