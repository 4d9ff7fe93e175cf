import { hostname } from 'node:os';
import { defer, filter, map, type OperatorFunction } from 'rxjs';
import { discoveryOf, withDiscovery } from '../discovery.js';
import type { Address, Instance, Update } from '../instance.js';
import { readOptions } from '../read-options.js';
import { applyUpdates } from './internal/apply-updates.js';
import { hash32, idealSubset } from './internal/subset-assignment.js';

/**
 * Options of {@link subset}.
 *
 * @example
 * ```ts
 * // Worker 3 of a fleet numbered from 0: 20 connections, balanced with its peers'.
 * const options: SubsetOptions = { size: 20, clientId: 3 };
 * const picker$ = instances$.pipe(diff(), subset(options), roundRobin());
 * ```
 */
export interface SubsetOptions {
  /** How many members each client keeps: an integer from 1 (`Infinity` keeps them all). */
  readonly size: number;
  /**
   * Who this client is among the clients of the service. A number is an ordinal: give the
   * clients of a fleet consecutive ones (a StatefulSet ordinal, a shard or worker index) and
   * every backend serves as many clients as any other, ±1 per round of `floor(N / size)`
   * clients. A string is hashed to an ordinal: stable, but the balance is then only
   * statistical. Default: a hash of the host name and the process id, stable for the life of
   * the process and different between the processes of a host.
   */
  readonly clientId?: number | string;
}

/**
 * Keeps a deterministic subset of `size` members of the service for this client, and passes on
 * only the changes to that subset: a pipe between `diff()` and a policy, so that a client of a
 * large fleet connects to `size` backends rather than to all of them.
 *
 * <span class="informal">`diff()`'s batches, filtered down to the members this client
 * keeps.</span>
 *
 * ```
 * source:  -a-----b-----c-----|     a = [+A, +B, +C, +D]   b = [-A]   c = [-C]
 *           subset({ size: 2, clientId: 0 })
 * output:  -x-----------y-----|     x = [+C, +D]                      y = [-C, +B]
 * ```
 *
 * ![subset: a departure moves only the clients that had it](../../docs/marbles/subset-a-departure-moves-only-the-clients-that-had-it-by-one-member.svg)
 *
 * **What it built, and why.** A client with no subset yet (the first batch) gets the one of
 * Google's deterministic subsetting (SRE book, "Load Balancing in the Datacenter"): backends
 * are dealt in rounds of `floor(N / size)` disjoint subsets, each round in its own hashed
 * order, and client `clientId` takes its slice of its round. Consecutive ordinals thus spread
 * evenly: 100 clients with subsets of 10 out of 300 backends give every backend 3 or 4 clients.
 * That scheme alone reshuffles slices whenever a backend comes or goes, and Finagle's
 * deterministic aperture (clients and evenly spaced backends on a ring) shifts every window a
 * little; both trade churn for balance on each change. This operator trades the other way
 * round, keeping connections: from then on it changes its subset only as follows.
 * - A member leaves: it is replaced by one backend of the subset Google's scheme would deal
 *   this client now, one it does not hold yet (which one: by a hash of the client and the
 *   backend, so that the clients that pass through one slot of a round as the fleet resizes do
 *   not all pile onto its first backend). A backend leaving moves only the clients that had it,
 *   by one member each; the others do not change at all.
 * - A backend joins: if Google's scheme would now deal it to this client, it takes it in place
 *   of the longest-held member that the scheme would not deal it. In each round one client at
 *   most is dealt a given backend, so a newcomer draws about `M · size / N` clients (its fair
 *   share), each moving by one member; the others do not change.
 * - Fewer than `size` members (at the start, or while the service has fewer than `size`
 *   backends): it takes members as they come, up to `size`.
 * - An `add` for a kept member (new attributes, such as a weight) passes through.
 *
 * Balance therefore holds exactly for a fleet that starts together, and survives single
 * changes; long churn wears it down, since every replacement is a client's own guess (bench/:
 * after a rolling replacement of all 300 backends under 100 clients of 10, backends serve 0 to
 * 6 clients around a mean of 3.3, where dealing again on each change keeps 3 or 4 but moves 50
 * times as many connections). A client that restarts takes the balanced subset of the moment.
 *
 * The output keeps `diff()`'s contract: applying a batch to the previous subset gives the next
 * (deletes first, then adds), the first batch comes even when empty, later batches come only
 * when the subset changed, and each carries discovery's status (see `createBalancedChannel()`).
 * Batches and their updates are frozen. The subset lives in the subscription: a resubscribed
 * pipeline starts afresh. A batch costs O(its size), unless a member left or a backend joined:
 * then the deal is worked out again, in O(N log N) for N backends.
 *
 * ## Example
 *
 * ```ts
 * import { consulInstances$, createBalancedChannel, diff, roundRobin, subset } from 'rxlb';
 *
 * // Pod "greeter-client-7" of a StatefulSet: ordinal 7 of the fleet.
 * const ordinal = Number(process.env.HOSTNAME?.split('-').at(-1) ?? 0);
 * const picker$ = consulInstances$('greeter').pipe(
 *   diff(),
 *   subset({ size: 10, clientId: ordinal }),
 *   roundRobin(),
 * );
 * const channel = createBalancedChannel(picker$); // 10 connections, whatever the fleet's size
 * ```
 *
 * @param options See {@link SubsetOptions}. Validated at once: a missing or non-integer
 * `size`, a `clientId` that is neither a non-negative safe integer nor a non-empty string, or an
 * unknown key throws a `TypeError` naming the option.
 * @see [All subset() marble diagrams](https://github.com/rxlb/rxlb/tree/main/docs/marbles)
 *
 * @return A function that returns an Observable of batches of {@link Update}s of the subset.
 */
export function subset(
  options: SubsetOptions,
): OperatorFunction<readonly Update[], readonly Update[]> {
  const caller = 'subset()';
  const reader = readOptions(caller, options, ['size', 'clientId']);
  const size =
    reader.number('size', { min: 1, integer: true }) ?? reader.fail('size', 'an integer >= 1');
  const clientId = reader.raw('clientId');
  let ordinal: number;
  if (clientId === undefined) ordinal = hash32(`${hostname()}/${process.pid}`);
  else if (typeof clientId === 'string' && clientId !== '') ordinal = hash32(clientId);
  else if (typeof clientId === 'number' && Number.isSafeInteger(clientId) && clientId >= 0) {
    ordinal = clientId;
  } else reader.fail('clientId', 'a non-negative safe integer or a non-empty string');
  return (source) =>
    defer(() => {
      const keeper = new SubsetKeeper(caller, ordinal, size);
      return source.pipe(
        map((batch) => keeper.apply(batch)),
        filter((batch, index) => index === 0 || batch.length > 0),
      );
    });
}

/** One subscription's members and subset. */
class SubsetKeeper {
  readonly #all = new Map<Address, Instance>();
  /** The subset, in the order members were taken: the first is the longest held. */
  readonly #kept = new Set<Address>();

  constructor(
    private readonly caller: string,
    private readonly ordinal: number,
    private readonly size: number,
  ) {}

  /** Applies `batch` to the members and returns the changes to the subset. */
  apply(batch: readonly Update[]): readonly Update[] {
    const all = this.#all;
    const kept = this.#kept;
    const joined = batch.filter((update) => update.op === 'add' && !all.has(update.address));
    applyUpdates(this.caller, all, batch);
    const dropped: Address[] = [];
    const taken: Address[] = [];
    for (const address of kept) {
      if (!all.has(address)) {
        kept.delete(address);
        dropped.push(address);
      }
    }
    const wanted = Math.min(this.size, all.size);
    if (kept.size < wanted || joined.length > 0) {
      const ideal = idealSubset(this.ordinal, [...all.keys()], this.size);
      const mine = [...ideal].sort((a, b) => hash32(a, this.ordinal) - hash32(b, this.ordinal));
      for (const address of mine) {
        if (kept.size >= wanted) break;
        if (!kept.has(address)) taken.push(address);
        kept.add(address);
      }
      const dealt = new Set(ideal);
      for (const { address } of joined) {
        if (!dealt.has(address) || kept.has(address) || !all.has(address)) continue;
        const given = [...kept].find((member) => !dealt.has(member));
        if (given === undefined) continue; // cannot happen: kept is full and lacks `address`
        kept.delete(given);
        dropped.push(given);
        kept.add(address);
        taken.push(address);
      }
    }
    return this.#changes(batch, dropped, taken);
  }

  #changes(batch: readonly Update[], dropped: Address[], taken: Address[]): readonly Update[] {
    const changes: Update[] = withDiscovery([], discoveryOf(batch));
    for (const address of dropped) changes.push(Object.freeze({ op: 'delete', address }));
    const added = new Set(taken);
    for (const update of batch) {
      // a kept member's new attributes; taken members come below with their latest
      if (update.op === 'add' && this.#kept.has(update.address) && !added.has(update.address)) {
        changes.push(update);
      }
    }
    for (const address of taken) {
      const instance = this.#all.get(address);
      if (instance) changes.push(Object.freeze({ op: 'add', address, instance }));
    }
    return Object.freeze(changes);
  }
}
