/**
 * zoneAware() against Envoy's zone-aware routing rule, for any fleet, any usable backends and
 * any callers: each zone's share of the calls is what the rule says, within sampling error.
 */
import fc from 'fast-check';
import { from, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { added, backend, instance } from '../../marbles/fixtures.js';
import type { Instance } from '../../src/instance.js';
import { zoneAware } from '../../src/operators/zone-aware.js';
import type { Picker } from '../../src/picker.js';
import { runs } from '../support/runs.js';
import { seededRandom } from '../support/seeded-random.js';
import { collect } from './collect.js';

const ZONES = ['a', 'b', 'c', 'd'] as const;
/** Picks per case: a zone's share is then within 0.05 of its chance (6 standard deviations). */
const PICKS = 4_000;

interface Case {
  /** Members per zone, and how many of them are usable. */
  readonly members: Readonly<Record<string, { total: number; usable: number }>>;
  /** Callers per zone (`e` has callers and no members); none: no `callers$` at all. */
  readonly callers: Readonly<Record<string, number>> | undefined;
  readonly seed: number;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  members: fc.record(
    Object.fromEntries(
      ZONES.map((zone) => [
        zone,
        fc
          .tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 }))
          .map(([total, usable]) => ({ total, usable: Math.min(total, usable) })),
      ]),
    ),
  ),
  callers: fc.option(
    fc.record(
      Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((zone) => [zone, fc.nat({ max: 5 })])),
    ),
    { nil: undefined, freq: 4 },
  ),
  seed: fc.integer(),
});

/**
 * Each zone's chance of a call from zone `a`, by Envoy's rule: stay local while the local
 * zone has at least its callers' share of the usable backends; else stay with the chance
 * upstream / callers and send the rest to the other zones by their surplus (their share of
 * the backends above their share of the callers). Nobody usable locally: any usable backend.
 */
function expected(c: Case): Record<string, number> {
  const usable = (zone: string) => c.members[zone]?.usable ?? 0;
  const total = ZONES.reduce((sum, zone) => sum + usable(zone), 0);
  const callers = Object.values(c.callers ?? {}).reduce((sum, n) => sum + n, 0);
  if (usable('a') === 0) {
    return Object.fromEntries(ZONES.map((zone) => [zone, usable(zone) / total]));
  }
  const upstream = (zone: string) => usable(zone) / total;
  const share = (zone: string) => (callers === 0 ? 0 : (c.callers?.[zone] ?? 0) / callers);
  const local = { a: 1, b: 0, c: 0, d: 0 };
  if (callers === 0 || upstream('a') >= share('a')) return local;
  const surplus = (zone: string) =>
    usable(zone) === 0 ? 0 : Math.max(0, upstream(zone) - share(zone));
  const others = ZONES.filter((zone) => zone !== 'a');
  const sum = others.reduce((s, zone) => s + surplus(zone), 0);
  if (sum === 0) return local;
  const stay = upstream('a') / share('a');
  return {
    a: stay,
    ...Object.fromEntries(others.map((zone) => [zone, ((1 - stay) * surplus(zone)) / sum])),
  };
}

let port = 1;
const inZone = (zone: string) => instance(`10.0.0.1:${port++}`, { meta: { zone } });

describe('zoneAware(), property', () => {
  it("gives each zone its share of the calls by Envoy's rule, for any fleet, usable backends and callers", () => {
    fc.assert(
      fc.property(
        caseArb.filter((c) => ZONES.some((zone) => (c.members[zone]?.usable ?? 0) > 0)),
        (c) => {
          const members: Instance[] = [];
          const usable: Instance[] = [];
          for (const zone of ZONES) {
            const { total = 0, usable: n = 0 } = c.members[zone] ?? {};
            for (let i = 0; i < total; i++) {
              const member = inZone(zone);
              members.push(member);
              if (i < n) usable.push(member);
            }
          }
          const callers = Object.entries(c.callers ?? {}).flatMap(([zone, n]) =>
            Array.from({ length: n }, () => inZone(zone)),
          );
          const random = seededRandom(c.seed);
          const operator = zoneAware(
            c.callers === undefined
              ? { zone: 'a', random }
              : { zone: 'a', callers$: of(callers), random },
          );
          const picker = collect(from([members.map((m) => added(m))]).pipe(operator)).values.at(
            -1,
          ) as Picker;
          const backends = { usable: usable.map((m) => backend(m)) };
          const tally: Record<string, number> = { a: 0, b: 0, c: 0, d: 0 };
          const strays: string[] = [];
          for (let i = 0; i < PICKS; i++) {
            const picked = picker.pick(backends);
            if (picked === undefined || !usable.includes(picked))
              strays.push(String(picked?.address));
            else tally[picked.meta.zone ?? ''] = (tally[picked.meta.zone ?? ''] ?? 0) + 1 / PICKS;
          }
          expect(strays).toEqual([]);
          const want = expected(c);
          const off = ZONES.filter(
            (zone) => Math.abs((tally[zone] ?? 0) - (want[zone] ?? 0)) > 0.05,
          );
          expect(off, `got ${JSON.stringify(tally)}, want ${JSON.stringify(want)}`).toEqual([]);
        },
      ),
      { numRuns: runs(60) },
    );
  });
});
