import { of, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { added, backend } from '../../marbles/fixtures.js';
import type { Address, Update } from '../../src/instance.js';
import { type PeakEwmaOptions, peakEwma } from '../../src/operators/peak-ewma.js';
import type { Backend, Picker } from '../../src/picker.js';
import { countOf, seededRandom } from '../support/seeded-random.js';
import { collect } from './collect.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';

type Measured = Partial<Omit<Backend, 'instance'>>;

/** A peakEwma() pipeline fed batch by batch, and picks of its latest picker. */
function pipeline(options: PeakEwmaOptions = {}) {
  const batches = new Subject<readonly Update[]>();
  const { values } = collect(batches.pipe(peakEwma({ random: seededRandom(7), ...options })));
  const latest = (): Picker => {
    const picker = values.at(-1);
    if (!picker) throw new Error('no picker yet');
    return picker;
  };
  return {
    batches,
    latest,
    /** `n` picks among every member as usable, each measured as `measured` says. */
    picks(n: number, measured: Readonly<Record<Address, Measured>> = {}) {
      const picker = latest();
      const usable = picker.instances.map((i) => backend(i, measured[i.address]));
      return countOf(Array.from({ length: n }, () => picker.pick({ usable })?.address));
    },
  };
}

describe('peakEwma() options', () => {
  it('says where decayMs and scheduler went: the channel measures latency now', () => {
    expect(() => peakEwma({ decayMs: 5_000 } as object)).toThrow(
      'peakEwma(): option "decayMs" is gone: the channel measures latency now: createBalancedChannel(picker$, { decayMs })',
    );
    expect(() => peakEwma({ scheduler: {} } as object)).toThrow(
      'peakEwma(): option "scheduler" is gone: the channel measures latency now, on its own clock: peakEwma() reads none',
    );
  });

  it('says that options must be an object, for null', () => {
    expect(() => peakEwma(null as never)).toThrow(/^peakEwma\(\): options must be an object/);
  });

  it('throws a TypeError naming random, or an unknown option', () => {
    expect(() => peakEwma({ random: 1 } as object)).toThrow(
      'peakEwma(): option "random" must be a function, got 1',
    );
    expect(() => peakEwma({ decay: 1 } as object)).toThrow('peakEwma(): unknown option "decay"');
  });
});

describe('peakEwma() pickers', () => {
  it('picks like least-request while latencies are equal: calls in flight decide', () => {
    const p = pipeline();
    p.batches.next([added(A), added(B)]);
    expect(p.picks(50, { [A]: { inFlight: 2 }, [B]: { inFlight: 1 } })).toEqual(new Map([[B, 50]]));
  });

  it('avoids a backend of higher latency, while the others are idle', () => {
    const p = pipeline();
    p.batches.next([added(A), added(B), added(C)]);
    const counts = p.picks(3_000, {
      [A]: { latencyMs: 100 },
      [B]: { latencyMs: 5 },
      [C]: { latencyMs: 6 },
    });
    expect(counts.get(A)).toBeUndefined();
    // B beats C in their pairs; each beats A in its own
    expect(counts.get(B)).toBeGreaterThan(1_800);
    expect(counts.get(C)).toBeGreaterThan(800);
  });

  it('multiplies the latency by the calls in flight plus one: a busy fast backend loses to an idle slower one', () => {
    const p = pipeline();
    p.batches.next([added(A), added(B)]);
    const fast = { latencyMs: 10 };
    const slower = { latencyMs: 25 };
    expect(p.picks(20, { [A]: { ...fast, inFlight: 2 }, [B]: slower })).toEqual(new Map([[B, 20]])); // 30 > 25
    expect(p.picks(20, { [A]: { ...fast, inFlight: 1 }, [B]: slower })).toEqual(new Map([[A, 20]])); // 20 < 25
  });

  it('reads the measurements live: the same usable array picks otherwise once they change', () => {
    const p = pipeline();
    p.batches.next([added(A), added(B)]);
    const picker = p.latest();
    const [a, b] = picker.instances.map((i) => ({ ...backend(i), latencyMs: 1 }));
    if (!a || !b) throw new Error('no members');
    const backends = { usable: [a, b] };
    a.latencyMs = 50;
    expect(picker.pick(backends)?.address).toBe(B);
    a.latencyMs = 1;
    b.latencyMs = 50;
    expect(picker.pick(backends)?.address).toBe(A);
  });

  it('without backends picks a uniformly random member (nothing is measured), undefined when none', () => {
    const p = pipeline({ random: seededRandom(3) });
    p.batches.next([added(A), added(B)]);
    const picker = p.latest();
    const counts = countOf(Array.from({ length: 2_000 }, () => picker.pick()?.address));
    expect(counts.get(A)).toBeGreaterThan(850);
    expect(counts.get(B)).toBeGreaterThan(850);
    const [empty] = collect(of([]).pipe(peakEwma())).values;
    expect(empty?.pick()).toBeUndefined();
  });
});
