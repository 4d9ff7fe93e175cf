import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { instanceSet } from '../../marbles/fixtures.js';
import { withDiscovery } from '../../src/discovery.js';
import type { InstanceSet } from '../../src/instance.js';
import { chooseDatacenter } from '../../src/operators/choose-datacenter.js';
import type {
  ChooseDatacenterOptions,
  DatacenterChoice,
  DatacenterSet,
} from '../../src/operators/internal/datacenter-options.js';
import { record } from '../support/observe.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.1.0.1:80';

/** Pushes `{ datacenter, set }` by hand; records emissions and choices in one log. */
function harness(options: Partial<ChooseDatacenterOptions> = {}) {
  const source = new Subject<DatacenterSet>();
  const log: string[] = [];
  const choices: DatacenterChoice[] = [];
  const output = record(
    source.pipe(
      chooseDatacenter({
        datacenters: ['dc1', 'dc2', 'dc3'],
        ...options,
        onChoice: (choice) => {
          choices.push(choice);
          log.push(`choice ${choice.datacenter} ${choice.mode}`);
        },
      }),
    ),
  );
  const send = (datacenter: string, ...addresses: string[]) => {
    const set = instanceSet(...addresses);
    source.next({ datacenter, set });
    return set;
  };
  const emitted = () => output.values.map((set: InstanceSet) => [...set.keys()]);
  return { source, send, log, choices, output, emitted };
}

describe('chooseDatacenter() options', () => {
  it.each<[string, unknown, RegExp]>([
    ['not an object', 'dc1', /options must be an object/],
    ['no datacenters', {}, /option "datacenters" must be a non-empty array/],
    ['an empty list', { datacenters: [] }, /option "datacenters" must be a non-empty array/],
    [
      'a list of numbers',
      { datacenters: [1, 2] },
      /option "datacenters" must be a non-empty array of non-empty strings/,
    ],
    ['a blank name', { datacenters: ['dc1', ' '] }, /option "datacenters"/],
    ['a name given twice', { datacenters: ['dc1', 'dc2', 'dc1'] }, /"dc1" is twice/],
    ['minHealthy 0', { datacenters: ['dc1'], minHealthy: 0 }, /option "minHealthy"/],
    ['a fractional minHealthy', { datacenters: ['dc1'], minHealthy: 1.5 }, /"minHealthy"/],
    ['an endless minHealthy', { datacenters: ['dc1'], minHealthy: Infinity }, /"minHealthy"/],
    ['an onChoice that is not a function', { datacenters: ['dc1'], onChoice: 1 }, /"onChoice"/],
    ['an unknown option', { datacenters: ['dc1'], minHealty: 2 }, /unknown option "minHealty"/],
  ])('refuses %s with a TypeError naming chooseDatacenter()', (_, options, message) => {
    const call = () => chooseDatacenter(options as ChooseDatacenterOptions);
    expect(call).toThrow(TypeError);
    expect(call).toThrow(/^chooseDatacenter\(\): /);
    expect(call).toThrow(message);
  });
});

describe('chooseDatacenter()', () => {
  it('tells onChoice the datacenter, mode, reason and every count before the set is emitted', () => {
    const h = harness();
    h.send('dc1', A, B);
    h.log.push('emitted');
    expect(h.log).toEqual(['choice dc1 home', 'emitted']);
    expect(h.choices[0]).toEqual({
      datacenter: 'dc1',
      mode: 'home',
      reason: 'dc1 has someone healthy',
      healthy: [
        { datacenter: 'dc1', healthy: 2 },
        { datacenter: 'dc2', healthy: undefined },
        { datacenter: 'dc3', healthy: undefined },
      ],
      served: instanceSet(A, B),
    });
  });

  it('names the datacenters passed over and minHealthy when it fails over', () => {
    const h = harness({ minHealthy: 2 });
    h.send('dc1', A);
    h.send('dc2');
    h.send('dc3', C, B);
    expect(h.choices.map((c) => [c.datacenter, c.mode, c.reason])).toEqual([
      ['dc3', 'failover', 'dc1 and dc2 have fewer than 2 healthy: serving dc3'],
    ]);
    expect(h.choices[0]?.healthy.map((c) => c.healthy)).toEqual([1, 0, 2]);
  });

  it('says who has nobody healthy when it fails over with minHealthy 1', () => {
    const h = harness();
    h.send('dc1');
    h.send('dc2', C);
    expect(h.choices.map((c) => c.reason)).toEqual(['dc1 has nobody healthy: serving dc2']);
  });

  it('says when it serves a datacenter below minHealthy, and when nobody anywhere is healthy', () => {
    const h = harness({ minHealthy: 2 });
    h.send('dc1');
    h.send('dc2', C);
    h.send('dc3');
    h.send('dc2');
    expect(h.choices.map((c) => [c.datacenter, c.mode, c.reason])).toEqual([
      [
        'dc2',
        'failover',
        'no datacenter has 2 or more healthy: serving dc2, the first with someone healthy',
      ],
      ['dc1', 'nobody', 'no datacenter has anyone healthy'],
    ]);
    expect(h.emitted()).toEqual([[C], []]);
  });

  it('reports a change of choice once, not for each new set of the same datacenter', () => {
    const h = harness();
    h.send('dc1', A);
    h.send('dc1', A, B);
    h.send('dc2', C);
    h.send('dc1', B);
    expect(h.log).toEqual(['choice dc1 home']);
    expect(h.emitted()).toEqual([[A], [A, B], [B]]);
  });

  it('reports home again when home falls below minHealthy but nobody else has more', () => {
    const h = harness({ minHealthy: 2 });
    h.send('dc1', A, B);
    h.send('dc2');
    h.send('dc3');
    h.send('dc1', A);
    expect(h.choices.map((c) => [c.mode, c.reason])).toEqual([
      ['home', 'dc1 has 2 or more healthy'],
      ['home', 'no datacenter has 2 or more healthy: serving dc1, the first with someone healthy'],
    ]);
  });

  it('names every datacenter passed over, in order, when it fails over to the fourth', () => {
    const h = harness({ datacenters: ['dc1', 'dc2', 'dc3', 'dc4'] });
    h.send('dc1');
    h.send('dc2');
    h.send('dc3');
    h.send('dc4', C);
    expect(h.choices.map((c) => [c.datacenter, c.mode, c.reason])).toEqual([
      ['dc4', 'failover', 'dc1, dc2 and dc3 have nobody healthy: serving dc4'],
    ]);
  });

  it("emits the chosen datacenter's own set, with what discovery marked on it", () => {
    const h = harness();
    const unresolved = withDiscovery(new Map(), { service: 'greeter', unresolved: 'refused' });
    h.source.next({ datacenter: 'dc1', set: unresolved });
    h.send('dc2');
    h.send('dc3');
    expect(h.output.values).toHaveLength(1);
    expect(h.output.values[0]).toBe(unresolved);
  });

  it('errors the output with what onChoice throws', () => {
    const source = new Subject<DatacenterSet>();
    const failure = new Error('report failed');
    const output = record(
      source.pipe(
        chooseDatacenter({
          datacenters: ['dc1'],
          onChoice: () => {
            throw failure;
          },
        }),
      ),
    );
    source.next({ datacenter: 'dc1', set: instanceSet(A) });
    expect(output.error).toBe(failure);
    expect(source.observed).toBe(false);
  });

  it('keeps state per subscription: a second subscriber waits for its own first sets', () => {
    const source = new Subject<DatacenterSet>();
    const choose = chooseDatacenter({ datacenters: ['dc1', 'dc2'] });
    const first = record(source.pipe(choose));
    source.next({ datacenter: 'dc1', set: instanceSet() });
    source.next({ datacenter: 'dc2', set: instanceSet(C) });
    const second = record(source.pipe(choose));
    source.next({ datacenter: 'dc2', set: instanceSet(B) });
    expect(first.values.map((set) => [...set.keys()])).toEqual([[C], [B]]);
    expect(second.values).toEqual([]); // dc1 has not answered this subscription yet
  });
});
