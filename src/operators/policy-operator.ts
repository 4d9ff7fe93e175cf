import { defer, map, type OperatorFunction } from 'rxjs';
import { discoveryOf } from '../discovery.js';
import type { Address, Instance, Update } from '../instance.js';
import type { Picker } from '../picker.js';
import { applyUpdates } from './internal/apply-updates.js';

/**
 * Makes a policy operator (update batches in, one {@link Picker} per batch out) from a
 * function that builds a picker over the current members: what `roundRobin()`,
 * `leastRequest()` and every other policy of rxlb's is made of.
 *
 * <span class="informal">`scan()` over the batches into the members, then `map(build)`, with
 * discovery's word carried along.</span>
 *
 * Each batch is applied to the members kept so far: an `add` inserts its instance, or
 * replaces the one at its address in place; a `delete` removes the address (an unknown one is
 * ignored). Members keep the order in which their addresses were first added, so a replace
 * does not reshuffle them. Then `build(members)` makes the picker, also for an empty batch
 * (`members` is then empty: its `pick()` must return `undefined` without backends). `build`
 * gets a new array each time, which the picker may keep.
 *
 * The picker is emitted with what discovery said with the batch (the service's name, and why
 * there is no set yet while discovery is failing: see `Picker.discovery`), which the balanced
 * channel puts in its messages: `no healthy instance of "greeter"`. `build` returns a picker
 * without `discovery`, and must not freeze it (a class instance or a plain object will do).
 *
 * Members live in the subscription: a resubscribed pipeline starts with none. Completion and
 * errors of the source pass through, as do errors `build` throws.
 *
 * ## Example
 *
 * ```ts
 * import type { Backends, Instance } from 'rxlb';
 * import { policyOperator } from 'rxlb';
 *
 * // Always the first usable member in discovery's order: a primary with standbys.
 * const primaryFirst = () =>
 *   policyOperator('primaryFirst()', (members: readonly Instance[]) => ({
 *     instances: members,
 *     pick: (backends?: Backends) => (backends ? backends.usable[0]?.instance : members[0]),
 *   }));
 *
 * const picker$ = consulInstances$('greeter').pipe(diff(), primaryFirst());
 * ```
 *
 * @param name The operator, as its errors name it, e.g. `primaryFirst()`.
 * @param build Makes the picker over the members, in their order.
 * @see `src/picker.ts` for what a picker promises and what the channel promises it.
 * @return A function that returns an Observable of {@link Picker}s.
 */
export function policyOperator(
  name: string,
  build: (members: readonly Instance[]) => Picker,
): OperatorFunction<readonly Update[], Picker> {
  if (typeof name !== 'string' || typeof build !== 'function') {
    throw new TypeError('policyOperator(): expected a name and a function that builds a picker');
  }
  return (source) =>
    defer(() => {
      const members = new Map<Address, Instance>();
      return source.pipe(
        map((batch) => {
          applyUpdates(name, members, batch);
          const picker = build([...members.values()]);
          const discovery = discoveryOf(batch);
          if (discovery !== undefined) carry(name, picker, discovery);
          return picker;
        }),
      );
    });
}

/** Puts `discovery` on `picker`, which its policy built without. */
function carry(name: string, picker: Picker, discovery: Picker['discovery']): void {
  if (picker.discovery === discovery) return;
  if (typeof picker !== 'object' || picker === null || !Object.isExtensible(picker)) {
    throw new TypeError(
      `${name}: its picker must be an object policyOperator() can add "discovery" to, not frozen`,
    );
  }
  Object.defineProperty(picker, 'discovery', { value: discovery, configurable: true });
}
