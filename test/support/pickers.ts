import { type Address, instanceFromAddress } from '../../src/instance.js';
import type { Picker } from '../../src/picker.js';

/**
 * A round-robin {@link Picker} over `addresses`, as `roundRobin()` builds them: an array and an
 * index, a fixed cycle, starting at the first address.
 */
export function roundRobinPicker(addresses: readonly Address[]): Picker {
  const instances = addresses.map(instanceFromAddress);
  let next = 0;
  return {
    size: instances.length,
    instances,
    pick() {
      if (instances.length === 0) return undefined;
      const instance = instances[next];
      next = (next + 1) % instances.length;
      return instance;
    },
  };
}
