/**
 * The scheduler of a `consul:` channel's grace period: RxJS's asyncScheduler, on timers that
 * never hold the process (the child-process tests check the whole channel; these check the
 * scheduler in this process, where mutation testing can see it).
 */
import { interval, take, timer, toArray } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { unrefScheduler } from '../../src/consul/unref-scheduler.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('unrefScheduler', () => {
  it('runs work after its delay, with its state, as asyncScheduler does', async () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    unrefScheduler.schedule((state) => seen.push(`ran ${state}`), 50, 'once');
    await vi.advanceTimersByTimeAsync(49);
    expect(seen).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen).toEqual(['ran once']);
  });

  it('runs work with no delay on the next timer turn, not at once', async () => {
    vi.useFakeTimers();
    let ran = false;
    unrefScheduler.schedule(() => {
      ran = true;
    });
    expect(ran).toBe(false);
    await vi.advanceTimersByTimeAsync(0);
    expect(ran).toBe(true);
  });

  it('lets an action schedule itself again, with a new state and delay (an interval)', async () => {
    vi.useFakeTimers();
    const values = interval(10, unrefScheduler).pipe(take(3), toArray()).toPromise();
    await vi.advanceTimersByTimeAsync(30);
    await expect(values).resolves.toEqual([0, 1, 2]);
    const seen: number[] = [];
    unrefScheduler.schedule(
      function (this: { schedule(state?: number, delay?: number): unknown }, state?: number) {
        seen.push(state ?? -1);
        if ((state ?? 0) < 2) this.schedule((state ?? 0) + 1);
      },
      5,
      0,
    );
    await vi.advanceTimersByTimeAsync(5);
    expect(seen).toEqual([0]);
    await vi.advanceTimersByTimeAsync(20);
    expect(seen).toEqual([0, 1, 2]);
  });

  it('never runs work whose subscription was closed, before or after it was rescheduled', async () => {
    vi.useFakeTimers();
    let runs = 0;
    const once = unrefScheduler.schedule(() => {
      runs++;
    }, 10);
    once.unsubscribe();
    const twice = unrefScheduler.schedule(function (this: { schedule(): unknown }) {
      runs++;
      this.schedule();
    }, 10);
    await vi.advanceTimersByTimeAsync(10);
    expect(runs).toBe(1);
    twice.unsubscribe();
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('holds the process with none of its timers, pending or rescheduled', async () => {
    // the timers each call makes, caught as it makes them (a count of the process's timers
    // would see other files' timers come and go: test:fast shares a worker between files)
    const made = vi.spyOn(globalThis, 'setTimeout');
    const madeBy = (run: () => void) => {
      const from = made.mock.results.length;
      run();
      return made.mock.results.slice(from).map((result) => result.value as NodeJS.Timeout);
    };
    try {
      const timers: NodeJS.Timeout[] = [];
      const ran = new Promise<void>((resolve) => {
        let count = 0;
        const first = madeBy(() =>
          unrefScheduler.schedule(function (this: {
            schedule(_?: undefined, d?: number): unknown;
          }) {
            count++;
            if (count > 1) return resolve();
            timers.push(...madeBy(() => this.schedule(undefined, 5)));
          }, 5),
        );
        timers.push(...first);
      });
      await ran;
      let pending: { unsubscribe(): void } | undefined;
      timers.push(
        ...madeBy(() => {
          pending = timer(1_000, unrefScheduler).subscribe();
        }),
      );
      pending?.unsubscribe();
      expect(timers).toHaveLength(3);
      expect(timers.map((made) => made.hasRef())).toEqual([false, false, false]);
    } finally {
      made.mockRestore();
    }
  });
});
