import fc from 'fast-check';
import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { backend, call, instance } from '../../marbles/fixtures.js';
import type { Instance } from '../../src/instance.js';
import { diff } from '../../src/operators/diff.js';
import { ringHash } from '../../src/operators/ring-hash.js';
import type { Picker } from '../../src/picker.js';
import { runs } from '../support/runs.js';
import { collect } from './collect.js';

const KEY = 'x-user-id';

const pickerOf = (members: readonly Instance[]): Picker => {
  const [picker] = collect(from([members]).pipe(diff(), ringHash({ key: KEY }))).values;
  if (picker === undefined) throw new Error('no picker');
  return picker;
};

const membersArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 65_535 }), { minLength: 1, maxLength: 12 })
  .chain((ports) =>
    fc.tuple(
      ...ports.map((port) =>
        fc.integer({ min: 1, max: 4 }).map((weight) => instance(`10.0.0.1:${port}`, { weight })),
      ),
    ),
  );

const keysArb = fc.array(fc.string({ minLength: 1, maxLength: 12 }), {
  minLength: 1,
  maxLength: 30,
});

describe('ringHash() property', () => {
  it('sends a key to the same member whatever picker of the same members asks', () => {
    fc.assert(
      fc.property(membersArb, keysArb, (members, keys) => {
        const [one, two] = [pickerOf(members), pickerOf([...members].reverse())];
        for (const key of keys) {
          expect(one.pick(undefined, call({ [KEY]: key }))?.address).toBe(
            two.pick(undefined, call({ [KEY]: key }))?.address,
          );
        }
      }),
      { numRuns: runs(60) },
    );
  });

  // The ring's entries per unit of weight are a power of two, the smallest that reaches
  // minRingSize (1024): it stays while the total weight stays within a factor of two.
  const perWeight = (members: readonly Instance[]) =>
    2 ** Math.ceil(Math.log2(1024 / members.reduce((sum, m) => sum + m.weight, 0)));

  it('moves only the keys of a member that leaves while the entries per weight stay', () => {
    fc.assert(
      fc.property(membersArb, fc.nat(), keysArb, (members, which, keys) => {
        fc.pre(members.length > 1);
        const gone = members[which % members.length]?.address;
        const rest = members.filter((m) => m.address !== gone);
        fc.pre(perWeight(rest) === perWeight(members));
        const before = pickerOf(members);
        const after = pickerOf(rest);
        for (const key of keys) {
          const was = before.pick(undefined, call({ [KEY]: key }))?.address;
          if (was !== gone) expect(after.pick(undefined, call({ [KEY]: key }))?.address).toBe(was);
        }
      }),
      { numRuns: runs(60) },
    );
  });

  it('among usable backends, picks a usable one: the key’s member when usable, else another', () => {
    fc.assert(
      fc.property(
        membersArb,
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        keysArb,
        (members, up, keys) => {
          const picker = pickerOf(members);
          const usable = picker.instances.filter((_, i) => up[i]).map((m) => backend(m));
          fc.pre(usable.length > 0);
          const usableSet = new Set(usable.map((b) => b.instance));
          for (const key of keys) {
            const home = picker.pick(undefined, call({ [KEY]: key }));
            const served = picker.pick({ usable }, call({ [KEY]: key }));
            expect(served !== undefined && usableSet.has(served)).toBe(true);
            if (home !== undefined && usableSet.has(home)) expect(served).toBe(home);
          }
        },
      ),
      { numRuns: runs(60) },
    );
  });
});
