import { map } from 'rxjs';
import type { Update } from '../src/instance.js';
import { zoneAware } from '../src/operators/zone-aware.js';
import { added, deleted, describeBatch, instance } from './fixtures.js';
import type { MarbleSuite } from './marble-suite.js';
import { describePicks, drawsFrom, type PicksView, picksAmong, picksView } from './picks.js';

const zoned = (address: string, zone: string) => instance(address, { meta: { zone } });
const A1 = zoned('10.0.1.1:80', 'a');
const A2 = zoned('10.0.1.2:80', 'a');
const B1 = zoned('10.0.2.1:80', 'b');
const B2 = zoned('10.0.2.2:80', 'b');
const B3 = zoned('10.0.2.3:80', 'b');
const CALLER_A = zoned('10.0.9.1:80', 'a');
const CALLER_B = zoned('10.0.9.2:80', 'b');

/**
 * The draws, in turn: where each zone's round robin (and the one over everyone) starts, then
 * for each pick whether it stays local (a draw below the chance of staying) and, if not, one
 * more for which other zone takes it. With a chance of 0.5, the picks alternate.
 */
const DRAWS = [0, 0.5, 0.75];
const PICKS = 6;

export const zoneAwareMarbles: MarbleSuite<readonly Update[], PicksView> = {
  name: 'zone-aware',
  operator: "zoneAware({ zone: 'a', callers$, random })",
  secondName: 'callers$',
  pipe: (source, callers) =>
    source.pipe(
      zoneAware({
        zone: 'a',
        random: drawsFrom(DRAWS),
        ...(callers && {
          callers$: callers.pipe(
            map((batch) => batch.flatMap((u) => (u.op === 'add' ? [u.instance] : []))),
          ),
        }),
      }),
      map((picker) => picksAmong(picker, {}, PICKS)),
    ),
  describeInput: describeBatch,
  describeOutput: describePicks,
  cases: [
    {
      title: 'Stays in the local zone while it has anyone',
      source: '-a--b--|',
      sourceValues: {
        a: [added(A1), added(A2), added(B1)],
        b: [deleted(A1.address), deleted(A2.address)],
      },
      expected: '-x--y--|',
      expectedValues: {
        x: picksView(
          [A1, A2, B1],
          [A1, A2, A1, A2, A1, A2].map((m) => m.address),
        ),
        y: picksView([B1], Array(PICKS).fill(B1.address)),
      },
      subscriptions: ['^------!'],
    },
    {
      title: 'With callers, keeps local only the local share of the callers',
      source: '-a-------|',
      sourceValues: { a: [added(A1), added(B1), added(B2), added(B3)] },
      second: {
        marbles: '----c----',
        values: { c: [added(CALLER_A), added(CALLER_B)] },
        subscriptions: ['^--------!'],
      },
      expected: '-x--y----|',
      expectedValues: {
        x: picksView([A1, B1, B2, B3], Array(PICKS).fill(A1.address)),
        y: picksView(
          [A1, B1, B2, B3],
          [A1, B2, A1, B3, A1, B1].map((m) => m.address),
        ),
      },
      subscriptions: ['^--------!'],
    },
    {
      title: 'An error of callers$ passes through',
      source: '-a-----',
      sourceValues: { a: [added(A1)] },
      second: { marbles: '---#', values: {}, error: new Error('callers failed') },
      expected: '-x-#',
      expectedValues: { x: picksView([A1], Array(PICKS).fill(A1.address)) },
      expectedError: new Error('callers failed'),
      subscriptions: ['^--!'],
    },
    {
      title: 'Unsubscribing unsubscribes from the source and callers$',
      source: '-a-----|',
      sourceValues: { a: [added(A1)] },
      second: { marbles: '-------', values: {}, subscriptions: ['^--!'] },
      unsubscribe: '---!',
      expected: '-x--',
      expectedValues: { x: picksView([A1], Array(PICKS).fill(A1.address)) },
      subscriptions: ['^--!'],
    },
  ],
};
