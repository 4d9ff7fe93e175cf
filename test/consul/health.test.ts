import { describe, expect, it } from 'vitest';
import { mapHealthEntries } from '../../src/consul/health.js';
import type { Instance } from '../../src/instance.js';

/** A health entry shaped like Consul's, with the fields the mapping reads. */
function entry(service: Record<string, unknown>, node: Record<string, unknown> = {}) {
  return {
    Node: { Node: 'n1', Address: '10.0.0.9', Datacenter: 'dc1', ...node },
    Service: { ID: 'greeter-1', Service: 'greeter', Port: 50051, Tags: [], Meta: {}, ...service },
    Checks: [],
  };
}

/** The first instance a body maps to. */
function onlyInstance(body: unknown[]): Instance | undefined {
  return [...(mapHealthEntries(body)?.instances.values() ?? [])][0];
}

describe('health entries → instances', () => {
  it('uses Service.Address, or Node.Address when it is empty', () => {
    const result = mapHealthEntries([
      entry({ ID: 'a', Address: '10.0.0.1' }),
      entry({ ID: 'b', Address: '', Port: 50052 }),
    ]);
    expect([...(result?.instances.keys() ?? [])]).toEqual(['10.0.0.1:50051', '10.0.0.9:50052']);
  });

  it('maps every attribute of the contract', () => {
    const result = mapHealthEntries([
      entry({
        Address: '::1',
        Tags: ['v2'],
        Meta: { zone: 'b' },
        Weights: { Passing: 3, Warning: 1 },
      }),
    ]);
    expect(result?.instances.get('[::1]:50051')).toEqual({
      address: '[::1]:50051',
      id: 'greeter-1',
      service: 'greeter',
      node: 'n1',
      datacenter: 'dc1',
      tags: ['v2'],
      meta: { zone: 'b' },
      weight: 3,
    });
  });

  it("carries the node's Meta as nodeMeta when the node has any, and nothing when not", () => {
    const withMeta = onlyInstance([entry({}, { Meta: { zone: 'a', rack: 7 } })]);
    expect(withMeta?.nodeMeta).toEqual({ zone: 'a' });
    expect(onlyInstance([entry({}, { Meta: {} })])).not.toHaveProperty('nodeMeta');
  });

  it('skips and reports entries that cannot make an instance', () => {
    const result = mapHealthEntries([
      null,
      { Node: {} },
      entry({ ID: '' }),
      entry({ ID: 'p', Port: 0 }),
      entry({ ID: 'q', Port: '80' }),
      entry({ ID: 'r', Address: '' }, { Address: '' }),
      entry({ ID: 'ok' }),
      entry({ ID: 'dup' }),
    ]);
    expect([...(result?.instances.values() ?? [])].map((i) => i.id)).toEqual(['ok']);
    expect(result?.skipped.map((s) => s.position)).toEqual([0, 1, 2, 3, 4, 5, 7]);
    expect(result?.skipped.at(-1)?.reason).toMatch(/duplicate address 10.0.0.9:50051 \(kept ok\)/);
  });

  it('reads Weights.Passing only when it is a positive safe integer, else 1', () => {
    const weights = [3, 0, -2, 1.5, '4', 2 ** 53, null].map(
      (Passing, i) => onlyInstance([entry({ ID: `w${i}`, Weights: { Passing } })])?.weight,
    );
    expect(weights).toEqual([3, 1, 1, 1, 1, 1, 1]);
  });

  it('freezes instances, their tags and meta, also when Consul sends none', () => {
    const instance = onlyInstance([{ Service: { ID: 'x', Address: '10.0.0.1', Port: 1 } }]);
    expect(instance && [instance, instance.tags, instance.meta].every(Object.isFrozen)).toBe(true);
  });

  it('returns undefined for a body that is not an array', () => {
    for (const body of [null, {}, 'x', 42, undefined])
      expect(mapHealthEntries(body)).toBeUndefined();
  });
});

describe('health entries → weights', () => {
  const check = (Status: string) => ({ CheckID: `c-${Status}`, Status });
  const weightWith = (...statuses: string[]) =>
    onlyInstance([
      { ...entry({ Weights: { Passing: 5, Warning: 2 } }), Checks: statuses.map(check) },
    ])?.weight;

  it('reads Weights.Passing while every check passes', () => {
    expect(weightWith()).toBe(5);
    expect(weightWith('passing', 'passing')).toBe(5);
  });

  it('reads Weights.Warning while a check warns, or is critical and the query lets it through', () => {
    expect(weightWith('passing', 'warning')).toBe(2);
    expect(weightWith('critical')).toBe(2);
  });

  it('reads 1 when Weights.Warning is missing or not a positive safe integer', () => {
    const warned = (Weights: unknown) =>
      onlyInstance([{ ...entry({ Weights }), Checks: [check('warning')] }])?.weight;
    expect([warned({ Passing: 5 }), warned({ Passing: 5, Warning: 0 }), warned(null)]).toEqual([
      1, 1, 1,
    ]);
  });
});
