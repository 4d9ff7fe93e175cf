import type { Address, Instance, InstanceSet, Update } from '../src/instance.js';
import { diff } from '../src/operators/diff.js';
import { InstanceSetError } from '../src/operators/internal/instance-set-error.js';
import { added, deleted, describeBatch, describeInstance, instance } from './fixtures.js';
import type { MarbleSuite } from './marble-suite.js';

type Emission = InstanceSet | Iterable<Instance | Address>;

function isInstanceSet(emission: Emission): emission is InstanceSet {
  return emission instanceof Map;
}

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';
const V6 = '[::1]:80';

export const diffMarbles: MarbleSuite<Emission, readonly Update[]> = {
  name: 'diff',
  operator: 'diff()',
  pipe: (source) => source.pipe(diff()),
  describeInput: (emission) => {
    if (!isInstanceSet(emission)) return `[${Array.from(emission, describeInstance).join(', ')}]`;
    return `Map {${Array.from(emission.values(), describeInstance).join(', ')}}`;
  },
  describeOutput: describeBatch,
  cases: [
    {
      title: 'The first emission adds everything',
      source: '-a--|',
      sourceValues: { a: [A, B] },
      expected: '-x--|',
      expectedValues: { x: [added(A), added(B)] },
      subscriptions: ['^---!'],
    },
    {
      title: 'An empty first set yields one empty batch',
      source: '-a--b--|',
      sourceValues: { a: [], b: [] },
      expected: '-x-----|',
      expectedValues: { x: [] },
    },
    {
      title: 'Later emissions yield the minimal batch',
      source: '-a--b--c--|',
      sourceValues: { a: [A, B], b: [B, C], c: [C, B] },
      expected: '-x--y-----|',
      expectedValues: { x: [added(A), added(B)], y: [deleted(A), added(C)] },
    },
    {
      title: 'Emptying the set deletes everything',
      source: '-a--b--|',
      sourceValues: { a: [A, B], b: [] },
      expected: '-x--y--|',
      expectedValues: { x: [added(A), added(B)], y: [deleted(A), deleted(B)] },
    },
    {
      title: 'A changed attribute replaces the instance in place',
      source: '-a--b--|',
      sourceValues: { a: [instance(A), instance(B)], b: [instance(A, { weight: 2 }), instance(B)] },
      expected: '-x--y--|',
      expectedValues: {
        x: [added(A), added(B)],
        y: [added(instance(A, { weight: 2 }))],
      },
    },
    {
      title: 'Instance sets are read by their instances',
      source: '-a--b--|',
      sourceValues: {
        a: new Map([[A, instance(A, { meta: { version: '1' } })]]),
        b: new Map([[A, instance(A, { meta: { version: '2' } })]]),
      },
      expected: '-x--y--|',
      expectedValues: {
        x: [added(instance(A, { meta: { version: '1' } }))],
        y: [added(instance(A, { meta: { version: '2' } }))],
      },
    },
    {
      title: 'Addresses are normalized, IPv6 included',
      source: '-a--b--|',
      sourceValues: { a: ['10.0.0.1:080', '[::1]:0080'], b: [A, V6] },
      expected: '-x-----|',
      expectedValues: { x: [added(A), added(V6)] },
    },
    {
      title: 'The last occurrence of an address wins',
      source: '-a--b--|',
      sourceValues: {
        a: [instance(A), instance(A, { weight: 3 })],
        b: [instance(A, { weight: 3 }), '10.0.0.1:080'],
      },
      expected: '-x--y--|',
      expectedValues: { x: [added(instance(A, { weight: 3 }))], y: [added(A)] },
    },
    {
      title: 'A malformed address is an error naming it',
      source: '-a--b--c--|',
      sourceValues: { a: [A], b: [A, '10.0.0.2'], c: [A] },
      expected: '-x--#',
      expectedValues: { x: [added(A)] },
      expectedError: new InstanceSetError(
        'ERR_INVALID_ADDRESS',
        'diff(): element 1 has a malformed address "10.0.0.2"; expected "host:port" or "[ipv6]:port"',
        '10.0.0.2',
        1,
      ),
      subscriptions: ['^---!'],
    },
    {
      title: 'A source error passes through',
      source: '-a--#',
      sourceValues: { a: [A] },
      sourceError: new Error('discovery failed'),
      expected: '-x--#',
      expectedValues: { x: [added(A)] },
      expectedError: new Error('discovery failed'),
      subscriptions: ['^---!'],
    },
    {
      title: 'Unsubscribing unsubscribes from the source',
      source: '-a--b--c--|',
      sourceValues: { a: [A], b: [A, B], c: [B] },
      unsubscribe: '------!',
      expected: '-x--y--',
      expectedValues: { x: [added(A)], y: [added(B)] },
      subscriptions: ['^-----!'],
    },
    {
      title: 'A resubscription starts from an empty set',
      source: '-a--b--#',
      sourceValues: { a: [A], b: [A, B] },
      sourceError: new Error('discovery failed'),
      retry: 1,
      expected: '-x--y---x--y--#',
      expectedValues: { x: [added(A)], y: [added(B)] },
      expectedError: new Error('discovery failed'),
      subscriptions: ['^------!', '-------^------!'],
    },
  ],
};
