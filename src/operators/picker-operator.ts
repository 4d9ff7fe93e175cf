import { defer, map, type OperatorFunction } from 'rxjs';
import { discoveryOf, withDiscovery } from '../discovery.js';
import type { Address, Instance, Update } from '../instance.js';
import type { Picker } from '../picker.js';

/**
 * What every policy operator does, whatever it picks by: applies each batch to the members
 * kept so far, then has `build` make a new picker over them, which carries what discovery
 * said with the batch (see `discovery.ts`).
 *
 * An `add` inserts its instance, or replaces the one at its address in place; a `delete`
 * removes the address (an unknown one is ignored). Members keep the order in which their
 * addresses were first added, so a replace does not reshuffle them. `subscribe` runs once
 * per subscription and returns that subscription's `build`: state a policy keeps across its
 * pickers (latencies, a scheduler's position) lives in its closure. A resubscribed pipeline
 * starts with no member and fresh state.
 *
 * @param caller The operator, for the error an update of unknown shape raises.
 */
export function pickerOperator(
  caller: string,
  subscribe: () => (members: readonly Instance[]) => Picker,
): OperatorFunction<readonly Update[], Picker> {
  return (source) =>
    defer(() => {
      const members = new Map<Address, Instance>();
      const build = subscribe();
      return source.pipe(
        map((batch) => {
          applyUpdates(caller, members, batch);
          return withDiscovery(build([...members.values()]), discoveryOf(batch));
        }),
      );
    });
}

/** Applies `batch` to `members`, in place: see {@link pickerOperator}. */
export function applyUpdates(
  caller: string,
  members: Map<Address, Instance>,
  batch: readonly Update[],
): void {
  for (const update of batch) {
    switch (update.op) {
      case 'add':
        members.set(update.address, update.instance); // a known address keeps its position
        break;
      case 'delete':
        members.delete(update.address);
        break;
      default:
        throw new TypeError(`${caller}: unknown update ${JSON.stringify(update)}`);
    }
  }
}
