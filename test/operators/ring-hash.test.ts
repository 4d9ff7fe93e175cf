import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { backend, call, instance } from '../../marbles/fixtures.js';
import type { Address, Instance } from '../../src/instance.js';
import { diff } from '../../src/operators/diff.js';
import { ringHash } from '../../src/operators/ring-hash.js';
import type { Picker } from '../../src/picker.js';
import { collect } from './collect.js';

const KEY = 'x-user-id';
const USERS = Array.from({ length: 2_000 }, (_, i) => `user-${i}`);

function pickerOf(members: readonly (Instance | Address)[], options = {}): Picker {
  const set = members.map((m) => (typeof m === 'string' ? instance(m) : m));
  const [picker] = collect(from([set]).pipe(diff(), ringHash({ key: KEY, ...options }))).values;
  if (picker === undefined) throw new Error('no picker');
  return picker;
}

const addresses = (count: number, base = 20_000) =>
  Array.from({ length: count }, (_, i) => `127.0.0.1:${base + i}`);

const userOf = (picker: Picker, user: string) => picker.pick(undefined, call({ [KEY]: user }));

describe('ringHash()', () => {
  it('spreads 2,000 users over 10 members within 1.4 times the mean, over 50 fleets', () => {
    const ratios: number[] = [];
    for (let fleet = 0; fleet < 50; fleet++) {
      const picker = pickerOf(addresses(10, 20_000 + fleet * 37));
      const counts = new Map<Address | undefined, number>();
      for (const user of USERS) {
        const address = userOf(picker, user)?.address;
        counts.set(address, (counts.get(address) ?? 0) + 1);
      }
      expect(counts.size).toBe(10);
      ratios.push(Math.max(...counts.values()) / (USERS.length / 10));
    }
    expect(Math.max(...ratios)).toBeLessThanOrEqual(1.4);
  });

  it('keeps every user of the other members on its member when one of 10 leaves', () => {
    const members = addresses(10);
    const before = pickerOf(members);
    const after = pickerOf(members.slice(1));
    for (const user of USERS) {
      const was = userOf(before, user)?.address;
      if (was !== members[0]) expect(userOf(after, user)?.address).toBe(was);
    }
  });

  it('gives a member entries, and so users, in proportion to its weight', () => {
    const picker = pickerOf([
      instance('10.0.0.1:80', { weight: 3 }),
      instance('10.0.0.2:80'),
      instance('10.0.0.3:80'),
    ]);
    const heavy = USERS.filter((user) => userOf(picker, user)?.address === '10.0.0.1:80');
    expect(heavy.length / USERS.length).toBeGreaterThan(0.5);
    expect(heavy.length / USERS.length).toBeLessThan(0.7);
  });

  it('serves a key of a member that is not usable by the next usable member on the ring', () => {
    const members = addresses(5).map((address) => instance(address));
    const picker = pickerOf(members);
    const all = picker.instances.map((member) => backend(member));
    const down = all[2]?.instance.address;
    const usable = all.filter((b) => b.instance.address !== down);
    for (const user of USERS.slice(0, 300)) {
      const home = picker.pick({ usable: all }, call({ [KEY]: user }));
      const served = picker.pick({ usable }, call({ [KEY]: user }));
      expect(home).toBe(userOf(picker, user));
      if (home?.address === down) expect(served?.address).not.toBe(down);
      else expect(served).toBe(home);
    }
  });

  it('sends a call without the key to a random usable member', () => {
    let draw = 0.99;
    const picker = pickerOf(addresses(4), { random: () => draw });
    const usable = picker.instances.map((member) => backend(member));
    expect(picker.pick({ usable }, call())).toBe(usable[3]?.instance);
    draw = 0;
    expect(picker.pick({ usable })).toBe(usable[0]?.instance);
    expect(picker.pick()).toBe(picker.instances[0]);
  });

  it('picks undefined when it has no members', () => {
    expect(pickerOf([]).pick(undefined, call({ [KEY]: 'u' }))).toBeUndefined();
  });

  it('rejects a missing key, a binary header and ring sizes out of range, naming the option', () => {
    const make = (options: unknown) => () => ringHash(options as Parameters<typeof ringHash>[0]);
    expect(make({})).toThrow(/ringHash\(\): missing option "key"/);
    expect(make({ key: 'x-id-bin' })).toThrow(/"key"/);
    expect(make({ key: 'X-Id' })).toThrow(/"key"/);
    expect(make({ key: KEY, minRingSize: 0 })).toThrow(/"minRingSize"/);
    expect(make({ key: KEY, minRingSize: 8000, maxRingSize: 4000 })).toThrow(/"minRingSize"/);
    expect(make({ key: KEY, ring: 3 })).toThrow(/unknown option "ring"/);
  });
});
