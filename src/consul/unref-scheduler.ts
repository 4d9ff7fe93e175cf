import { type SchedulerAction, type SchedulerLike, Subscription } from 'rxjs';

/**
 * RxJS's `asyncScheduler` on timers that do not keep the process alive: for the grace period
 * of a watch that must not hold the process (a `consul:` channel's). Actions run as
 * `asyncScheduler`'s do, and may schedule themselves again.
 */
export const unrefScheduler: SchedulerLike = {
  now: () => Date.now(),
  schedule<T>(
    work: (this: SchedulerAction<T>, state?: T) => void,
    delay = 0,
    state?: T,
  ): Subscription {
    let timer: NodeJS.Timeout | undefined;
    const action: SchedulerAction<T> = Object.assign(new Subscription(() => clearTimeout(timer)), {
      schedule(next?: T, after = 0): Subscription {
        clearTimeout(timer);
        if (action.closed) return action;
        timer = setTimeout(() => {
          timer = undefined;
          work.call(action, next);
        }, after);
        timer.unref();
        return action;
      },
    });
    return action.schedule(state, delay);
  },
};
