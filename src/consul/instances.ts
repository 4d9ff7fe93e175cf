import { setTimeout as sleep } from 'node:timers/promises';
import { defer, Observable, tap } from 'rxjs';
import { type DiscoveryStatus, withDiscovery } from '../discovery.js';
import { type InstanceSet, sameInstance } from '../instance.js';
import { notify } from '../notify.js';
import { backoffDelay } from './backoff.js';
import { ConsulClient } from './client.js';
import { ConsulError } from './errors.js';
import { datacenterSets } from './failover.js';
import { mapHealthEntries, type SkippedEntry } from './health.js';
import {
  type ConsulFailure,
  type ConsulInstancesOptions,
  type ConsulStatus,
  resolveWatchConfig,
  type WatchConfig,
} from './options.js';
import { serveWhenNobody } from './serve-when-nobody.js';
import { translatedWatch } from './wan-addresses.js';

/**
 * Watches the healthy instances of a Consul service: a cold Observable that emits the
 * first set as soon as Consul answers, then a new set each time it changes.
 *
 * Each subscription runs its own loop of blocking queries on `/v1/health/service/:service`
 * and unsubscribing stops it: the request in flight is aborted at once and no timer is left,
 * so a process whose only work was the subscription exits by itself.
 *
 * The loop follows Consul's blocking-query rules: it sends back the last `X-Consul-Index`
 * with `wait`, and its HTTP timeout covers `wait` plus Consul's jitter (wait/16); an
 * unchanged index emits nothing; an index that goes backwards resets to 0; an index of 0 or
 * none is treated as 1; two queries never start less than `minIntervalMs` apart. Refused
 * connections, timeouts, 5xx, 429, 403 and malformed bodies are retried with exponential
 * backoff and jitter while the stream stays alive and keeps its last set: it never errors.
 * Each failure reaches `onError`; `onStatus` tells how fresh the served set is. If the first
 * attempt fails, an empty set is emitted at once, marked as unresolved with the error, so
 * that a balanced channel fails calls with the cause (`UNAVAILABLE: health query for
 * "greeter" at http://127.0.0.1:8500 failed: ECONNREFUSED`) rather than holding them, as
 * grpc-js does on a resolver error; `waitForReady` calls wait, and the first answer replaces
 * it.
 *
 * When Consul says that nobody is healthy, the `whenNobody` option decides what is served
 * (see {@link whenNobody}): by default the last non-empty set stays served for 30 s and
 * `onReport` hears why; `{ policy: 'fallback' }` or `{ policy: 'panic' }` also watch every
 * registered instance (`passing=false`); `false` emits the empty set at once. An empty
 * first set is emitted at once. To share one watch between many subscribers, use
 * `sharedConsulInstances$`.
 *
 * With `failover: ['dc2', 'dc3']`, home (the `dc` option, else the agent's datacenter, asked
 * once of `/v1/agent/self`) and each datacenter of the list are watched by their own loop,
 * and {@link chooseDatacenter} serves home while it has `minHealthy` (default 1) healthy
 * instances, else the first datacenter of the list that has, and home again as soon as it
 * has: a failover takes no request of its own. Every instance carries its `datacenter`;
 * `onStatus` hears each loop, with the datacenter served and why; `whenNobody` acts only when
 * no datacenter has anyone healthy.
 *
 * With `translateWanAddresses`, instances of a datacenter other than the agent's come at their
 * WAN addresses, as with Consul's `translate_wan_addrs`. `peer` watches the instances a
 * cluster peer exports to this cluster; `namespace` and `partition` a Consul Enterprise
 * namespace and admin partition.
 *
 * Connection settings default to Consul's environment variables (`CONSUL_HTTP_ADDR`,
 * `CONSUL_HTTP_TOKEN`, `CONSUL_HTTP_SSL`, `CONSUL_CACERT`, `CONSUL_CLIENT_CERT`,
 * `CONSUL_CLIENT_KEY`); the token travels only in the `X-Consul-Token` header.
 *
 * @param service The Consul service name.
 * @param options Filters, connection, timing and observers; see {@link ConsulInstancesOptions}.
 * @throws TypeError at call time, naming the option, for an empty service name or a bad option.
 *
 * @example
 * ```ts
 * import { consulInstances$, diff, roundRobin } from 'rxlb';
 *
 * const picker$ = consulInstances$('greeter', {
 *   tags: ['v2'],
 *   onError: ({ error, attempt, nextDelayMs }) =>
 *     console.warn(`consul: ${error.message} (attempt ${attempt}, retry in ${nextDelayMs} ms)`),
 *   whenNobody: {
 *     policy: 'panic', // below 50 % healthy, serve every registered instance
 *     onReport: ({ mode, reason }) => console.warn(`greeter: serving ${mode}: ${reason}`),
 *   },
 * }).pipe(diff(), roundRobin());
 * ```
 */
export function consulInstances$(
  service: string,
  options?: ConsulInstancesOptions,
): Observable<InstanceSet> {
  const config = resolveWatchConfig(service, options);
  const { watch, agent$ } = translatedWatch(config, watchSets);
  return servedWithStatus(config, (onStatus) =>
    datacenterSets({ ...config, onStatus }, watch, agent$).pipe(serveWhenNobody(config, watch)),
  );
}

/**
 * `serve(onStatus)`, with `onStatus` reporting as `instances` the size of the set the
 * subscription serves after its whenNobody policy (a kept-last set, a fallback), rather than
 * the size of Consul's healthy answer: what a subscriber sees and what it is told agree.
 * Statuses come after the set of the same answer has gone through the policy.
 */
export function servedWithStatus(
  config: WatchConfig,
  serve: (onStatus: WatchConfig['onStatus']) => Observable<InstanceSet>,
): Observable<InstanceSet> {
  const { onStatus } = config;
  if (!onStatus) return serve(undefined);
  return defer(() => {
    let served: InstanceSet | undefined;
    const told = (status: ConsulStatus) =>
      onStatus(served === undefined ? status : { ...status, instances: served.size });
    return serve(told).pipe(
      tap((set) => {
        served = set;
      }),
    );
  });
}

/** The sets of one blocking-query loop per subscription, before any empty-set policy. */
export function watchSets(config: WatchConfig): Observable<InstanceSet> {
  return new Observable<InstanceSet>((subscriber) => {
    const controller = new AbortController();
    const client = new ConsulClient(config.endpoint, config);
    watch(config, client, controller.signal, (set) => subscriber.next(set)).catch((error) => {
      if (!controller.signal.aborted) subscriber.error(error);
    });
    return () => {
      controller.abort();
      client.close();
    };
  });
}

function sameSet(a: InstanceSet, b: InstanceSet): boolean {
  if (a.size !== b.size) return false;
  for (const [address, instance] of a) {
    const other = b.get(address);
    if (!other || !sameInstance(instance, other)) return false;
  }
  return true;
}

/** Consul's index rules: reset to 0 when it goes backwards, never 0 or missing after. */
function nextIndex(sent: number, received: number | undefined): number {
  if (received === undefined || received < 1) return 1;
  return received < sent ? 0 : received;
}

/** A subscription's word to the channel: see `discovery.ts`. */
type Discovery = { -readonly [K in keyof DiscoveryStatus]: DiscoveryStatus[K] };

async function watch(
  config: WatchConfig,
  client: ConsulClient,
  signal: AbortSignal,
  emitSet: (set: InstanceSet) => void,
): Promise<void> {
  const { service } = config.query;
  const discovery: Discovery = { service, unresolved: undefined, index: undefined };
  const { metrics } = config;
  const attributes = metrics.enabled
    ? {
        'rxlb.service': service,
        // each loop of a failover watch is its own datacenter's
        ...(config.query.dc !== undefined && { 'rxlb.datacenter': config.query.dc }),
      }
    : undefined;
  const emit = (set: InstanceSet) => emitSet(withDiscovery(set, discovery));
  let index = 0;
  let served: InstanceSet | undefined;
  let lastStart = Number.NEGATIVE_INFINITY;
  let failures = 0;
  let lastError: ConsulError | undefined;
  let lastSuccessAt: number | undefined;
  let knownLeader: boolean | undefined;
  let lastContactMs: number | undefined;
  let skipped: readonly SkippedEntry[] = [];

  const { dc: datacenter } = config.query;
  const status = (): ConsulStatus => ({
    service,
    datacenter,
    state: failures === 0 ? 'ok' : 'retrying',
    index,
    instances: served?.size ?? 0,
    lastSuccessAt,
    knownLeader,
    lastContactMs,
    consecutiveFailures: failures,
    lastError: failures === 0 ? undefined : lastError,
    skipped,
  });

  while (!signal.aborted) {
    const gap = lastStart + config.minIntervalMs - performance.now();
    if (gap > 0) await sleep(gap, undefined, { signal, ref: config.keepsProcessAlive });
    lastStart = performance.now();
    try {
      // a query without an index does not block: a short timeout finds a stuck Consul fast
      const timeoutMs = index > 0 ? config.timeoutMs : config.readTimeoutMs;
      const answer = await client.healthService({ ...config.query, index }, timeoutMs, signal);
      const unchanged = index > 0 && answer.meta.index === index;
      let changed: InstanceSet | undefined;
      if (!unchanged) {
        const mapping = mapHealthEntries(answer.body, config.translateWan);
        if (!mapping) {
          throw new ConsulError(
            'ERR_CONSUL_BAD_RESPONSE',
            `health query for "${service}" at ${client.origin} returned a body that is not a JSON array`,
          );
        }
        index = nextIndex(index, answer.meta.index);
        skipped = mapping.skipped;
        if (!served || !sameSet(served, mapping.instances)) changed = mapping.instances;
      }
      served = changed ?? served;
      // before the set goes out: whoever receives it reads this answer's word on it
      discovery.unresolved = undefined;
      discovery.index = answer.meta.index;
      failures = 0;
      lastSuccessAt = Date.now();
      knownLeader = answer.meta.knownLeader;
      lastContactMs = answer.meta.lastContactMs;
      // the set first: the status says how many instances the subscriber now serves
      if (changed) {
        if (attributes) metrics.discoveryUpdates.add(1, attributes);
        emit(changed);
      }
      notify(config.onStatus, status());
    } catch (error) {
      if (signal.aborted) return;
      if (!(error instanceof ConsulError)) throw error;
      failures += 1;
      lastError = error;
      const nextDelayMs = backoffDelay(failures, config.backoff);
      const failure: ConsulFailure = {
        service,
        datacenter,
        error,
        attempt: failures,
        nextDelayMs,
      };
      if (attributes) metrics.discoveryFailures.add(1, { ...attributes, 'rxlb.error': error.code });
      notify(config.onError, failure);
      notify(config.onStatus, status());
      if (!served) {
        // As a grpc-js resolver error does: calls without waitForReady fail with the cause.
        const first = discovery.unresolved === undefined;
        discovery.unresolved = error.message;
        if (first) emit(new Map());
      }
      await sleep(nextDelayMs, undefined, { signal, ref: config.keepsProcessAlive });
    }
  }
}
