import { of, Subject, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { added, deleted } from '../../marbles/fixtures.js';
import type { Address, Instance, Update } from '../../src/instance.js';
import { type PeakEwmaOptions, peakEwma } from '../../src/operators/peak-ewma.js';
import type { Picker } from '../../src/picker.js';
import { countOf, seededRandom } from '../support/seeded-random.js';
import { collect } from './collect.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';

/**
 * A peakEwma() pipeline fed batch by batch, with the latest picker and a way to report calls.
 * Its time stands still unless a test moves its scheduler.
 */
function pipeline(options: PeakEwmaOptions = {}) {
  const batches = new Subject<readonly Update[]>();
  const operator = peakEwma({
    random: seededRandom(7),
    scheduler: new VirtualTimeScheduler(),
    ...options,
  });
  const { values } = collect(batches.pipe(operator));
  const latest = (): Picker => {
    const picker = values.at(-1);
    if (!picker) throw new Error('no picker yet');
    return picker;
  };
  const member = (picker: Picker, address: Address): Instance => {
    const found = picker.instances.find((i) => i.address === address);
    if (!found) throw new Error(`${address} is no member`);
    return found;
  };
  return {
    batches,
    latest,
    /** A call to `address`, chosen by `picker` (default: the latest), ended. */
    ended(address: Address, durationMs: number, code = 0, picker = latest()) {
      const instance = member(picker, address);
      picker.callEnded?.({ instance, durationMs, code, connectionFailure: false });
    },
    /** `n` picks among every member as usable, with `inFlight` calls on each (default 0). */
    picks(n: number, inFlight: Readonly<Record<Address, number>> = {}) {
      const picker = latest();
      const usable = picker.instances.map((i) => ({
        instance: i,
        inFlight: inFlight[i.address] ?? 0,
      }));
      return countOf(Array.from({ length: n }, () => picker.pick({ usable })?.address));
    },
  };
}

describe('peakEwma() options', () => {
  it('throws a TypeError naming decayMs when it is not a number of ms of at least 1', () => {
    for (const decayMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, '10s']) {
      expect(() => peakEwma({ decayMs } as object)).toThrow(
        'peakEwma(): option "decayMs" must be a number of ms from 1 to 2147483647',
      );
    }
  });

  it('throws a TypeError naming scheduler, random, or an unknown option', () => {
    expect(() => peakEwma({ scheduler: Date } as object)).toThrow(
      'peakEwma(): option "scheduler" must be an RxJS SchedulerLike (with now())',
    );
    expect(() => peakEwma({ random: 1 } as object)).toThrow(
      'peakEwma(): option "random" must be a function, got 1',
    );
    expect(() => peakEwma({ decay: 1 } as object)).toThrow('peakEwma(): unknown option "decay"');
  });
});

describe('peakEwma() pickers', () => {
  it('picks like least-request while no call has reported: calls in flight decide', () => {
    const p = pipeline();
    p.batches.next([added(A), added(B)]);
    expect(p.picks(50, { [A]: 2, [B]: 1 })).toEqual(new Map([[B, 50]]));
  });

  it('avoids a backend that answered slower, while the others are idle', () => {
    const p = pipeline();
    p.batches.next([added(A), added(B), added(C)]);
    p.ended(A, 100);
    p.ended(B, 5);
    p.ended(C, 6);
    const counts = p.picks(3_000);
    expect(counts.get(A)).toBeUndefined();
    // B beats C in their pairs; each beats A in its own
    expect(counts.get(B)).toBeGreaterThan(1_800);
    expect(counts.get(C)).toBeGreaterThan(800);
  });

  it('multiplies the estimate by the calls in flight plus one: a busy fast backend loses to an idle slower one', () => {
    const p = pipeline();
    p.batches.next([added(A), added(B)]);
    p.ended(A, 10);
    p.ended(B, 25);
    expect(p.picks(20, { [A]: 2 })).toEqual(new Map([[B, 20]])); // 30 > 25
    expect(p.picks(20, { [A]: 1 })).toEqual(new Map([[A, 20]])); // 20 < 25
  });

  it('keeps what it learned across pickers: a new batch forgets nothing of the members that stay', () => {
    const p = pipeline();
    p.batches.next([added(A), added(B)]);
    const first = p.latest();
    p.batches.next([added(C)]);
    // a call the first picker chose ends after the second picker came
    p.ended(A, 100, 0, first);
    p.ended(B, 5);
    p.ended(C, 5);
    expect(p.picks(500).get(A)).toBeUndefined();
  });

  it('forgets a member that leaves: back, it has no history and costs the mean', () => {
    const p = pipeline();
    p.batches.next([added(A), added(B)]);
    p.ended(A, 100);
    p.ended(B, 5);
    const before = p.latest();
    p.batches.next([deleted(A)]);
    // a late report from the picker that still had A changes nothing once A is gone
    p.ended(A, 100, 0, before);
    p.batches.next([added(A)]);
    const counts = p.picks(1_000);
    // A costs the mean of the known estimates, B's alone: a tie, broken at random
    expect(counts.get(A)).toBeGreaterThan(400);
    expect(counts.get(B)).toBeGreaterThan(400);
  });

  it('makes a backend that fails fast lose to one that answers slower', () => {
    const p = pipeline();
    p.batches.next([added(A), added(B)]);
    p.ended(A, 10);
    p.ended(B, 15);
    p.ended(A, 0.5, 13); // INTERNAL in half a millisecond
    expect(p.picks(20)).toEqual(new Map([[B, 20]]));
  });

  it('tries an avoided backend again once its cost has decayed below the others', () => {
    const scheduler = new VirtualTimeScheduler();
    const p = pipeline({ scheduler, decayMs: 1_000 });
    p.batches.next([added(A), added(B)]);
    p.ended(A, 100);
    p.ended(B, 10);
    expect(p.picks(20).get(A)).toBeUndefined();
    // B keeps answering in 10 ms; A's cost, 100 ms, decays by e every second
    for (let t = 0; t <= 3_000; t += 100) {
      scheduler.frame = t;
      p.ended(B, 10);
    }
    expect(p.picks(20).get(A)).toBe(20); // 100 / e^3 ≈ 5 ms < 10 ms
  });

  it('reads the clock once per call report, never to pick', () => {
    let reads = 0;
    const scheduler = new VirtualTimeScheduler();
    const now = scheduler.now.bind(scheduler);
    scheduler.now = () => {
      reads++;
      return now();
    };
    const p = pipeline({ scheduler });
    p.batches.next([added(A), added(B)]);
    p.picks(1_000);
    expect(reads).toBe(0);
    p.ended(A, 5);
    p.ended(B, 5);
    expect(reads).toBe(2);
  });

  it('without backends picks the member of lower estimate, and undefined when there is none', () => {
    const p = pipeline();
    p.batches.next([added(A), added(B)]);
    p.ended(A, 50);
    p.ended(B, 5);
    const picker = p.latest();
    expect(countOf(Array.from({ length: 20 }, () => picker.pick()?.address))).toEqual(
      new Map([[B, 20]]),
    );
    const [empty] = collect(of([]).pipe(peakEwma())).values;
    expect(empty?.pick()).toBeUndefined();
  });

  it('starts afresh on every subscription', () => {
    const batches = of([added(A), added(B)]);
    const operator = peakEwma({ random: seededRandom(8) });
    const [first] = collect(batches.pipe(operator)).values;
    const [a, b] = first?.instances ?? [];
    if (!a || !b) throw new Error('no members');
    first?.callEnded?.({ instance: a, durationMs: 100, code: 0, connectionFailure: false });
    first?.callEnded?.({ instance: b, durationMs: 1, code: 0, connectionFailure: false });
    const [second] = collect(batches.pipe(operator)).values;
    const picks = countOf(Array.from({ length: 400 }, () => second?.pick()?.address));
    expect(picks.get(A)).toBeGreaterThan(150);
  });
});
