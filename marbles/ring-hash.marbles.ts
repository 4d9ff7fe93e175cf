import { map } from 'rxjs';
import type { Update } from '../src/instance.js';
import { ringHash } from '../src/operators/ring-hash.js';
import type { Picker } from '../src/picker.js';
import { added, backend, call, deleted, describeBatch, instance } from './fixtures.js';
import type { MarbleSuite } from './marble-suite.js';
import { describePicks, type PicksView, picksView } from './picks.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';

const KEY = 'x-user-id';
const USERS = ['user-1', 'user-2', 'user-3', 'user-4', 'user-5', 'user-6'];

/**
 * The members of users 1 to 6 (calls with `x-user-id: user-n`) among all members as usable
 * backends, then the member of a call without the key.
 */
function keyed(picker: Picker): PicksView {
  const usable = picker.instances.map((member) => backend(member));
  const pick = (user?: string) => {
    const headers = user === undefined ? {} : { [KEY]: user };
    const found = usable.length === 0 ? picker.pick() : picker.pick({ usable }, call(headers));
    return found?.address;
  };
  return { instances: [...picker.instances], picks: [...USERS.map(pick), pick()] };
}

export const ringHashMarbles: MarbleSuite<readonly Update[], PicksView> = {
  name: 'ring-hash',
  operator: "ringHash({ key: 'x-user-id', random: () => 0.5 }), users 1-6 then no key",
  pipe: (source) => source.pipe(ringHash({ key: KEY, random: () => 0.5 }), map(keyed)),
  describeInput: describeBatch,
  describeOutput: describePicks,
  cases: [
    {
      title: 'A member that leaves moves only its keys',
      source: '-a--b--|',
      sourceValues: { a: [added(A), added(B), added(C)], b: [deleted(B)] },
      expected: '-x--y--|',
      expectedValues: {
        x: picksView([A, B, C], [B, B, C, A, A, A, B]),
        y: picksView([A, C], [A, C, C, A, A, A, C]),
      },
      subscriptions: ['^------!'],
    },
    {
      title: 'A heavier member gets more keys',
      source: '-a--b--|',
      sourceValues: { a: [added(A), added(C)], b: [added(instance(A, { weight: 4 }))] },
      expected: '-x--y--|',
      expectedValues: {
        x: picksView([A, C], [A, C, C, A, A, A, C]),
        y: picksView([instance(A, { weight: 4 }), C], [A, A, C, A, A, A, C]),
      },
    },
    {
      title: 'A source error passes through',
      source: '-a--#',
      sourceValues: { a: [added(A)] },
      sourceError: new Error('discovery failed'),
      expected: '-x--#',
      expectedValues: { x: picksView([A], [A, A, A, A, A, A, A]) },
      expectedError: new Error('discovery failed'),
      subscriptions: ['^---!'],
    },
    {
      title: 'Unsubscribing unsubscribes from the source',
      source: '-a--b--|',
      sourceValues: { a: [added(A)], b: [added(B)] },
      unsubscribe: '---!',
      expected: '-x--',
      expectedValues: { x: picksView([A], [A, A, A, A, A, A, A]) },
      subscriptions: ['^--!'],
    },
  ],
};
