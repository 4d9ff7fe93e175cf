import { map } from 'rxjs';
import type { Update } from '../src/instance.js';
import { periodOf, scheduledWeights } from '../src/operators/internal/weighted-schedule.js';
import { weightedRoundRobin } from '../src/operators/weighted-round-robin.js';
import type { Picker } from '../src/picker.js';
import { added, deleted, describeBatch, instance } from './fixtures.js';
import type { MarbleSuite } from './marble-suite.js';
import { describePickerView, type PickerView, pickerView } from './round-robin.marbles.js';

/** A picker as the cases compare it: its members, and one period of picks plus one. */
function view(picker: Picker): PickerView {
  const weights = scheduledWeights(picker.instances.length, (i) => picker.instances[i]?.weight);
  const picks = Array.from({ length: periodOf(weights) + 1 }, () => picker.pick()?.address);
  return { instances: [...picker.instances], picks };
}

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';
const weighted = (address: string, weight: number) => instance(address, { weight });

// Pinned so that each picker starts at the first slot of its schedule.
const random = () => 0;

export const weightedRoundRobinMarbles: MarbleSuite<readonly Update[], PickerView> = {
  name: 'weighted-round-robin',
  operator: 'weightedRoundRobin({ random: () => 0 })',
  pipe: (source) => source.pipe(weightedRoundRobin({ random }), map(view)),
  describeInput: describeBatch,
  describeOutput: describePickerView,
  cases: [
    {
      title: 'Interleaves picks in proportion to the weights',
      source: '-a--|',
      sourceValues: { a: [added(weighted(A, 3)), added(B), added(C)] },
      expected: '-x--|',
      expectedValues: { x: pickerView([weighted(A, 3), B, C], [A, B, A, C, A, A]) },
      subscriptions: ['^---!'],
    },
    {
      title: 'Equal weights pick as roundRobin does',
      source: '-a--|',
      sourceValues: { a: [added(weighted(A, 2)), added(weighted(B, 2)), added(weighted(C, 2))] },
      expected: '-x--|',
      expectedValues: {
        x: pickerView([weighted(A, 2), weighted(B, 2), weighted(C, 2)], [A, B, C, A]),
      },
    },
    {
      title: 'A new weight replaces the instance in place and reschedules',
      source: '-a--b--|',
      sourceValues: { a: [added(A), added(B)], b: [added(weighted(A, 2))] },
      expected: '-x--y--|',
      expectedValues: {
        x: pickerView([A, B], [A, B, A]),
        y: pickerView([weighted(A, 2), B], [A, B, A, A]),
      },
    },
    {
      title: 'A drained instance gets calls only when every instance is drained',
      source: '-a--b--|',
      sourceValues: { a: [added(weighted(A, 0)), added(B), added(C)], b: [deleted(B), deleted(C)] },
      expected: '-x--y--|',
      expectedValues: {
        x: pickerView([weighted(A, 0), B, C], [B, C, B]),
        y: pickerView([weighted(A, 0)], [A, A]),
      },
    },
    {
      title: 'An empty batch gives a picker that picks undefined',
      source: '-a--|',
      sourceValues: { a: [] },
      expected: '-x--|',
      expectedValues: { x: pickerView([], [undefined]) },
    },
    {
      title: 'A source error passes through',
      source: '-a--#',
      sourceValues: { a: [added(A)] },
      sourceError: new Error('discovery failed'),
      expected: '-x--#',
      expectedValues: { x: pickerView([A], [A, A]) },
      expectedError: new Error('discovery failed'),
      subscriptions: ['^---!'],
    },
    {
      title: 'Unsubscribing unsubscribes from the source',
      source: '-a--b--c--|',
      sourceValues: { a: [added(A)], b: [added(B)], c: [deleted(A)] },
      unsubscribe: '------!',
      expected: '-x--y--',
      expectedValues: { x: pickerView([A], [A, A]), y: pickerView([A, B], [A, B, A]) },
      subscriptions: ['^-----!'],
    },
    {
      title: 'A resubscription starts with no members',
      source: '-a--b--#',
      sourceValues: { a: [added(weighted(A, 2))], b: [added(B)] },
      sourceError: new Error('discovery failed'),
      retry: 1,
      expected: '-x--y---x--y--#',
      expectedValues: {
        x: pickerView([weighted(A, 2)], [A, A]),
        y: pickerView([weighted(A, 2), B], [A, B, A, A]),
      },
      expectedError: new Error('discovery failed'),
      subscriptions: ['^------!', '-------^------!'],
    },
  ],
};
