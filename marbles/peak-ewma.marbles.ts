import { defer, EMPTY, filter, ignoreElements, map, merge, type Observable, tap } from 'rxjs';
import type { Address, Update } from '../src/instance.js';
import { peakEwma } from '../src/operators/peak-ewma.js';
import type { Picker } from '../src/picker.js';
import { added, deleted, describeBatch } from './fixtures.js';
import type { MarbleSuite } from './marble-suite.js';
import { describePicks, drawsFrom, type PicksView, picksAmong, picksView } from './picks.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';

/** A call that ended, as a case writes it: which member, how long, and its status (0: OK). */
interface Ended {
  readonly address: Address;
  readonly ms: number;
  readonly code?: number;
}

type Input = readonly Update[] | Ended;

function isEnded(input: Input): input is Ended {
  return !Array.isArray(input);
}

function isBatch(input: Input): input is readonly Update[] {
  return Array.isArray(input);
}

const STATUS_NAMES: Readonly<Record<number, string>> = { 13: 'INTERNAL', 14: 'UNAVAILABLE' };

function describeInput(input: Input): string {
  if (isBatch(input)) return describeBatch(input);
  const { address, ms, code = 0 } = input;
  if (code === 0) return `a call to ${address} took ${ms} ms`;
  return `a call to ${address} failed with ${STATUS_NAMES[code] ?? code} after ${ms} ms`;
}

/** Tells the latest picker of every call in `ended$`, as a balanced channel does. */
function tellLatest(batches: Observable<Input>, ended$: Observable<Input>): Observable<Picker> {
  return defer(() => {
    let latest: Picker | undefined;
    const pickers = batches.pipe(
      filter(isBatch),
      peakEwma({ decayMs: 10, random: drawsFrom(DRAWS) }),
      tap((picker) => {
        latest = picker;
      }),
    );
    const told = ended$.pipe(
      filter(isEnded),
      tap(({ address, ms, code = 0 }) => {
        const instance = latest?.instances.find((member) => member.address === address);
        if (!instance) throw new Error(`no member ${address} to report on`);
        latest?.callEnded?.({ instance, durationMs: ms, code, connectionFailure: false });
      }),
      ignoreElements(),
    );
    return merge(pickers, told);
  });
}

/**
 * One draw per pick (see the leastRequest() cases): over two members the pairs drawn in turn are
 * (A, B), (B, A); over three, (A, C), (C, B).
 */
const DRAWS = [0.25, 0.9];
const PICKS = 4;

// In run mode the TestScheduler drives asyncScheduler, peakEwma's default: one frame, 1 ms.
export const peakEwmaMarbles: MarbleSuite<Input, PicksView> = {
  name: 'peak-ewma',
  operator: 'peakEwma({ decayMs: 10, random })',
  secondName: 'ended$',
  pipe: (source, ended$ = EMPTY) =>
    tellLatest(source, ended$).pipe(map((picker) => picksAmong(picker, {}, PICKS))),
  describeInput,
  describeOutput: describePicks,
  cases: [
    {
      title: 'Learns latencies from call reports across pickers',
      source: '-a-------b--|',
      sourceValues: { a: [added(A), added(B)], b: [added(C)] },
      second: {
        marbles: '---r-s------|',
        values: { r: { address: A, ms: 100 }, s: { address: B, ms: 2 } },
      },
      expected: '-x-------y--|',
      expectedValues: { x: picksView([A, B], [A, B, A, B]), y: picksView([A, B, C], [C, B, C, B]) },
      subscriptions: ['^-----------!'],
    },
    {
      title: 'Peaks at once on a slower call',
      source: '-a---e--e--|',
      sourceValues: { a: [added(A), added(B)], e: [] },
      second: {
        marbles: '--rs--t----|',
        values: { r: { address: A, ms: 10 }, s: { address: B, ms: 20 }, t: { address: A, ms: 50 } },
      },
      expected: '-x---y--z--|',
      expectedValues: {
        x: picksView([A, B], [A, B, A, B]),
        y: picksView([A, B], [A, A, A, A]),
        z: picksView([A, B], [B, B, B, B]),
      },
    },
    {
      title: 'A fast failure never makes a backend look fast',
      source: '-a---e--e--|',
      sourceValues: { a: [added(A), added(B)], e: [] },
      second: {
        marbles: '--rs--f----|',
        values: {
          r: { address: A, ms: 10 },
          s: { address: B, ms: 15 },
          f: { address: A, ms: 1, code: 13 },
        },
      },
      expected: '-x---y--z--|',
      expectedValues: {
        x: picksView([A, B], [A, B, A, B]),
        y: picksView([A, B], [A, A, A, A]),
        z: picksView([A, B], [B, B, B, B]),
      },
    },
    {
      title: 'Forgets a member that leaves',
      source: '-a---b--c--|',
      sourceValues: { a: [added(A), added(B)], b: [deleted(A)], c: [added(A)] },
      second: {
        marbles: '--rs-------|',
        values: { r: { address: A, ms: 100 }, s: { address: B, ms: 5 } },
      },
      expected: '-x---y--z--|',
      expectedValues: {
        x: picksView([A, B], [A, B, A, B]),
        y: picksView([B], [B, B, B, B]),
        z: picksView([B, A], [B, A, B, A]),
      },
    },
    {
      title: 'A source error passes through',
      source: '-a--#',
      sourceValues: { a: [added(A)] },
      sourceError: new Error('discovery failed'),
      second: {
        marbles: '--r---|',
        values: { r: { address: A, ms: 5 } },
        subscriptions: ['^---!'],
      },
      expected: '-x--#',
      expectedValues: { x: picksView([A], Array(PICKS).fill(A)) },
      expectedError: new Error('discovery failed'),
      subscriptions: ['^---!'],
    },
    {
      title: 'Unsubscribing unsubscribes from the source',
      source: '-a--b--c--|',
      sourceValues: { a: [added(A)], b: [added(B)], c: [deleted(A)] },
      second: {
        marbles: '--r-------|',
        values: { r: { address: A, ms: 5 } },
        subscriptions: ['^-----!'],
      },
      unsubscribe: '------!',
      expected: '-x--y--',
      expectedValues: {
        x: picksView([A], Array(PICKS).fill(A)),
        y: picksView([A, B], [A, B, A, B]),
      },
      subscriptions: ['^-----!'],
    },
    {
      title: 'A resubscription starts afresh',
      source: '-a---e#',
      sourceValues: { a: [added(A), added(B)], e: [] },
      sourceError: new Error('discovery failed'),
      second: {
        marbles: '--rs--|',
        values: { r: { address: A, ms: 100 }, s: { address: B, ms: 5 } },
      },
      retry: 1,
      expected: '-x---y-x---y#',
      expectedValues: { x: picksView([A, B], [A, B, A, B]), y: picksView([A, B], [B, B, B, B]) },
      expectedError: new Error('discovery failed'),
      subscriptions: ['^-----!', '------^-----!'],
    },
  ],
};
