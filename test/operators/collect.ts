import type { Observable } from 'rxjs';

/** What a synchronous observable delivered to one subscriber. */
export interface Collected<T> {
  readonly values: T[];
  readonly error: unknown;
  readonly completed: boolean;
}

/** Subscribes once and returns everything a synchronous observable delivered. */
export function collect<T>(observable: Observable<T>): Collected<T> {
  const values: T[] = [];
  let error: unknown;
  let completed = false;
  observable.subscribe({
    next: (value) => values.push(value),
    error: (e: unknown) => {
      error = e;
    },
    complete: () => {
      completed = true;
    },
  });
  return { values, error, completed };
}
