import type { Address, Instance, Update } from '../../instance.js';

/**
 * Applies `batch` to `members`, in place: an `add` inserts its instance, or replaces the one
 * at its address where it stands (members keep the order in which their addresses were
 * first added, so a replace does not reshuffle them); a `delete` removes the address, and a
 * `delete` of an unknown one does nothing.
 *
 * @param caller The operator, for the `TypeError` an update of unknown shape raises.
 */
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
