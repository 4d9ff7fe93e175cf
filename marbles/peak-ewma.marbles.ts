import { map } from 'rxjs';
import type { Update } from '../src/instance.js';
import { peakEwma } from '../src/operators/peak-ewma.js';
import { added, deleted, describeBatch } from './fixtures.js';
import type { MarbleSuite } from './marble-suite.js';
import { describePicks, drawsFrom, type PicksView, picksAmong, picksView } from './picks.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';

/**
 * What the channel measured of each backend whenever a case's picker picks: costs
 * (latency × (calls in flight + 1)) of A 100, B 2 × 2 = 4, C 5.
 */
const MEASURED = {
  [A]: { latencyMs: 100 },
  [B]: { latencyMs: 2, inFlight: 1 },
  [C]: { latencyMs: 5 },
};
/**
 * One draw per pick (see the leastRequest() cases): over two members the pairs drawn in turn are
 * (A, B), (B, A); over three, (A, C), (C, B).
 */
const DRAWS = [0.25, 0.9];
const PICKS = 4;

export const peakEwmaMarbles: MarbleSuite<readonly Update[], PicksView> = {
  name: 'peak-ewma',
  operator: 'peakEwma({ random }), A 100 ms, B 2 ms with 1 in flight, C 5 ms',
  pipe: (source) =>
    source.pipe(
      peakEwma({ random: drawsFrom(DRAWS) }),
      map((picker) => picksAmong(picker, MEASURED, PICKS)),
    ),
  describeInput: describeBatch,
  describeOutput: describePicks,
  cases: [
    {
      title: 'Picks the lower latency times calls in flight of two random members',
      source: '-a-------b--|',
      sourceValues: { a: [added(A), added(B)], b: [added(C)] },
      expected: '-x-------y--|',
      expectedValues: { x: picksView([A, B], [B, B, B, B]), y: picksView([A, B, C], [C, B, C, B]) },
      subscriptions: ['^-----------!'],
    },
    {
      title: 'Follows the members batch by batch',
      source: '-a---b--c--|',
      sourceValues: { a: [added(A), added(B)], b: [deleted(B)], c: [added(C)] },
      expected: '-x---y--z--|',
      expectedValues: {
        x: picksView([A, B], [B, B, B, B]),
        y: picksView([A], [A, A, A, A]),
        z: picksView([A, C], [C, C, C, C]),
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
        y: picksView([A, B], [B, B, B, B]),
      },
      subscriptions: ['^-----!'],
    },
    {
      title: 'A resubscription starts with no members',
      source: '-a-#',
      sourceValues: { a: [added(A), added(B)] },
      sourceError: new Error('discovery failed'),
      retry: 1,
      expected: '-x--x-#',
      expectedValues: { x: picksView([A, B], [B, B, B, B]) },
      expectedError: new Error('discovery failed'),
      subscriptions: ['^--!', '---^--!'],
    },
  ],
};
