import { map } from 'rxjs';
import type { Update } from '../src/instance.js';
import { leastRequest } from '../src/operators/least-request.js';
import { added, deleted, describeBatch, instance } from './fixtures.js';
import type { MarbleSuite } from './marble-suite.js';
import { describePicks, drawsFrom, type PicksView, picksAmong, picksView } from './picks.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';

/** The calls in flight on each backend whenever a case's picker picks. */
const IN_FLIGHT = { [A]: { inFlight: 2 }, [B]: { inFlight: 0 }, [C]: { inFlight: 5 } };
/**
 * One draw per pick: its integer part (times the number of members) is the first candidate, its
 * fraction the second. Over three members, the pairs drawn in turn are (A, B), (A, C), (B, A),
 * (B, C), (C, A), (C, B): every ordered pair once. (Over two, both are always drawn.)
 */
const DRAWS = [0.1, 0.25, 0.4, 0.6, 0.7, 0.9];
const PICKS = 6;

export const leastRequestMarbles: MarbleSuite<readonly Update[], PicksView> = {
  name: 'least-request',
  operator: 'leastRequest({ random }), in flight A 2, B 0, C 5',
  pipe: (source) =>
    source.pipe(
      leastRequest({ random: drawsFrom(DRAWS) }),
      map((picker) => picksAmong(picker, IN_FLIGHT, PICKS)),
    ),
  describeInput: describeBatch,
  describeOutput: describePicks,
  cases: [
    {
      title: 'Picks the less loaded of two random members',
      source: '-a--|',
      sourceValues: { a: [added(A), added(B), added(C)] },
      expected: '-x--|',
      expectedValues: { x: picksView([A, B, C], [B, A, B, B, A, B]) },
      subscriptions: ['^---!'],
    },
    {
      title: 'Weighs the calls in flight by weight, as Envoy does',
      source: '-a--|',
      sourceValues: { a: [added(instance(A, { weight: 4 })), added(B), added(C)] },
      expected: '-x--|',
      expectedValues: { x: picksView([instance(A, { weight: 4 }), B, C], [A, A, A, B, A, B]) },
    },
    {
      title: 'A tie goes to the first drawn, a random one',
      source: '-a--|',
      sourceValues: { a: [added(instance(A, { weight: 3 })), added(B), added(C)] },
      expected: '-x--|',
      expectedValues: { x: picksView([instance(A, { weight: 3 }), B, C], [A, A, B, B, A, B]) },
    },
    {
      title: 'Follows the members batch by batch',
      source: '-a--b--|',
      sourceValues: { a: [added(A), added(B), added(C)], b: [deleted(B)] },
      expected: '-x--y--|',
      expectedValues: {
        x: picksView([A, B, C], [B, A, B, B, A, B]),
        y: picksView([A, C], Array(PICKS).fill(A)),
      },
    },
    {
      title: 'An empty batch gives a picker that picks undefined',
      source: '-a--|',
      sourceValues: { a: [] },
      expected: '-x--|',
      expectedValues: { x: picksView([], Array(PICKS).fill(undefined)) },
    },
    {
      title: 'A source error passes through',
      source: '-a--#',
      sourceValues: { a: [added(A)] },
      sourceError: new Error('discovery failed'),
      expected: '-x--#',
      expectedValues: { x: picksView([A], Array(PICKS).fill(A)) },
      expectedError: new Error('discovery failed'),
      subscriptions: ['^---!'],
    },
    {
      title: 'Unsubscribing unsubscribes from the source',
      source: '-a--b--c--|',
      sourceValues: { a: [added(A)], b: [added(B)], c: [deleted(A)] },
      unsubscribe: '------!',
      expected: '-x--y--',
      expectedValues: {
        x: picksView([A], Array(PICKS).fill(A)),
        y: picksView([A, B], Array(PICKS).fill(B)),
      },
      subscriptions: ['^-----!'],
    },
  ],
};
