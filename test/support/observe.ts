import type { Observable, Subscription } from 'rxjs';

/** Subscribes and records everything, for assertions with `vi.waitFor`. */
export interface Recorder<T> {
  readonly values: T[];
  error: unknown;
  completed: boolean;
  readonly subscription: Subscription;
}

export function record<T>(source: Observable<T>): Recorder<T> {
  const recorder = { values: [] as T[], error: undefined as unknown, completed: false };
  const subscription = source.subscribe({
    next: (value) => recorder.values.push(value),
    error: (error: unknown) => {
      recorder.error = error;
    },
    complete: () => {
      recorder.completed = true;
    },
  });
  return Object.assign(recorder, { subscription });
}
