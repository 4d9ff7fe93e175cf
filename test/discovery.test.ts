/**
 * The discovery status a value carries (src/discovery.ts): hidden from enumeration, spreads
 * and equality, kept across two copies of rxlb, and absent from anything else.
 */
import { describe, expect, it } from 'vitest';
import { type DiscoveryStatus, discoveryOf, withDiscovery } from '../src/discovery.js';

const status: DiscoveryStatus = { service: 'greeter', unresolved: undefined, index: 7 };

describe('discoveryOf() and withDiscovery()', () => {
  it('finds nothing on values that carry no status, whatever they are', () => {
    for (const value of [undefined, null, 0, 'greeter', true, Symbol('x'), {}, [], new Map()]) {
      expect(discoveryOf(value)).toBeUndefined();
    }
    // a property of that name that is no status object is none either
    for (const bad of [null, 'greeter', 3]) {
      expect(discoveryOf({ [Symbol.for('rxlb.discovery')]: bad })).toBeUndefined();
    }
  });

  it('puts a status on a value, hidden: not enumerated, not spread, not compared', () => {
    const set = withDiscovery(new Map([['a', 1]]), status);
    expect(discoveryOf(set)).toBe(status);
    const batch = withDiscovery([1, 2], status);
    expect(discoveryOf(batch)).toBe(status);
    expect(Object.keys(batch)).toEqual(['0', '1']);
    expect(Reflect.ownKeys(batch).filter((key) => typeof key === 'symbol')).toHaveLength(1);
    expect(discoveryOf([...batch])).toBeUndefined();
    expect(discoveryOf({ ...batch })).toBeUndefined();
    expect(batch).toEqual([1, 2]);
  });

  it('is read under the registered symbol, so another copy of rxlb reads it too', () => {
    const value = withDiscovery({}, status);
    expect((value as Record<symbol, unknown>)[Symbol.for('rxlb.discovery')]).toBe(status);
  });

  it('leaves a value as it is when given no status, and can give it another later', () => {
    const value = {};
    expect(withDiscovery(value, undefined)).toBe(value);
    expect(discoveryOf(value)).toBeUndefined();
    withDiscovery(value, status);
    expect(discoveryOf(withDiscovery(value, undefined))).toBe(status); // none given: kept
    const next = { ...status, index: 8 };
    expect(discoveryOf(withDiscovery(value, next))).toBe(next);
  });
});
