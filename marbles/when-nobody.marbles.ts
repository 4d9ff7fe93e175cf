import { NEVER } from 'rxjs';
import type { InstanceSet } from '../src/instance.js';
import { whenNobody } from '../src/operators/when-nobody.js';
import { describeSet, instanceSet } from './fixtures.js';
import type { MarbleSuite } from './marble-suite.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';
const D = '10.0.0.4:80';
const nobody = instanceSet();

type NobodySuite = MarbleSuite<InstanceSet, InstanceSet>;
const sets = { describeInput: describeSet, describeOutput: describeSet } as const;

// In run mode the TestScheduler drives asyncScheduler, whenNobody's default: one frame, 1 ms.
export const keepLastMarbles: NobodySuite = {
  name: 'when-nobody-keep-last',
  operator: 'whenNobody({ graceMs: 3 })',
  pipe: (source) => source.pipe(whenNobody({ graceMs: 3 })),
  ...sets,
  cases: [
    {
      title: 'Keeps the last good set through a short empty spell',
      source: '-a-e-b--|',
      sourceValues: { a: instanceSet(A, B), e: nobody, b: instanceSet(A) },
      expected: '-a---b--|',
      expectedValues: { a: instanceSet(A, B), b: instanceSet(A) },
    },
    {
      title: 'Serves the empty set once the grace period ends',
      source: '-a-e-------|',
      sourceValues: { a: instanceSet(A, B), e: nobody },
      expected: '-a----e----|',
      expectedValues: { a: instanceSet(A, B), e: nobody },
    },
    {
      title: 'An empty first set passes at once',
      source: '-e-a-|',
      sourceValues: { e: nobody, a: instanceSet(A) },
      expected: '-e-a-|',
      expectedValues: { e: nobody, a: instanceSet(A) },
    },
    {
      title: 'Completion ends the grace period unfinished',
      source: '-a-e-|',
      sourceValues: { a: instanceSet(A), e: nobody },
      expected: '-a---|',
      expectedValues: { a: instanceSet(A) },
      subscriptions: ['^----!'],
    },
    {
      title: 'A source error passes through',
      source: '-a-e#',
      sourceValues: { a: instanceSet(A), e: nobody },
      sourceError: new Error('discovery failed'),
      expected: '-a--#',
      expectedValues: { a: instanceSet(A) },
      expectedError: new Error('discovery failed'),
      subscriptions: ['^---!'],
    },
    {
      title: 'Unsubscribing unsubscribes from the source',
      source: '-a-e-----b-|',
      sourceValues: { a: instanceSet(A), e: nobody, b: instanceSet(B) },
      unsubscribe: '----!',
      expected: '-a---',
      expectedValues: { a: instanceSet(A) },
      subscriptions: ['^---!'],
    },
  ],
};

export const failFastMarbles: NobodySuite = {
  name: 'when-nobody-fail-fast',
  operator: "whenNobody({ policy: 'fail-fast' })",
  pipe: (source) => source.pipe(whenNobody({ policy: 'fail-fast' })),
  ...sets,
  cases: [
    {
      title: 'Passes an empty set through at once',
      source: '-a-e-b-|',
      sourceValues: { a: instanceSet(A, B), e: nobody, b: instanceSet(A) },
      expected: '-a-e-b-|',
      expectedValues: { a: instanceSet(A, B), e: nobody, b: instanceSet(A) },
      subscriptions: ['^------!'],
    },
  ],
};

export const fallbackMarbles: NobodySuite = {
  name: 'when-nobody-fallback',
  operator: "whenNobody({ policy: 'fallback', registered$ })",
  secondName: 'registered$',
  pipe: (source, registered$ = NEVER) =>
    source.pipe(whenNobody({ policy: 'fallback', registered$ })),
  ...sets,
  cases: [
    {
      title: 'Serves every registered instance while none is healthy',
      source: '-a---e---b--|',
      sourceValues: { a: instanceSet(A, B), e: nobody, b: instanceSet(A) },
      second: { marbles: '-r-----------', values: { r: instanceSet(A, B, C) } },
      expected: '-a---r---b--|',
      expectedValues: { a: instanceSet(A, B), r: instanceSet(A, B, C), b: instanceSet(A) },
    },
    {
      title: 'Follows the registered set while falling back',
      source: '-a-e-----b-|',
      sourceValues: { a: instanceSet(A), e: nobody, b: instanceSet(B) },
      second: {
        marbles: 'r-----s-----',
        values: { r: instanceSet(A, B), s: instanceSet(A, B, C) },
      },
      expected: '-a-r--s--b-|',
      expectedValues: {
        a: instanceSet(A),
        r: instanceSet(A, B),
        s: instanceSet(A, B, C),
        b: instanceSet(B),
      },
    },
    {
      title: 'An empty first set waits for the first registered answer',
      source: '-e-------|',
      sourceValues: { e: nobody },
      second: {
        marbles: '---r------',
        values: { r: instanceSet(A) },
        subscriptions: ['^--------!'],
      },
      expected: '---r-----|',
      expectedValues: { r: instanceSet(A) },
    },
    {
      title: 'An error of registered$ passes through',
      source: '-a-------|',
      sourceValues: { a: instanceSet(A) },
      second: { marbles: '---#', values: {}, error: new Error('registry failed') },
      expected: '-a-#',
      expectedValues: { a: instanceSet(A) },
      expectedError: new Error('registry failed'),
      subscriptions: ['^--!'],
    },
  ],
};

export const panicMarbles: NobodySuite = {
  name: 'when-nobody-panic',
  operator: "whenNobody({ policy: 'panic', registered$ })",
  secondName: 'registered$',
  pipe: (source, registered$ = NEVER) => source.pipe(whenNobody({ policy: 'panic', registered$ })),
  ...sets,
  cases: [
    {
      title: 'Below the panic threshold serves every registered instance',
      source: '-a--b--c--|',
      sourceValues: { a: instanceSet(A, B, C), b: instanceSet(A), c: instanceSet(A, B) },
      second: { marbles: 'r----------', values: { r: instanceSet(A, B, C, D) } },
      expected: '-a--r--c--|',
      expectedValues: { a: instanceSet(A, B, C), r: instanceSet(A, B, C, D), c: instanceSet(A, B) },
    },
    {
      title: 'A registered set that grows can start a panic',
      source: '-a--------|',
      sourceValues: { a: instanceSet(A) },
      second: { marbles: 'r----s-----', values: { r: instanceSet(A, B), s: instanceSet(A, B, C) } },
      expected: '-a---s----|',
      expectedValues: { a: instanceSet(A), s: instanceSet(A, B, C) },
    },
  ],
};
