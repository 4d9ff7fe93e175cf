import { defer, filter, map, type OperatorFunction } from 'rxjs';
import { type DiscoveryStatus, discoveryOf, withDiscovery } from '../discovery.js';
import {
  type Address,
  type Instance,
  type InstanceSet,
  sameInstance,
  type Update,
} from '../instance.js';
import { readInstanceSet } from './internal/read-instance-set.js';

/**
 * Turns a stream of instance sets into a stream of the changes between consecutive sets.
 *
 * <span class="informal">Like `pairwise()`, then "what must I add and delete to get from
 * the first to the second?"</span>
 *
 * ```
 * source:  -a-----b-----c-----|     a = [A, B]   b = [B, C]   c = [C, B]
 *           diff()
 * output:  -x-----y-----------|     x = [+A, +B] y = [-A, +C] (c changes nothing)
 * ```
 *
 * ![diff: later emissions yield the minimal batch](../../docs/marbles/diff-later-emissions-yield-the-minimal-batch.svg)
 *
 * The first emission always yields a batch that adds every instance of the first set. An
 * empty first set yields one empty batch, so that downstream learns that discovery answered
 * "nobody" and can fail calls fast instead of waiting.
 *
 * Each later emission yields the minimal batch that turns the previous set into the new one:
 * first a `delete` for every address that is gone (in the previous set's order), then an
 * `add` for every address that is new or whose attributes changed (per `sameInstance`), in
 * the new set's order. An `add` for a known address replaces it. When nothing changed, no
 * batch is emitted. Applying every batch in turn to an empty map reproduces the source set.
 *
 * A source emission may be an `InstanceSet` or any iterable of `Instance`s and address
 * strings; strings become instances known only by their address (`instanceFromAddress`).
 * Addresses are normalized (`"10.0.0.1:080"` is `"10.0.0.1:80"`); an instance whose address
 * is not normalized is copied with the normalized one. When an address occurs more than once
 * in one emission, the last occurrence wins. A malformed address, an element that is neither
 * an address nor an `Instance`, or an emission that is not iterable is not dropped: the
 * output errors with an {@link InstanceSetError} naming the bad value.
 *
 * Completion and errors of the source pass through. The previous set lives in the
 * subscription, so a resubscribed pipeline (after `retry`, say) starts from an empty set and
 * its first batch adds everything again. Each emission costs O(n) in the size of the sets.
 * Batches and their updates are frozen.
 *
 * ## Example
 *
 * Serve a static list, then follow its changes.
 *
 * ```ts
 * import { of } from 'rxjs';
 * import { diff } from 'rxlb';
 *
 * of(['10.0.0.1:50051', '10.0.0.2:50051'], ['10.0.0.2:50051', '[::1]:50051'])
 *   .pipe(diff())
 *   .subscribe((batch) => console.log(batch.map((u) => `${u.op} ${u.address}`)));
 * // [ 'add 10.0.0.1:50051', 'add 10.0.0.2:50051' ]
 * // [ 'delete 10.0.0.1:50051', 'add [::1]:50051' ]
 * ```
 *
 * @see {@link roundRobin} builds a picker from the batches.
 * @see {@link InstanceSetError} for what a malformed emission produces.
 * @see [All diff() marble diagrams](https://github.com/rxlb/rxlb/tree/main/docs/marbles)
 *
 * @return A function that returns an Observable of batches of {@link Update}s.
 */
export function diff(): OperatorFunction<
  InstanceSet | Iterable<Instance | Address>,
  readonly Update[]
> {
  // defer + map rather than `new Observable(s => source.subscribe(...))`: map's subscriber is
  // chained to the consumer, so a synchronous source stops as soon as the consumer
  // unsubscribes or `readInstanceSet` throws.
  return (source) =>
    defer(() => {
      let previous: ReadonlyMap<Address, Instance> = new Map();
      return source.pipe(
        map((emission) => {
          const next = readInstanceSet(emission, previous);
          const batch = changes(previous, next, discoveryOf(emission));
          previous = next;
          return batch;
        }),
        filter((batch, index) => index === 0 || batch.length > 0),
      );
    });
}

function changes(
  previous: ReadonlyMap<Address, Instance>,
  next: ReadonlyMap<Address, Instance>,
  discovery: DiscoveryStatus | undefined,
): readonly Update[] {
  const batch: Update[] = withDiscovery([], discovery);
  for (const address of previous.keys()) {
    if (!next.has(address)) batch.push(Object.freeze({ op: 'delete', address }));
  }
  for (const [address, instance] of next) {
    const known = previous.get(address);
    if (known === undefined || !sameInstance(known, instance)) {
      batch.push(Object.freeze({ op: 'add', address, instance }));
    }
  }
  return Object.freeze(batch);
}
