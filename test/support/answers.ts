import { filter, type MonoTypeOperatorFunction } from 'rxjs';
import { discoveryOf } from '../../src/discovery.js';
import type { InstanceSet } from '../../src/instance.js';

/** Whether `set`, as it is emitted, is the empty set that says discovery could not ask yet. */
export function isUnresolved(set: InstanceSet): boolean {
  return discoveryOf(set)?.unresolved !== undefined;
}

/**
 * Only Consul's answers: drops the empty set `consulInstances$` emits, marked unresolved, when
 * its first attempt fails. Judged as each set is emitted: the mark clears once Consul answers.
 */
export function answersOnly(): MonoTypeOperatorFunction<InstanceSet> {
  return filter((set) => !isUnresolved(set));
}
