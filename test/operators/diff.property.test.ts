import fc from 'fast-check';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { instance } from '../../marbles/fixtures.js';
import {
  type Address,
  type Instance,
  type InstanceSet,
  instanceFromAddress,
  normalizeAddress,
  sameInstance,
  type Update,
} from '../../src/instance.js';
import { diff } from '../../src/operators/diff.js';

const POOL = [
  '10.0.0.1:80',
  '10.0.0.2:80',
  'greeter.svc:50051',
  '[::1]:80',
  '[fe80::1%eth0]:50051',
];
// A leading zero in the port: the same backend, written differently (ports stay within 5 digits).
const unnormalized = (address: Address) => address.replace(/:(\d{1,4})$/, ':0$1');

const addressArb = fc
  .tuple(fc.constantFrom(...POOL), fc.boolean())
  .map(([address, pad]) => (pad ? unnormalized(address) : address));
const instanceArb = fc.record({
  address: addressArb,
  weight: fc.integer({ min: 1, max: 3 }),
  tags: fc.subarray(['blue', 'green']),
  meta: fc.constantFrom({}, { version: '1' }, { version: '2' }),
});
const elementArb = fc.oneof(
  addressArb,
  instanceArb.map(({ address, ...attributes }) => instance(address, attributes)),
);
type Element = Instance | Address;
// Each emission as an array, a Set, a generator, or an InstanceSet.
const emissionArb = fc
  .record({
    elements: fc.array(elementArb, { maxLength: 8 }),
    shape: fc.constantFrom('array', 'set', 'generator', 'map'),
  })
  // A Set keeps one copy of equal strings: model what it will yield.
  .map(({ elements, shape }) => ({
    elements: shape === 'set' ? [...new Set(elements)] : elements,
    shape,
  }));

function asEmission({
  elements,
  shape,
}: {
  elements: Element[];
  shape: string;
}): Iterable<Element> | InstanceSet {
  if (shape === 'set') return new Set(elements);
  if (shape === 'generator')
    return (function* () {
      yield* elements;
    })();
  if (shape === 'map') return new Map(elements.map((e) => [toInstance(e).address, toInstance(e)]));
  return elements;
}

function toInstance(element: Element): Instance {
  const address = normalizeAddress(typeof element === 'string' ? element : element.address) ?? '';
  return typeof element === 'string' ? instanceFromAddress(address) : { ...element, address };
}

/** What the emission means: normalized address to instance, the last occurrence winning. */
function model(elements: readonly Element[]): Map<Address, Instance> {
  return new Map(elements.map((element) => [toInstance(element).address, toInstance(element)]));
}

function sameSet(a: ReadonlyMap<Address, Instance>, b: ReadonlyMap<Address, Instance>): boolean {
  if (a.size !== b.size) return false;
  for (const [address, value] of a) {
    const other = b.get(address);
    if (other === undefined || !sameInstance(value, other)) return false;
  }
  return true;
}

function apply(set: Map<Address, Instance>, batch: readonly Update[]): void {
  for (const update of batch) {
    if (update.op === 'add') set.set(update.address, update.instance);
    else set.delete(update.address);
  }
}

describe('diff() property', () => {
  it('replays every source set by applying its batches, each minimal and none empty after the first', () => {
    fc.assert(
      fc.property(fc.array(emissionArb, { minLength: 1, maxLength: 12 }), (emissions) => {
        const source = new Subject<Iterable<Element> | InstanceSet>();
        const batches: (readonly Update[])[] = [];
        source.pipe(diff()).subscribe({
          next: (batch) => batches.push(batch),
          error: (error: unknown) => expect.unreachable(String(error)),
        });
        const replayed = new Map<Address, Instance>();
        let previous = new Map<Address, Instance>();
        emissions.forEach((emission, i) => {
          const expected = model(emission.elements);
          const emitted = batches.length;
          source.next(asEmission(emission));
          const changed = !sameSet(previous, expected);
          expect(batches.length - emitted).toBe(i === 0 || changed ? 1 : 0);
          const batch = batches[emitted] ?? [];
          if (i > 0) expect(batch.length > 0).toBe(changed);
          // Minimal: each address once; a delete only for a gone address, an add only for a new or changed one.
          expect(new Set(batch.map((u) => u.address)).size).toBe(batch.length);
          for (const update of batch) {
            const before = previous.get(update.address);
            if (update.op === 'delete')
              expect(before !== undefined && !expected.has(update.address)).toBe(true);
            else expect(before === undefined || !sameInstance(before, update.instance)).toBe(true);
          }
          apply(replayed, batch);
          expect(sameSet(replayed, expected)).toBe(true);
          previous = expected;
        });
      }),
    );
  });
});
