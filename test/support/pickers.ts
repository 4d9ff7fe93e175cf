import { type Address, instanceFromAddress } from '../../src/instance.js';
import { RoundRobinPicker } from '../../src/operators/round-robin.js';
import type { Picker } from '../../src/picker.js';

/**
 * A round-robin {@link Picker} over `addresses`, as `roundRobin()` builds them, starting at the
 * first address.
 */
export function roundRobinPicker(addresses: readonly Address[]): Picker {
  return new RoundRobinPicker(addresses.map(instanceFromAddress), 0);
}
