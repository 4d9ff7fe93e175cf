import { from, of, take } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { added, deleted, instance } from '../../marbles/fixtures.js';
import type { Address } from '../../src/instance.js';
import { diff } from '../../src/operators/diff.js';
import { InstanceSetError } from '../../src/operators/internal/instance-set-error.js';
import { collect } from './collect.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';

const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function errorOf(emission: unknown): InstanceSetError {
  // diff() types its input; these tests feed what a JavaScript caller might.
  const { error } = collect(of(emission as Iterable<Address>).pipe(diff()));
  expect(error).toBeInstanceOf(InstanceSetError);
  return error as InstanceSetError;
}

describe('diff() errors', () => {
  it('names a malformed address, its position and ERR_INVALID_ADDRESS', () => {
    const error = errorOf([A, '10.0.0.2']);
    expect(error).toMatchObject({
      name: 'InstanceSetError',
      code: 'ERR_INVALID_ADDRESS',
      index: 1,
    });
    expect(error.value).toBe('10.0.0.2');
    expect(error.message).toContain('"10.0.0.2"');
    expect(error.message).toContain('element 1');
  });

  it("names an Instance's malformed address", () => {
    const bad = instance('not an address');
    const error = errorOf([bad]);
    expect(error).toMatchObject({ code: 'ERR_INVALID_ADDRESS', index: 0, value: bad });
    expect(error.message).toContain('"not an address"');
  });

  it('rejects an element that is neither an address nor an Instance, naming the bad field', () => {
    expect(errorOf([{ address: A }])).toMatchObject({ code: 'ERR_INVALID_INSTANCE', index: 0 });
    expect(errorOf([{ address: A }]).message).toContain('(bad "id"): {"address":"10.0.0.1:80"}');
    expect(errorOf([A, 42]).message).toContain('element 1 is neither an address nor an Instance');
    expect(errorOf([{ ...instance(A), tags: 'x' }]).message).toContain('bad "tags"');
  });

  it.each([
    ['address', null],
    ['address', { ...instance(A), address: 80 }],
    ['id', { ...instance(A), id: undefined }],
    ['service', { ...instance(A), service: 1 }],
    ['node', { ...instance(A), node: null }],
    ['datacenter', { ...instance(A), datacenter: 1 }],
    ['tags', { ...instance(A), tags: undefined }],
    ['meta', { ...instance(A), meta: null }],
    ['meta', { ...instance(A), meta: 'rack=r1' }],
    ['weight', { ...instance(A), weight: '2' }],
  ])('names the field that keeps an element from being an Instance: %s', (field, element) => {
    const error = errorOf([element]);
    expect(error).toMatchObject({ code: 'ERR_INVALID_INSTANCE', index: 0, value: element });
    expect(error.message).toContain(
      `element 0 is neither an address nor an Instance (bad "${field}")`,
    );
  });

  it('takes an instance with a datacenter, or with none', () => {
    const [batch] = collect(
      of([instance(A, { datacenter: 'dc1' }), instance(B)]).pipe(diff()),
    ).values;
    expect(batch).toEqual([added(instance(A, { datacenter: 'dc1' })), added(B)]);
  });

  it('quotes what it cannot read: a function, a circular object, text cut after 80 characters', () => {
    expect(errorOf([() => A]).message).toMatch(/\(bad "address"\): a function$/);
    const circular: Record<string, unknown> = { address: A };
    circular.self = circular;
    expect(errorOf([circular]).message).toMatch(/\(bad "id"\): \[object Object\]$/);
    // JSON of exactly 80 characters is quoted whole; of 81, cut to 80 and an ellipsis
    const exactly = {
      address: A,
      pad: 'x'.repeat(80 - JSON.stringify({ address: A, pad: '' }).length),
    };
    expect(JSON.stringify(exactly)).toHaveLength(80);
    expect(errorOf([exactly]).message).toMatch(
      new RegExp(`: ${literal(JSON.stringify(exactly))}$`),
    );
    const longer = { ...exactly, pad: `${exactly.pad}y` };
    expect(errorOf([longer]).message).toMatch(
      new RegExp(`: ${literal(JSON.stringify(longer).slice(0, 80))}…$`),
    );
  });

  it('rejects an emission that is not iterable, a lone address string included', () => {
    for (const emission of [A, 42, null, undefined, {}]) {
      expect(errorOf(emission), String(emission)).toMatchObject({
        code: 'ERR_INVALID_INSTANCE_SET',
        index: undefined,
      });
    }
    expect(errorOf(A).message).toContain(`got "${A}"`);
  });

  it('cuts a long bad value short in the message', () => {
    const error = errorOf([`${'x'.repeat(500)}:80`]);
    expect(error.message.length).toBeLessThan(200);
  });
});

describe('diff() reading', () => {
  it('passes a well-formed instance through as the same object', () => {
    const a = instance(A, { weight: 2 });
    const [batch] = collect(of([a]).pipe(diff())).values;
    expect(batch?.[0]).toEqual({ op: 'add', address: A, instance: a });
    expect(batch?.[0]?.op === 'add' && batch[0].instance).toBe(a);
  });

  it('copies an instance whose address is not normalized, with the normalized address', () => {
    const a = instance('[::1]:0080', { id: 'one' });
    const [batch] = collect(of([a]).pipe(diff())).values;
    expect(batch).toEqual([added(instance('[::1]:80', { id: 'one' }))]);
  });

  it('reads a Map by its values and any other iterable by its elements, whatever else it has', () => {
    // an iterable with a get() but no values(), and a generator: elements, not entries
    const withGet = {
      get: () => undefined,
      *[Symbol.iterator]() {
        yield A;
      },
    };
    function* both() {
      yield A;
      yield B;
    }
    const { values, error } = collect(of(withGet, both()).pipe(diff()));
    expect(error).toBeUndefined();
    expect(values).toEqual([[added(A)], [added(B)]]);
  });

  it('accepts a Set and a generator as well as an array and a Map', () => {
    function* addresses() {
      yield A;
    }
    const { values } = collect(
      of(new Set([A]), addresses(), [A, B], new Map([[B, instance(B)]])).pipe(diff()),
    );
    expect(values).toEqual([[added(A)], [added(B)], [deleted(A)]]);
  });

  it('freezes batches, their updates and the instances it creates', () => {
    const { values } = collect(of([A], [B]).pipe(diff()));
    for (const batch of values) {
      expect(Object.isFrozen(batch)).toBe(true);
      for (const update of batch) {
        expect(Object.isFrozen(update)).toBe(true);
        if (update.op === 'add') expect(Object.isFrozen(update.instance)).toBe(true);
      }
    }
  });
});

describe('diff() subscriptions', () => {
  it('keeps state per subscription: every subscriber, and every resubscription, starts empty', () => {
    const batches = of([A], [A, B]).pipe(diff());
    const first = collect(batches).values;
    expect(collect(batches).values).toEqual(first);
    expect(first).toEqual([[added(A)], [added(B)]]);
  });

  it('stops pulling a synchronous source as soon as the consumer unsubscribes', () => {
    let pulled = 0;
    function* forever() {
      for (;;) yield [`10.0.0.${(pulled++ % 250) + 1}:80`];
    }
    const { values, completed } = collect(from(forever()).pipe(diff(), take(3)));
    expect(values).toHaveLength(3);
    expect(completed).toBe(true);
    expect(pulled).toBe(3);
  });

  it('stops reading the source after an error', () => {
    let pulled = 0;
    function* sets() {
      pulled++;
      yield ['bad'];
      pulled++;
      yield [A];
    }
    expect(collect(from(sets()).pipe(diff())).error).toBeInstanceOf(InstanceSetError);
    expect(pulled).toBe(1);
  });
});
