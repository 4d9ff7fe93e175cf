import fc from 'fast-check';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Update } from '../../src/instance.js';
import { diff } from '../../src/operators/diff.js';
import { subset } from '../../src/operators/subset.js';

const address = (i: number) => `10.0.${i >> 8}.${i & 255}:80`;

/** One client fed instance sets: what it keeps, by applying its batches, and its batches. */
function client(size: number, clientId: number | string) {
  const sets = new Subject<readonly string[]>();
  const kept = new Set<string>();
  const batches: (readonly Update[])[] = [];
  sets.pipe(diff(), subset({ size, clientId })).subscribe((batch) => {
    batches.push(batch);
    for (const update of batch) {
      if (update.op === 'delete') {
        if (!kept.delete(update.address)) throw new Error(`deleted ${update.address}, not kept`);
      } else kept.add(update.address);
    }
  });
  return { sets, kept, batches };
}

/** A history of sets over a pool of addresses: each step adds or removes a few. */
const historyArb = fc
  .record({
    initial: fc.integer({ min: 0, max: 40 }),
    steps: fc.array(fc.array(fc.integer({ min: 0, max: 59 }), { maxLength: 3 }), { maxLength: 12 }),
  })
  .map(({ initial, steps }) => {
    let live = new Set(Array.from({ length: initial }, (_, i) => address(i)));
    const sets = [[...live]];
    for (const toggles of steps) {
      live = new Set(live);
      for (const t of toggles) {
        if (!live.delete(address(t))) live.add(address(t));
      }
      sets.push([...live]);
    }
    return sets;
  });
const clientIdArb = fc.oneof(fc.nat({ max: 1000 }), fc.string({ minLength: 1, maxLength: 8 }));
const sizeArb = fc.integer({ min: 1, max: 8 });

/** Asserts `check` of a client of `size` and `clientId` after every set of a history. */
const afterAnyHistory = (
  check: (history: readonly (readonly string[])[], size: number, clientId: number | string) => void,
) => fc.assert(fc.property(historyArb, sizeArb, clientIdArb, check));

describe('subset() property', () => {
  it('keeps min(size, backends) live members, emits the first batch and then only changes, and a departure moves only a client that had it, by one member', () => {
    fc.assert(
      fc.property(historyArb, sizeArb, clientIdArb, fc.nat(), (history, size, clientId, pick) => {
        const c = client(size, clientId);
        history.forEach((set, i) => {
          const emitted = c.batches.length;
          c.sets.next(set);
          if (i === 0) expect(c.batches).toHaveLength(1);
          else if (c.batches.length > emitted) expect(c.batches.at(-1)?.length).toBeGreaterThan(0);
          expect(c.kept.size).toBe(Math.min(size, set.length));
          expect([...c.kept].filter((member) => !set.includes(member))).toEqual([]);
          // Now one backend leaves.
          if (set.length === 0) return;
          const leaving = set[pick % set.length] ?? '';
          const held = new Set(c.kept);
          c.sets.next(set.filter((a) => a !== leaving));
          const moved = [...held].filter((a) => !c.kept.has(a));
          if (held.has(leaving)) {
            expect(moved).toEqual([leaving]);
            expect(c.kept.size).toBe(Math.min(size, set.length - 1));
          } else expect(c.kept).toEqual(held);
          c.sets.next(set); // and comes back, for the next step to start from `set`
        });
      }),
    );
  });

  it('moves at most one member when one backend joins', () => {
    afterAnyHistory((history, size, clientId) => {
      const c = client(size, clientId);
      for (const set of history) c.sets.next(set);
      const newcomer = address(100);
      const held = new Set(c.kept);
      c.sets.next([...(history.at(-1) ?? []), newcomer]);
      const gone = [...held].filter((a) => !c.kept.has(a));
      const taken = [...c.kept].filter((a) => !held.has(a));
      expect(taken.length).toBeLessThanOrEqual(1);
      if (taken.length === 1) expect(taken).toEqual([newcomer]);
      expect(gone.length).toBe(held.size === size ? taken.length : 0);
    });
  });

  it('is a function of the clientId and the history: two clients with one id keep the same members', () => {
    afterAnyHistory((history, size, clientId) => {
      const a = client(size, clientId);
      const b = client(size, clientId);
      for (const set of history) {
        a.sets.next(set);
        b.sets.next(set);
        expect([...a.kept]).toEqual([...b.kept]);
      }
    });
  });

  it('over consecutive ordinals gives every backend floor or ceil of the mean number of clients when size divides the backends', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 80 }),
        (size, subsets, clients) => {
          const backends = Array.from({ length: size * subsets }, (_, i) => address(i));
          const counts = new Map(backends.map((b) => [b, 0]));
          for (let id = 0; id < clients; id++) {
            const c = client(size, id);
            c.sets.next(backends);
            for (const member of c.kept) counts.set(member, (counts.get(member) ?? 0) + 1);
          }
          const mean = (clients * size) / backends.length;
          const outside = [...counts].filter(
            ([, count]) => count < Math.floor(mean) || count > Math.ceil(mean),
          );
          expect(outside, `mean ${mean}`).toEqual([]);
        },
      ),
    );
  });
});
