import fc from 'fast-check';
import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { added, backend, deleted, instance } from '../../marbles/fixtures.js';
import type { Address, Update } from '../../src/instance.js';
import { roundRobin } from '../../src/operators/round-robin.js';
import { collect } from './collect.js';

const POOL = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '[::1]:80', '[::2]:80', 'b.svc:80'];

const updateArb: fc.Arbitrary<Update> = fc.oneof(
  fc
    .record({ address: fc.constantFrom(...POOL), weight: fc.integer({ min: 1, max: 3 }) })
    .map(({ address, weight }) => added(instance(address, { weight }))),
  fc.constantFrom(...POOL).map(deleted),
);

describe('roundRobin() property', () => {
  it('starts at the random offset, then over k * size picks chooses every member k times, any size consecutive picks distinct', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(updateArb, { maxLength: 6 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1 }),
        fc.integer({ min: 1, max: 4 }),
        (batches, randoms, k) => {
          const drawn: number[] = [];
          const random = () => {
            const value = randoms[drawn.length % randoms.length] ?? 0;
            drawn.push(value);
            return value;
          };
          const pickers = collect(from(batches).pipe(roundRobin({ random }))).values;
          expect(pickers).toHaveLength(batches.length);
          const members = new Map<Address, unknown>();
          pickers.forEach((picker, i) => {
            for (const update of batches[i] ?? []) {
              if (update.op === 'add') members.set(update.address, update.instance);
              else members.delete(update.address);
            }
            // Members in first-added order, replaced in place.
            expect(picker.instances).toEqual([...members.values()]);
            const size = picker.instances.length;
            const picks = Array.from({ length: k * size }, () => picker.pick()?.address);
            if (size > 0) {
              const offset = Math.floor((drawn.shift() ?? Number.NaN) * size);
              expect(picks[0]).toBe(picker.instances[offset]?.address);
            }
            for (const address of members.keys()) {
              expect(picks.filter((p) => p === address)).toHaveLength(k);
            }
            for (let start = 0; start + size <= picks.length; start++) {
              expect(new Set(picks.slice(start, start + size)).size).toBe(size);
            }
            if (size === 0) expect(picker.pick()).toBeUndefined();
          });
        },
      ),
    );
  });
});

describe("roundRobin()'s picker among a channel's usable backends, property", () => {
  it('picks only usable members, each k times over k rounds, and after a change goes on from the first usable member after the last one picked', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.integer({ min: 1, max: 3 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (size, masks, k, start) => {
          const batch = Array.from({ length: size }, (_, i) => added(`10.0.0.${i + 1}:80`));
          const [picker] = collect(from([batch]).pipe(roundRobin({ random: () => start }))).values;
          if (!picker) throw new Error('no picker');
          let last = Math.floor(start * size) - 1;
          for (const mask of masks) {
            // What the channel gives: the usable members, in member order, a new array.
            const usable = picker.instances
              .filter((_, i) => mask[i])
              .map((member) => backend(member));
            if (usable.length === 0) continue;
            const position = (address: string | undefined) =>
              picker.instances.findIndex((member) => member.address === address);
            const picks = Array.from({ length: k * usable.length }, () => picker.pick({ usable }));
            const expectedFirst =
              usable.find((b) => position(b.instance.address) > last) ?? usable[0];
            expect(picks[0]).toBe(expectedFirst?.instance);
            for (const backend of usable) {
              expect(picks.filter((p) => p === backend.instance)).toHaveLength(k);
            }
            last = position(picks.at(-1)?.address);
          }
        },
      ),
    );
  });
});
