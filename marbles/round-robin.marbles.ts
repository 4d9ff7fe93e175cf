import { map } from 'rxjs';
import type { Address, Instance, Update } from '../src/instance.js';
import { roundRobin } from '../src/operators/round-robin.js';
import type { Picker } from '../src/picker.js';
import { added, deleted, describeBatch, describeInstance, instance } from './fixtures.js';
import type { MarbleSuite } from './marble-suite.js';

/** A picker as the marble cases compare it: its members, and its first `size + 1` picks. */
export interface PickerView {
  readonly instances: readonly Instance[];
  /** One full cycle plus one pick, so the start offset and the wrap-around both show. */
  readonly picks: readonly (Address | undefined)[];
}

function view(picker: Picker): PickerView {
  const picks = Array.from({ length: picker.instances.length + 1 }, () => picker.pick()?.address);
  return { instances: [...picker.instances], picks };
}

/** A picker as a case expects it: its members (addresses or instances), and its picks. */
export function pickerView(
  instances: readonly (Instance | Address)[],
  picks: readonly (Address | undefined)[],
): PickerView {
  return { instances: instances.map((i) => (typeof i === 'string' ? instance(i) : i)), picks };
}

/** `picker [10.0.0.1:80, ...], picks 10.0.0.2:80, ...` */
export function describePickerView({ instances, picks }: PickerView): string {
  return `picker [${instances.map(describeInstance).join(', ')}], picks ${picks.join(', ')}`;
}

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';

// Pinned so that each picker starts at Math.floor(0.5 * size): the middle member.
const random = () => 0.5;

export const roundRobinMarbles: MarbleSuite<readonly Update[], PickerView> = {
  name: 'round-robin',
  operator: 'roundRobin({ random: () => 0.5 })',
  pipe: (source) => source.pipe(roundRobin({ random }), map(view)),
  describeInput: describeBatch,
  describeOutput: describePickerView,
  cases: [
    {
      title: 'Emits a picker per batch from a random offset',
      source: '-a--b--|',
      sourceValues: { a: [added(A), added(B)], b: [added(C)] },
      expected: '-x--y--|',
      expectedValues: {
        x: pickerView([A, B], [B, A, B]),
        y: pickerView([A, B, C], [B, C, A, B]),
      },
      subscriptions: ['^------!'],
    },
    {
      title: 'An empty batch gives a picker that picks undefined',
      source: '-a--|',
      sourceValues: { a: [] },
      expected: '-x--|',
      expectedValues: { x: pickerView([], [undefined]) },
    },
    {
      title: 'A replace keeps the instance in its place',
      source: '-a--b--|',
      sourceValues: {
        a: [added(A), added(B), added(C)],
        b: [added(instance(A, { weight: 2 }))],
      },
      expected: '-x--y--|',
      expectedValues: {
        x: pickerView([A, B, C], [B, C, A, B]),
        y: pickerView([instance(A, { weight: 2 }), B, C], [B, C, A, B]),
      },
    },
    {
      title: 'A deleted then re-added address moves to the end',
      source: '-a--b--c--|',
      sourceValues: { a: [added(A), added(B)], b: [deleted(A)], c: [added(A)] },
      expected: '-x--y--z--|',
      expectedValues: {
        x: pickerView([A, B], [B, A, B]),
        y: pickerView([B], [B, B]),
        z: pickerView([B, A], [A, B, A]),
      },
    },
    {
      title: 'Deleting an unknown address or re-adding a known one is harmless',
      source: '-a--b--|',
      sourceValues: { a: [added(A)], b: [deleted(B), added(A)] },
      expected: '-x--x--|',
      expectedValues: { x: pickerView([A], [A, A]) },
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
      expectedValues: { x: pickerView([A], [A, A]), y: pickerView([A, B], [B, A, B]) },
      subscriptions: ['^-----!'],
    },
    {
      title: 'A resubscription starts with no members',
      source: '-a--b--#',
      sourceValues: { a: [added(A)], b: [added(B)] },
      sourceError: new Error('discovery failed'),
      retry: 1,
      expected: '-x--y---x--y--#',
      expectedValues: { x: pickerView([A], [A, A]), y: pickerView([A, B], [B, A, B]) },
      expectedError: new Error('discovery failed'),
      subscriptions: ['^------!', '-------^------!'],
    },
  ],
};
