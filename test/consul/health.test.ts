import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mapHealthEntries } from '../../src/consul/health.js';
import { parseAddress } from '../../src/instance.js';

/** A health entry shaped like Consul's, with the fields the mapping reads. */
function entry(service: Record<string, unknown>, node: Record<string, unknown> = {}) {
  return {
    Node: { Node: 'n1', Address: '10.0.0.9', Datacenter: 'dc1', ...node },
    Service: { ID: 'greeter-1', Service: 'greeter', Port: 50051, Tags: [], Meta: {}, ...service },
    Checks: [],
  };
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

  it('returns undefined for a body that is not an array', () => {
    for (const body of [null, {}, 'x', 42, undefined])
      expect(mapHealthEntries(body)).toBeUndefined();
  });

  it('never throws and never yields an invalid instance, whatever Consul sends', () => {
    const port = fc.oneof(fc.integer({ min: -5, max: 70_000 }), fc.string(), fc.constant(null));
    const host = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), fc.string(), fc.constant(''));
    const service = fc.record(
      {
        ID: fc.oneof(fc.string(), fc.integer()),
        Service: fc.anything(),
        Address: fc.oneof(host, fc.anything()),
        Port: port,
        Tags: fc.oneof(fc.array(fc.oneof(fc.string(), fc.integer())), fc.anything()),
        Meta: fc.oneof(
          fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())),
          fc.anything(),
        ),
        Weights: fc.anything(),
      },
      { requiredKeys: [] },
    );
    const node = fc.record(
      { Node: fc.anything(), Address: host, Datacenter: fc.anything() },
      {
        requiredKeys: [],
      },
    );
    const item = fc.oneof(fc.record({ Service: service, Node: node }), fc.anything());
    fc.assert(
      fc.property(fc.array(item, { maxLength: 30 }), (body) => {
        const result = mapHealthEntries(body);
        expect(result).toBeDefined();
        if (!result) return;
        expect(result.instances.size + result.skipped.length).toBe(body.length);
        for (const [address, instance] of result.instances) {
          expect(instance.address).toBe(address);
          expect(parseAddress(address)).toBeDefined();
          expect(typeof instance.id === 'string' && instance.id !== '').toBe(true);
          expect(instance.tags.every((t) => typeof t === 'string')).toBe(true);
          expect(Object.values(instance.meta).every((v) => typeof v === 'string')).toBe(true);
          expect(Number.isInteger(instance.weight) && instance.weight > 0).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
