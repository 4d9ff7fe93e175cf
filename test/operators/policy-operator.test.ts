/** policyOperator(): how a policy of one's own is made, and what it refuses. */
import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { added, instance } from '../../marbles/fixtures.js';
import { type DiscoveryStatus, withDiscovery } from '../../src/discovery.js';
import type { Instance, Update } from '../../src/instance.js';
import { policyOperator } from '../../src/operators/policy-operator.js';
import type { Picker } from '../../src/picker.js';
import { collect } from './collect.js';

const A = '10.0.0.1:80';
const firstMember = (members: readonly Instance[]): Picker => ({
  instances: members,
  pick: () => members[0],
});
const status: DiscoveryStatus = { service: 'greeter', unresolved: undefined };
const batch = (...updates: Update[]): readonly Update[] => withDiscovery(updates, status);

describe('policyOperator()', () => {
  it('refuses anything but a name and a function, with a TypeError saying what it expects', () => {
    const expected = new TypeError(
      'policyOperator(): expected a name and a function that builds a picker',
    );
    expect(() => policyOperator(42 as never, firstMember)).toThrow(expected);
    expect(() => policyOperator('mine()', {} as never)).toThrow(expected);
  });

  it("puts discovery's word on every picker its policy builds", () => {
    const { values } = collect(
      of(batch(added(instance(A))), batch()).pipe(policyOperator('mine()', firstMember)),
    );
    expect(values.map((picker) => picker.discovery)).toEqual([status, status]);
    expect(values[0]?.pick()?.address).toBe(A);
  });

  it('names the policy when its picker is frozen and cannot carry discovery', () => {
    const frozen = (members: readonly Instance[]) => Object.freeze(firstMember(members));
    const { error } = collect(of(batch(added(instance(A)))).pipe(policyOperator('mine()', frozen)));
    expect(error).toEqual(
      new TypeError(
        'mine(): its picker must be an object policyOperator() can add "discovery" to, not frozen',
      ),
    );
  });

  it('lets a policy hand out the same picker again, under a new discovery word', () => {
    const kept = firstMember([instance(A)]);
    const other: DiscoveryStatus = { service: 'greeter', unresolved: 'Consul is down' };
    const { values, error } = collect(
      of(batch(added(instance(A))), withDiscovery([] as Update[], other)).pipe(
        policyOperator('cached()', () => kept),
      ),
    );
    expect(error).toBeUndefined();
    expect(values.map((picker) => picker.discovery)).toEqual([other, other]);
  });
});
