import { type Address, instanceFromAddress } from '../../src/instance.js';
import { RoundRobinPicker } from '../../src/operators/round-robin.js';
import type { Backend, Picker } from '../../src/picker.js';

/**
 * A round-robin {@link Picker} over `addresses`, as `roundRobin()` builds them, starting at the
 * first address.
 */
export function roundRobinPicker(addresses: readonly Address[]): Picker {
  return new RoundRobinPicker(addresses.map(instanceFromAddress), 0);
}

/** A round-robin picker over `addresses` that records every distinct `usable` array it sees. */
export function recordingPicker(addresses: readonly string[]) {
  const inner = roundRobinPicker(addresses);
  const seen: (readonly Backend[])[] = [];
  const picker: Picker = {
    instances: inner.instances,
    pick(backends, call) {
      if (backends && !seen.includes(backends.usable)) seen.push(backends.usable);
      return inner.pick(backends, call);
    },
  };
  return { picker, seen };
}
