import type { Update } from '../src/instance.js';
import { subset } from '../src/operators/subset.js';
import { added, deleted, describeBatch, instance } from './fixtures.js';
import type { MarbleSuite } from './marble-suite.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';
const D = '10.0.0.4:80';
// A backend that Google's subsetting deals to client 0 once it joins A, B, C and D.
const E = '10.0.0.9:80';
const all = [added(A), added(B), added(C), added(D)];

export const subsetMarbles: MarbleSuite<readonly Update[], readonly Update[]> = {
  name: 'subset',
  operator: 'subset({ size: 2, clientId: 0 })',
  pipe: (source) => source.pipe(subset({ size: 2, clientId: 0 })),
  describeInput: describeBatch,
  describeOutput: describeBatch,
  cases: [
    {
      title: 'Keeps size members, as deterministic subsetting deals them to the client',
      source: '-a--|',
      sourceValues: { a: all },
      expected: '-x--|',
      expectedValues: { x: [added(C), added(D)] },
      subscriptions: ['^---!'],
    },
    {
      title: 'A departure moves only the clients that had it, by one member',
      source: '-a--b--c--|',
      sourceValues: { a: all, b: [deleted(A)], c: [deleted(C)] },
      expected: '-x-----y--|',
      expectedValues: { x: [added(C), added(D)], y: [deleted(C), added(B)] },
    },
    {
      title: 'A newcomer dealt to the client replaces a member no longer dealt to it',
      source: '-a--b--|',
      sourceValues: { a: all, b: [added(E)] },
      expected: '-x--y--|',
      expectedValues: { x: [added(C), added(D)], y: [deleted(D), added(E)] },
    },
    {
      title: 'Below size it keeps every backend as it comes',
      source: '-a--b--|',
      sourceValues: { a: [added(A)], b: [added(B)] },
      expected: '-x--y--|',
      expectedValues: { x: [added(A)], y: [added(B)] },
    },
    {
      title: "A kept member's new attributes pass through, another's do not",
      source: '-a--b--c--|',
      sourceValues: {
        a: all,
        b: [added(instance(A, { weight: 2 }))],
        c: [added(instance(C, { weight: 2 }))],
      },
      expected: '-x-----y--|',
      expectedValues: { x: [added(C), added(D)], y: [added(instance(C, { weight: 2 }))] },
    },
    {
      title: 'An empty first batch passes through',
      source: '-a--|',
      sourceValues: { a: [] },
      expected: '-x--|',
      expectedValues: { x: [] },
    },
    {
      title: 'A source error passes through',
      source: '-a--#',
      sourceValues: { a: all },
      sourceError: new Error('discovery failed'),
      expected: '-x--#',
      expectedValues: { x: [added(C), added(D)] },
      expectedError: new Error('discovery failed'),
      subscriptions: ['^---!'],
    },
    {
      title: 'Unsubscribing unsubscribes from the source',
      source: '-a--b--c--|',
      sourceValues: { a: all, b: [deleted(C)], c: [deleted(D)] },
      unsubscribe: '------!',
      expected: '-x--y--',
      expectedValues: { x: [added(C), added(D)], y: [deleted(C), added(B)] },
      subscriptions: ['^-----!'],
    },
    {
      title: 'A resubscription starts afresh',
      source: '-a--b--#',
      sourceValues: { a: all, b: [deleted(C)] },
      sourceError: new Error('discovery failed'),
      retry: 1,
      expected: '-x--y---x--y--#',
      expectedValues: { x: [added(C), added(D)], y: [deleted(C), added(B)] },
      expectedError: new Error('discovery failed'),
      subscriptions: ['^------!', '-------^------!'],
    },
  ],
};
