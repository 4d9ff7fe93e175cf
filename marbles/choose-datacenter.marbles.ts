import type { InstanceSet } from '../src/instance.js';
import { chooseDatacenter } from '../src/operators/choose-datacenter.js';
import type { DatacenterSet } from '../src/operators/internal/datacenter-options.js';
import { describeSet, instanceSet } from './fixtures.js';
import type { MarbleSuite } from './marble-suite.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.1.0.1:80';
const D = '10.1.0.2:80';
const E = '10.2.0.1:80';

type ChoiceSuite = MarbleSuite<DatacenterSet, InstanceSet>;

/** `{ datacenter, set }`, as the source of chooseDatacenter() carries them. */
function inDc(datacenter: string, ...addresses: readonly string[]): DatacenterSet {
  return { datacenter, set: instanceSet(...addresses) };
}

const sets = {
  describeInput: ({ datacenter, set }: DatacenterSet) => `${datacenter} ${describeSet(set)}`,
  describeOutput: describeSet,
} as const;

export const chooseDatacenterMarbles: ChoiceSuite = {
  name: 'choose-datacenter',
  operator: "chooseDatacenter({ datacenters: ['dc1', 'dc2', 'dc3'] })",
  pipe: (source) => source.pipe(chooseDatacenter({ datacenters: ['dc1', 'dc2', 'dc3'] })),
  ...sets,
  cases: [
    {
      title: 'Fails over while home has nobody healthy, and goes home at once',
      source: '-1-2-3-e-----1-|',
      sourceValues: {
        1: inDc('dc1', A, B),
        2: inDc('dc2', C),
        3: inDc('dc3', E),
        e: inDc('dc1'),
      },
      expected: '-a-----c-----a-|',
      expectedValues: { a: instanceSet(A, B), c: instanceSet(C) },
      subscriptions: ['^--------------!'],
    },
    {
      title: 'Passes on each new set of the datacenter served, and nothing of the others',
      source: '-1-2-3-b-x-|',
      sourceValues: {
        1: inDc('dc1', A),
        2: inDc('dc2', C),
        3: inDc('dc3', E),
        b: inDc('dc1', A, B),
        x: inDc('dc2', C, D),
      },
      expected: '-a-----b---|',
      expectedValues: { a: instanceSet(A), b: instanceSet(A, B) },
    },
    {
      title: 'Takes the first datacenter in the list that has anyone, not the largest',
      source: '-2-3-e-x-|',
      sourceValues: {
        2: inDc('dc2', C),
        3: inDc('dc3', E, A, B),
        e: inDc('dc1'),
        x: inDc('dc2'),
      },
      expected: '-----c-d-|',
      expectedValues: { c: instanceSet(C), d: instanceSet(E, A, B) },
    },
    {
      title: 'Waits for home and every datacenter before the one it would serve',
      source: '-3-e-2-|',
      sourceValues: { 3: inDc('dc3', E), e: inDc('dc1'), 2: inDc('dc2', C) },
      expected: '-----c-|',
      expectedValues: { c: instanceSet(C) },
    },
    {
      title: 'Serves the empty set only when no datacenter has anyone',
      source: '-e-x-y-3-|',
      sourceValues: { e: inDc('dc1'), x: inDc('dc2'), y: inDc('dc3'), 3: inDc('dc3', E) },
      expected: '-----n-d-|',
      expectedValues: { n: instanceSet(), d: instanceSet(E) },
    },
    {
      title: 'A set of a datacenter not in the list is an error naming it',
      source: '-1-9-3-|',
      sourceValues: { 1: inDc('dc1', A), 9: inDc('dc9', C), 3: inDc('dc3', E) },
      expected: '-a-#',
      expectedValues: { a: instanceSet(A) },
      expectedError: new TypeError(
        'chooseDatacenter(): a set of datacenter "dc9", which is not one of "dc1", "dc2", "dc3"',
      ),
      subscriptions: ['^--!'],
    },
    {
      title: 'A source error passes through',
      source: '-1-#',
      sourceValues: { 1: inDc('dc1', A) },
      sourceError: new Error('discovery failed'),
      expected: '-a-#',
      expectedValues: { a: instanceSet(A) },
      expectedError: new Error('discovery failed'),
      subscriptions: ['^--!'],
    },
    {
      title: 'Unsubscribing unsubscribes from the source',
      source: '-1-e-2-3-|',
      sourceValues: { 1: inDc('dc1', A), e: inDc('dc1'), 2: inDc('dc2', C), 3: inDc('dc3', E) },
      unsubscribe: '----!',
      expected: '-a---',
      expectedValues: { a: instanceSet(A) },
      subscriptions: ['^---!'],
    },
  ],
};

export const minHealthyMarbles: ChoiceSuite = {
  name: 'choose-datacenter-min-healthy',
  operator: "chooseDatacenter({ datacenters: ['dc1', 'dc2'], minHealthy: 2 })",
  pipe: (source) => source.pipe(chooseDatacenter({ datacenters: ['dc1', 'dc2'], minHealthy: 2 })),
  ...sets,
  cases: [
    {
      title: 'Fails over below minHealthy, and serves the first with anyone when none has enough',
      source: '-1-2-b-y-1-|',
      sourceValues: {
        1: inDc('dc1', A, B),
        2: inDc('dc2', C, D),
        b: inDc('dc1', A),
        y: inDc('dc2', C),
      },
      expected: '-a---c-b-a-|',
      expectedValues: { a: instanceSet(A, B), c: instanceSet(C, D), b: instanceSet(A) },
    },
  ],
};
