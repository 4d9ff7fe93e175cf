import { connectivityState } from '@grpc/grpc-js';

import { MAX_TIMER_MS } from '../duration.js';

const { IDLE, CONNECTING, READY, TRANSIENT_FAILURE } = connectivityState;

/**
 * The state of a set of backends, by gRPC's aggregation rule for round_robin: READY if any is
 * READY, else CONNECTING if any is CONNECTING, else IDLE if any is IDLE, else
 * TRANSIENT_FAILURE. (grpc-js's round_robin ranks TRANSIENT_FAILURE above IDLE; it makes no
 * difference here, where an IDLE backend is at once told to connect.) An empty set is
 * TRANSIENT_FAILURE, as in grpc-js: calls fail at once.
 */
export function aggregateState(states: readonly connectivityState[]): connectivityState {
  for (const state of [READY, CONNECTING, IDLE]) {
    if (states.includes(state)) return state;
  }
  return TRANSIENT_FAILURE;
}

interface Watcher {
  readonly from: connectivityState;
  readonly callback: (error?: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/** The callbacks of `watchConnectivityState()`, with grpc-js's semantics. */
export class ConnectivityWatchers {
  private readonly watchers = new Set<Watcher>();

  /**
   * Calls `callback` once the state is no longer `from` (at once, asynchronously, when `now`
   * already differs), or with an error when `deadline` comes first.
   */
  add(
    from: connectivityState,
    now: connectivityState,
    deadline: Date | number,
    callback: (error?: Error) => void,
  ): void {
    const watcher: Watcher = { from, callback, timer: undefined };
    const ms = (deadline instanceof Date ? deadline.getTime() : deadline) - Date.now();
    if (from !== now) {
      process.nextTick(callback);
      return;
    }
    if (ms <= 0) {
      process.nextTick(callback, new Error('Deadline passed without connectivity state change'));
      return;
    }
    // Beyond setTimeout's range (~24.8 days) the deadline is as good as none.
    if (ms <= MAX_TIMER_MS) {
      // Not unref'd, as in grpc-js: a caller waiting for a state change keeps the process up.
      watcher.timer = setTimeout(() => {
        this.watchers.delete(watcher);
        callback(new Error('Deadline passed without connectivity state change'));
      }, ms);
    }
    this.watchers.add(watcher);
  }

  /** Calls back, once, every watcher whose state is no longer `state`. */
  notify(state: connectivityState): void {
    for (const watcher of [...this.watchers]) {
      if (watcher.from === state) continue;
      clearTimeout(watcher.timer);
      this.watchers.delete(watcher);
      watcher.callback();
    }
  }
}
