import {
  type Address,
  type Instance,
  instanceFromAddress,
  normalizeAddress,
} from '../../instance.js';
import { InstanceSetError } from './instance-set-error.js';

// Error messages quote the bad value, cut to this many characters.
const MAX_QUOTED = 80;

/**
 * Reads one emission of `diff()`'s source as a map from normalized address to instance.
 * An `InstanceSet`'s keys are not consulted: each instance's own `address` is the key.
 * When an address occurs more than once, the last element wins (as in `new Map(entries)`).
 * Throws an {@link InstanceSetError} for anything it cannot read.
 *
 * `known` holds addresses already normalized (the previous set's keys): they are not parsed
 * again, which makes an emission that repeats most of the last one about twice as cheap.
 */
export function readInstanceSet(
  emission: unknown,
  known: ReadonlyMap<Address, unknown>,
): Map<Address, Instance> {
  const set = new Map<Address, Instance>();
  let index = 0;
  for (const element of elementsOf(emission)) {
    const instance = readElement(element, index++, known);
    set.set(instance.address, instance);
  }
  return set;
}

function elementsOf(emission: unknown): Iterable<unknown> {
  if (typeof emission === 'object' && emission !== null) {
    if (isMapLike(emission)) return emission.values();
    if (Symbol.iterator in emission) return emission as Iterable<unknown>;
  }
  // A lone string is iterable, but as characters: almost surely `of(address)` meant `of([address])`.
  throw new InstanceSetError(
    'ERR_INVALID_INSTANCE_SET',
    `diff(): expected an InstanceSet or an iterable of instances and addresses, got ${quote(emission)}`,
    emission,
  );
}

function isMapLike(value: object): value is ReadonlyMap<unknown, unknown> {
  const candidate = value as Partial<ReadonlyMap<unknown, unknown>>;
  return typeof candidate.get === 'function' && typeof candidate.values === 'function';
}

function readElement(
  element: unknown,
  index: number,
  known: ReadonlyMap<Address, unknown>,
): Instance {
  if (typeof element === 'string') {
    return Object.freeze(instanceFromAddress(normalized(element, element, index, known)));
  }
  const field = invalidField(element);
  if (field !== undefined) {
    throw new InstanceSetError(
      'ERR_INVALID_INSTANCE',
      `diff(): element ${index} is neither an address nor an Instance (bad "${field}"): ${quote(element)}`,
      element,
      index,
    );
  }
  const instance = element as Instance;
  const address = normalized(instance.address, element, index, known);
  // Normalizing keeps "10.0.0.1:080" and "10.0.0.1:80" from being two backends.
  return address === instance.address ? instance : Object.freeze({ ...instance, address });
}

function normalized(
  address: string,
  element: unknown,
  index: number,
  known: ReadonlyMap<Address, unknown>,
): Address {
  if (known.has(address)) return address;
  const result = normalizeAddress(address);
  if (result === undefined) {
    throw new InstanceSetError(
      'ERR_INVALID_ADDRESS',
      `diff(): element ${index} has a malformed address ${quote(address)}; expected "host:port" or "[ipv6]:port"`,
      element,
      index,
    );
  }
  return result;
}

/** The first field that keeps `value` from being an `Instance`, or undefined when none does. */
function invalidField(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'address';
  const v = value as { readonly [K in keyof Instance]?: unknown };
  if (typeof v.address !== 'string') return 'address';
  if (typeof v.id !== 'string') return 'id';
  if (typeof v.service !== 'string') return 'service';
  if (typeof v.node !== 'string') return 'node';
  if (v.datacenter !== undefined && typeof v.datacenter !== 'string') return 'datacenter';
  if (!Array.isArray(v.tags)) return 'tags';
  if (typeof v.meta !== 'object' || v.meta === null) return 'meta';
  if (typeof v.weight !== 'number') return 'weight';
  return undefined;
}

function quote(value: unknown): string {
  let text: string;
  if (typeof value === 'function') text = 'a function';
  else if (typeof value !== 'object' || value === null) {
    text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  } else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value); // circular
    }
  }
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
}
