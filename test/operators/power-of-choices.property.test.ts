import fc from 'fast-check';
import { from, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { added, backend, instance } from '../../marbles/fixtures.js';
import type { Instance, Update } from '../../src/instance.js';
import { leastRequest } from '../../src/operators/least-request.js';
import { peakEwma } from '../../src/operators/peak-ewma.js';
import type { Backend, Picker } from '../../src/picker.js';
import { runs } from '../support/runs.js';
import { countOf, seededRandom } from '../support/seeded-random.js';
import { collect } from './collect.js';

/** One member of a generated case: its weight, and the calls in flight and latency measured. */
interface Member {
  readonly weight: number;
  readonly inFlight: number;
  readonly latency: number;
  readonly usable: boolean;
}

interface Policy {
  readonly name: string;
  readonly choices: (drawn: number) => number;
  operator(random: () => number, choices: number): OperatorFunction<readonly Update[], Picker>;
  /** What the policy's documentation says a usable backend costs (lower wins). */
  cost(member: Member): number;
}

const POLICIES: readonly Policy[] = [
  {
    name: 'leastRequest()',
    choices: (drawn) => drawn,
    operator: (random, choices) => leastRequest({ random, choices }),
    cost: ({ inFlight, weight }) => (inFlight + 1) / weight,
  },
  {
    name: 'peakEwma()',
    choices: () => 2,
    operator: (random) => peakEwma({ random }),
    cost: ({ inFlight, latency }) => latency * (inFlight + 1),
  },
];

const memberArb: fc.Arbitrary<Member> = fc.record({
  weight: fc.constantFrom(1, 1, 2, 3, 0.5),
  inFlight: fc.integer({ min: 0, max: 4 }),
  latency: fc.integer({ min: 1, max: 4 }).map((ms) => ms * 5),
  usable: fc.boolean(),
});

/** The policy's picker over `members`. */
function pickerFor(policy: Policy, members: readonly Member[], seed: number, choices: number) {
  const instances = members.map((m, i) => instance(`10.0.0.${i + 1}:80`, { weight: m.weight }));
  const operator = policy.operator(seededRandom(seed), choices);
  const [picker] = collect(from([instances.map((i) => added(i))]).pipe(operator)).values;
  if (!picker) throw new Error('no picker');
  return picker;
}

for (const policy of POLICIES) {
  describe(`${policy.name}, property`, () => {
    it('never picks the more costly of its choices: the pick is a drawn candidate of least cost', () => {
      fc.assert(
        fc.property(
          fc.array(memberArb, { minLength: 1, maxLength: 10 }),
          fc.integer({ min: 2, max: 5 }),
          fc.integer(),
          (members, drawn, seed) => {
            const choices = policy.choices(drawn);
            const picker = pickerFor(policy, members, seed, choices);
            const read = new Set<number>();
            // what the channel hands a pick: the usable members in member order, live counts
            const usable: Backend[] = [];
            members.forEach((member, i) => {
              const memberInstance = picker.instances[i] as Instance;
              if (!member.usable && !(usable.length === 0 && i === members.length - 1)) return;
              usable.push({
                ...backend(memberInstance, { latencyMs: member.latency }),
                get inFlight() {
                  read.add(i);
                  return member.inFlight;
                },
              });
            });
            // checked per pick, asserted once per case: what went wrong, pick by pick
            const wrong: string[] = [];
            const cost = (i: number) => policy.cost(members[i] as Member);
            for (let pick = 0; pick < 20; pick++) {
              read.clear();
              const chosen = picker.pick({ usable });
              const index = chosen ? picker.instances.indexOf(chosen) : -1;
              if (!usable.some((b) => b.instance === chosen)) {
                wrong.push(`pick ${pick}: member ${index} is not usable`);
              }
              if (usable.length === 1) continue;
              // the candidates are the backends whose load was read
              const candidates = Math.min(choices, usable.length);
              if (read.size !== candidates) {
                wrong.push(`pick ${pick}: read ${read.size} loads, not ${candidates}`);
              }
              if (!read.has(index)) {
                wrong.push(`pick ${pick}: member ${index} is none of the candidates ${[...read]}`);
                continue;
              }
              for (const candidate of read) {
                if (cost(index) > cost(candidate) * (1 + 1e-9)) {
                  wrong.push(
                    `pick ${pick}: member ${index} costs ${cost(index)}, candidate ${candidate} ${cost(candidate)}`,
                  );
                }
              }
            }
            expect(wrong).toEqual([]);
          },
        ),
      );
    });

    it('breaks ties at random: members of equal cost are picked alike', () => {
      fc.assert(
        fc.property(fc.integer({ min: 2, max: 8 }), fc.integer(), (n, seed) => {
          const members = Array.from({ length: n }, () => ({
            weight: 1,
            inFlight: 1,
            latency: 10,
            usable: true,
          }));
          const picker = pickerFor(policy, members, seed, 2);
          const usable = picker.instances.map((i) => backend(i, { inFlight: 1, latencyMs: 10 }));
          const counts = countOf(Array.from({ length: 200 * n }, () => picker.pick({ usable })));
          for (const member of picker.instances) {
            expect(counts.get(member)).toBeGreaterThan(100);
          }
        }),
        { numRuns: runs(30) },
      );
    });
  });
}
