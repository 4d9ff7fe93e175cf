/**
 * What `rxlb watch` reports: Consul's healthy set, each change to it and each discovery
 * fault, as one stream of events built on the public API (`consulInstances$` and `diff()`),
 * each with the index of its answer, which travels on the sets (`discovery.ts`).
 */
import { Observable } from 'rxjs';
import { type DiscoveryStatus, discoveryOf } from '../discovery.js';
import {
  type Address,
  type ConsulInstancesOptions,
  consulInstances$,
  diff,
  type Instance,
} from '../index.js';

interface EventBase {
  readonly time: Date;
  readonly service: string;
  /**
   * The `X-Consul-Index` of the last answer (0 before the first): for a set or a change, that
   * of the answer that brought it.
   */
  readonly index: number;
  /** The set after the event: for a fault, the one still served. */
  readonly instances: readonly Instance[];
}

/** The first answer: the set as it is. */
export interface CurrentEvent extends EventBase {
  readonly kind: 'current';
}

/** A later answer that changed the set. */
export interface ChangeEvent extends EventBase {
  readonly kind: 'change';
  readonly added: readonly Instance[];
  readonly removed: readonly Instance[];
  readonly changed: readonly { readonly before: Instance; readonly after: Instance }[];
}

/** A failed query; the watch retries after `retryInMs`. */
export interface FaultEvent extends EventBase {
  readonly kind: 'fault';
  readonly code: string;
  readonly message: string;
  readonly attempt: number;
  readonly retryInMs: number;
}

export type WatchEvent = CurrentEvent | ChangeEvent | FaultEvent;

/** The query of `rxlb watch`: what Consul is asked, never how the watch reports. */
export type WatchQuery = Pick<
  ConsulInstancesOptions,
  | 'address'
  | 'tags'
  | 'dc'
  | 'passing'
  | 'translateWanAddresses'
  | 'peer'
  | 'namespace'
  | 'partition'
>;

/**
 * The events of one watch of `service`. Empty sets are shown as Consul sends them (no
 * `whenNobody` policy): the command shows what Consul says.
 *
 * @throws TypeError at once for a bad query (an address that is not host:port...).
 */
export function watchEvents$(
  service: string,
  query: WatchQuery,
  now: () => Date = () => new Date(),
): Observable<WatchEvent> {
  const options: ConsulInstancesOptions = { ...query, whenNobody: false };
  consulInstances$(service, options); // checks the options now; it asks nothing until subscribed
  return new Observable<WatchEvent>((subscriber) => {
    // the word of discovery's last answer, which travels on the sets and their batches: read
    // when a batch arrives, its index is that of the answer that brought the batch
    let discovery: DiscoveryStatus | undefined;
    let first = true;
    const current = new Map<Address, Instance>();
    const base = () => ({
      time: now(),
      service,
      index: discovery?.index ?? 0,
      instances: [...current.values()],
    });
    return consulInstances$(service, {
      ...options,
      onError: ({ error, attempt, nextDelayMs }) => {
        const { code, message } = error;
        subscriber.next({
          kind: 'fault',
          ...base(),
          code,
          message,
          attempt,
          retryInMs: nextDelayMs,
        });
      },
    })
      .pipe(diff())
      .subscribe({
        next: (updates) => {
          discovery = discoveryOf(updates) ?? discovery;
          const added: Instance[] = [];
          const removed: Instance[] = [];
          const changed: { before: Instance; after: Instance }[] = [];
          for (const update of updates) {
            const before = current.get(update.address);
            if (update.op === 'delete') {
              if (before) removed.push(before);
              current.delete(update.address);
            } else {
              if (before) changed.push({ before, after: update.instance });
              else added.push(update.instance);
              current.set(update.address, update.instance);
            }
          }
          const event: WatchEvent = first
            ? { kind: 'current', ...base() }
            : { kind: 'change', ...base(), added, removed, changed };
          first = false;
          subscriber.next(event);
        },
        error: (error: unknown) => subscriber.error(error),
      });
  });
}
