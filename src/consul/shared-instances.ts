import { createHash } from 'node:crypto';
import { finalize, Observable, ReplaySubject, share } from 'rxjs';
import type { InstanceSet } from '../instance.js';
import { notify } from '../notify.js';
import { datacenterSets } from './failover.js';
import { servedWithStatus, watchSets } from './instances.js';
import {
  type ConsulFailure,
  type ConsulInstancesOptions,
  type ConsulStatus,
  resolveWatchConfig,
  type WatchConfig,
} from './options.js';
import { serveWhenNobody } from './serve-when-nobody.js';
import { translatedWatch } from './wan-addresses.js';

interface Listener {
  readonly onError: ((failure: ConsulFailure) => void) | undefined;
  readonly onStatus: ((status: ConsulStatus) => void) | undefined;
}

/** One blocking-query loop and the subscribers that share it. */
interface SharedWatch {
  readonly sets: Observable<InstanceSet>;
  readonly listeners: Set<Listener>;
  lastStatus: ConsulStatus | undefined;
}

const CALLER = 'sharedConsulInstances$()';

// Open watches only: a watch leaves this map when its last subscriber leaves.
const watches = new Map<string, SharedWatch>();

/**
 * Like {@link consulInstances$}, but every subscription in the process with the same service
 * and the same query shares one watch: one loop of blocking queries to Consul, however many
 * channels use it.
 *
 * Watches are keyed by the service and every setting that changes what is asked or how:
 * Consul's address, the token, TLS, `passing`, `tags`, `dc`, `nodeMeta`, `filter`, `near`,
 * `consistency`, `peer`, `namespace`, `partition`, `wait`, `backoff`, `minIntervalMs` and
 * whether the loop's addresses are translated (`translateWanAddresses`), after defaults and environment
 * variables are applied (so `{}` and `{ passing: true }` share). The key is a hash: the token
 * is not kept in it. The first subscriber starts the watch; a later one gets the latest set
 * at once, without a request; the watch stops (request aborted, no timer left) when the last
 * one leaves, and the next subscriber starts a new one.
 *
 * With `failover`, each datacenter's loop is shared the same way: between failover
 * subscribers, and with plain subscribers of that datacenter (home's loop asks without `dc`
 * unless the `dc` option is given, as a watch without failover does).
 *
 * `onError` and `onStatus` are not part of the key: each call's callbacks hear the shared
 * watch for as long as its subscription lasts. A subscriber that joins a running watch gets
 * its latest status at once, so it knows how fresh the replayed set is; failures reach
 * `onError` from then on. What a callback throws goes to RxJS's `onUnhandledError` and
 * neither stops the watch nor keeps the other callbacks from being called.
 *
 * @param service The Consul service name.
 * @param options As for {@link consulInstances$}.
 * @throws TypeError at call time, naming the option, for an empty service name or a bad option.
 *
 * @example
 * ```ts
 * import { diff, roundRobin, sharedConsulInstances$ } from 'rxlb';
 *
 * // Two clients of the same service: one watch, one blocking query at a time.
 * const greeter$ = sharedConsulInstances$('greeter', { tags: ['v2'] });
 * const unary = greeter$.pipe(diff(), roundRobin()).subscribe();
 * const streaming = sharedConsulInstances$('greeter', {
 *   tags: ['v2'],
 *   onStatus: ({ state, instances }) => console.log(`greeter: ${state}, ${instances} instances`),
 * })
 *   .pipe(diff(), roundRobin())
 *   .subscribe();
 * ```
 */
export function sharedConsulInstances$(
  service: string,
  options: ConsulInstancesOptions = {},
): Observable<InstanceSet> {
  return sharedInstancesOf(CALLER, service, options);
}

/**
 * {@link sharedConsulInstances$} on behalf of `caller`, the API the user called (e.g.
 * `registerConsulResolver()`), whose name its messages carry; with `keepsProcessAlive: false`
 * the loop's sockets and timers are unref'd (and it is shared only with watches like it).
 */
export function sharedInstancesOf(
  caller: string,
  service: string,
  options: ConsulInstancesOptions,
  { keepsProcessAlive = true } = {},
): Observable<InstanceSet> {
  const config = { ...resolveWatchConfig(service, options, caller), keepsProcessAlive };
  const { watch, agent$ } = translatedWatch(config, sharedSets);
  // the empty-set policy is each subscriber's own, applied after the shared watch
  return servedWithStatus(config, (onStatus) =>
    datacenterSets({ ...config, onStatus }, watch, agent$).pipe(serveWhenNobody(config, watch)),
  );
}

/**
 * The sets of the one loop shared by every subscriber with a config of the same key; this
 * subscriber's `onError` and `onStatus` hear it.
 */
function sharedSets(config: WatchConfig): Observable<InstanceSet> {
  const key = watchKey(config);
  return new Observable<InstanceSet>((subscriber) => {
    const watch = watches.get(key) ?? openWatch(key, config);
    const listener: Listener = { onError: config.onError, onStatus: config.onStatus };
    watch.listeners.add(listener);
    if (watch.lastStatus) notify(listener.onStatus, watch.lastStatus);
    const subscription = watch.sets.subscribe(subscriber);
    return () => {
      watch.listeners.delete(listener);
      subscription.unsubscribe();
    };
  });
}

/** Starts the one loop for `key`, with the config it was keyed by (no second validation). */
function openWatch(key: string, config: WatchConfig): SharedWatch {
  const listeners = new Set<Listener>();
  const watch: SharedWatch = {
    listeners,
    lastStatus: undefined,
    sets: watchSets({
      ...config,
      onError: (failure) => {
        for (const listener of [...listeners]) notify(listener.onError, failure);
      },
      onStatus: (status) => {
        watch.lastStatus = status;
        for (const listener of [...listeners]) notify(listener.onStatus, status);
      },
    }).pipe(
      finalize(() => {
        if (watches.get(key) === watch) watches.delete(key);
      }),
      share({ connector: () => new ReplaySubject<InstanceSet>(1) }),
    ),
  };
  watches.set(key, watch);
  return watch;
}

/** A hash of everything in the config that changes the query, callbacks left out. */
function watchKey(config: WatchConfig): string {
  const { endpoint, query, timeoutMs, backoff, minIntervalMs, translateWan, keepsProcessAlive } =
    config;
  const pem = (value: string | Buffer | undefined) =>
    Buffer.isBuffer(value) ? value.toString('utf8') : value;
  const tls = endpoint.tls && {
    ...endpoint.tls,
    ca: pem(endpoint.tls.ca),
    cert: pem(endpoint.tls.cert),
    key: pem(endpoint.tls.key),
  };
  // the order of tags and node-meta pairs does not change the answer
  const asked = { ...query, tags: [...query.tags].sort(), nodeMeta: [...query.nodeMeta].sort() };
  // an unref'd loop (a consul: channel's) and one that holds the process do not share
  const what = JSON.stringify([
    { ...endpoint, tls },
    asked,
    timeoutMs,
    backoff,
    minIntervalMs,
    translateWan,
    keepsProcessAlive,
  ]);
  return createHash('sha256').update(what).digest('hex');
}
