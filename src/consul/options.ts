import {
  type FailFastOptions,
  type FallbackOptions,
  type KeepLastOptions,
  NOBODY_KEYS,
  type NobodySettings,
  type PanicOptions,
  readNobodySettings,
} from '../operators/internal/nobody-options.js';
import { isRecord, type OptionReader, readArguments, readOptions } from '../read-options.js';
import { type Instruments, instruments } from '../telemetry/instruments.js';
import { type MeterProviderLike, readMeterProvider } from '../telemetry/meter.js';
import type { HealthServiceQuery } from './client.js';
import {
  CONNECTION_KEYS,
  type ConsulConnectionOptions,
  type ConsulEndpoint,
  resolveEndpoint,
} from './connection.js';
import type { ConsulError } from './errors.js';
import {
  type FailoverOptions,
  type FailoverSettings,
  type FailoverStatus,
  readFailover,
} from './failover-options.js';
import type { SkippedEntry } from './health.js';

/**
 * What `consulInstances$` serves when Consul says nobody is healthy: {@link whenNobody}'s
 * options, without `registered$`: for `fallback` and `panic` the watch follows every
 * registered instance itself (the same query with `passing=false`).
 *
 * @example
 * ```ts
 * const whenNobody: ConsulNobodyOptions = { policy: 'panic', thresholdPercent: 30 };
 * consulInstances$('greeter', { whenNobody });
 * ```
 */
export type ConsulNobodyOptions =
  | KeepLastOptions
  | FailFastOptions
  | Omit<FallbackOptions, 'registered$'>
  | Omit<PanicOptions, 'registered$'>;

/** Backoff between failed attempts: exponential from `initialMs` up to `maxMs`, with jitter. */
export interface BackoffOptions {
  /** First retry delay in ms. Default 100. */
  readonly initialMs?: number;
  /** Ceiling of the delay in ms. Default 30 000. */
  readonly maxMs?: number;
}

/** One failed attempt, as `onError` reports it. The stream itself never errors. */
export interface ConsulFailure {
  readonly service: string;
  /**
   * The datacenter whose query failed: the `dc` option or a `failover` datacenter; undefined
   * for the agent's own when its name is not known.
   */
  readonly datacenter: string | undefined;
  readonly error: ConsulError;
  /** 1 for the first failure after a success (or after the start), then 2, 3, ... */
  readonly attempt: number;
  /** How long the watch waits before the next attempt, jitter included. */
  readonly nextDelayMs: number;
}

/**
 * The freshness of what a watch serves, as `onStatus` reports it after every answer and
 * every failure.
 */
export interface ConsulStatus {
  readonly service: string;
  /** `'ok'` after a good answer; `'retrying'` while attempts fail (the last set is served). */
  readonly state: 'ok' | 'retrying';
  /** The blocking index the watch holds. */
  readonly index: number;
  /**
   * Instances in the set this subscription serves now: after its `whenNobody` policy (a
   * kept-last set, every registered instance...), and the last good one while attempts fail.
   */
  readonly instances: number;
  /** `Date.now()` of the last good answer; undefined before the first. */
  readonly lastSuccessAt: number | undefined;
  /** `X-Consul-KnownLeader` of the last good answer. */
  readonly knownLeader: boolean | undefined;
  /** `X-Consul-LastContact` (ms) of the last good answer: how stale a `stale` read may be. */
  readonly lastContactMs: number | undefined;
  /** Failures since the last good answer. */
  readonly consecutiveFailures: number;
  /** The most recent failure while `state` is `'retrying'`. */
  readonly lastError: ConsulError | undefined;
  /** Entries of the last good answer that could not become instances. */
  readonly skipped: readonly SkippedEntry[];
  /**
   * The datacenter of the watch that answered or failed (what `state`, `index`, `lastError`
   * and the other fields of its loop are about): the `dc` option or, with `failover`, each
   * watched datacenter in turn; undefined for the agent's own when its name is not known.
   */
  readonly datacenter: string | undefined;
  /** With `failover`: which datacenter is served and why, and how each one is doing. */
  readonly failover?: FailoverStatus;
}

/** Options of {@link consulInstances$}. */
export interface ConsulInstancesOptions extends ConsulConnectionOptions {
  /**
   * Only instances whose every check passes. Default `true`. With `false`, an instance whose
   * checks do not all pass comes weighted by its `Weights.Warning` rather than `Passing`.
   */
  readonly passing?: boolean;
  /** Only instances that carry all of these tags. */
  readonly tags?: readonly string[];
  /** Datacenter to query. Default: the agent's. */
  readonly dc?: string;
  /** Only instances on nodes with all of these metadata pairs. */
  readonly nodeMeta?: Readonly<Record<string, string>>;
  /** A Consul filter expression, e.g. `'Service.Meta.version == "2"'`. */
  readonly filter?: string;
  /** Sort by round-trip time from this node (`'_agent'` for the local agent). */
  readonly near?: string;
  /** Read consistency. Default `'default'`. */
  readonly consistency?: 'default' | 'stale' | 'consistent';
  /**
   * How long one blocking query may wait for a change: ms, or a duration like `'30s'`,
   * `'5m'`. Default 5 minutes, at most 10 minutes.
   */
  readonly wait?: number | string;
  /** Retry delays after failures. */
  readonly backoff?: BackoffOptions;
  /** Minimum time between the starts of two queries, in ms. Default 50. */
  readonly minIntervalMs?: number;
  /** Called for each failed attempt. */
  readonly onError?: (failure: ConsulFailure) => void;
  /** Called after every answer and every failure. */
  readonly onStatus?: (status: ConsulStatus) => void;
  /**
   * Where the watch's metrics go (`rxlb.discovery.*`, see docs/metrics.md): an
   * OpenTelemetry `MeterProvider`. Default: the global one of `@opentelemetry/api`, if the
   * application has it; nothing without it.
   */
  readonly meterProvider?: MeterProviderLike;
  /**
   * What to serve when Consul says that nobody is healthy: see {@link whenNobody}. Default:
   * keep the last non-empty set for 30 s (`{ policy: 'keep-last', graceMs: 30_000 }`) and
   * report it to `onReport`; `false` passes empty sets on at once. For `fallback` and `panic`
   * the watch also follows every registered instance (the same query with `passing=false`).
   */
  readonly whenNobody?: ConsulNobodyOptions | false;
  /**
   * Datacenters to fail over to, in order of preference, or `{ datacenters, minHealthy }`.
   * Home (the `dc` option, else the agent's datacenter, asked once of `/v1/agent/self`) is
   * served while it has `minHealthy` (default 1) healthy instances; otherwise the first
   * datacenter in the list that has; home again as soon as it has. Each datacenter is
   * watched by its own blocking-query loop, so a failover needs no request of its own.
   * `whenNobody` acts only when no datacenter has anyone healthy (`'panic'` is refused: use
   * `minHealthy`). Default: no failover.
   */
  readonly failover?: readonly string[] | FailoverOptions;
  /**
   * Instances of a datacenter other than the agent's come at their WAN address, as with
   * Consul's `translate_wan_addrs`: `Service.TaggedAddresses.wan` (its port too, when it has
   * one), else `Service.Address`, else `Node.TaggedAddresses.wan`. Turn it on when this client
   * reaches other datacenters (`failover`, or `dc` naming another) only through their WAN
   * addresses. Instances of the agent's datacenter keep their LAN address. The agent's
   * datacenter is asked once of `/v1/agent/self` when a query names a `dc`; while it is
   * unknown, every query with `dc` is translated. Default `false`, as Consul's.
   *
   * @example
   * ```ts
   * consulInstances$('greeter', { failover: ['dc2'], translateWanAddresses: true });
   * ```
   */
  readonly translateWanAddresses?: boolean;
  /**
   * The cluster peer whose imported instances to watch (Consul 1.14+ cluster peering), sent
   * as `peer=`: the instances the peer exports to this cluster, as Consul holds them. A peer
   * name is a DNS label. Not with `failover` (a peer is another cluster, not a datacenter of
   * this one: watch each peer's service with its own call) nor `translateWanAddresses` (a
   * peer's addresses are those it exports). Default: this cluster's own instances.
   *
   * @example
   * ```ts
   * consulInstances$('greeter', { peer: 'cluster-02' });
   * ```
   */
  readonly peer?: string;
  /**
   * The Consul Enterprise namespace to watch, sent as `ns=`. Consul CE refuses it with `400
   * Bad request: Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature`,
   * which the watch reports to `onError` and retries. Default: the token's namespace, else
   * `default`.
   *
   * @example
   * ```ts
   * consulInstances$('greeter', { namespace: 'team-a', partition: 'web' });
   * ```
   */
  readonly namespace?: string;
  /**
   * The Consul Enterprise admin partition to watch, sent as `partition=`; Consul CE refuses it
   * as it refuses `namespace`. Default: the token's partition, else `default`.
   */
  readonly partition?: string;
}

/** Defaults of {@link ConsulInstancesOptions}, in one place. */
export const WATCH_DEFAULTS = Object.freeze({
  passing: true,
  consistency: 'default',
  waitMs: 5 * 60_000,
  maxWaitMs: 10 * 60_000,
  backoff: Object.freeze({ initialMs: 100, maxMs: 30_000 }),
  minIntervalMs: 50,
  translateWanAddresses: false,
  /** Added to wait + wait/16 for the HTTP timeout: network and server time. */
  timeoutMarginMs: 1_000,
  /**
   * The HTTP timeout of a query that does not block (the first, or the one after an index
   * reset), when that is shorter than the blocking one: Consul answers those at once.
   */
  readTimeoutMs: 10_000,
} as const);

/** Everything the watch loop needs, validated. */
export interface WatchConfig {
  readonly endpoint: ConsulEndpoint;
  readonly query: Omit<HealthServiceQuery, 'index'>;
  /** The HTTP timeout of a blocking query: wait + wait/16 + a margin. */
  readonly timeoutMs: number;
  /** The HTTP timeout of a query without an index, which Consul answers at once. */
  readonly readTimeoutMs: number;
  readonly backoff: Required<BackoffOptions>;
  readonly minIntervalMs: number;
  readonly onError: ((failure: ConsulFailure) => void) | undefined;
  readonly onStatus: ((status: ConsulStatus) => void) | undefined;
  /** The empty-set policy; undefined for `whenNobody: false`. */
  readonly nobody: NobodySettings | undefined;
  readonly metrics: Instruments;
  /** Datacenters to fail over to; undefined without failover. */
  readonly failover: FailoverSettings | undefined;
  /**
   * Whether the loop's sockets and timers keep the process alive: yes for the watches a user
   * subscribes to (an open subscription is work, as a balanced channel's is until `close()`);
   * no for those of `consul:` channels, whose resolvers must not, as grpc-js's own do not.
   */
  readonly keepsProcessAlive: boolean;
  /** The `translateWanAddresses` option. */
  readonly translateWanAddresses: boolean;
  /** Whether this loop's instances take their WAN address (see `translatedWatch`). */
  readonly translateWan: boolean;
}

const KNOWN = [
  ...CONNECTION_KEYS,
  'passing',
  'tags',
  'dc',
  'nodeMeta',
  'filter',
  'near',
  'consistency',
  'wait',
  'backoff',
  'minIntervalMs',
  'onError',
  'onStatus',
  'whenNobody',
  'meterProvider',
  'failover',
  'translateWanAddresses',
  'peer',
  'namespace',
  'partition',
];

/** A DNS label, as Consul requires of peer, namespace and partition names. */
const LABEL = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]{0,61}[a-zA-Z0-9])$/;

/** Reads a peer, namespace or partition name: a DNS label. */
export function readLabel(o: OptionReader, key: string): string | undefined {
  return o.parse(key, 'a DNS label (letters, digits and "-", at most 63)', (value) =>
    typeof value === 'string' && LABEL.test(value) ? value : undefined,
  );
}

function readNodeMeta(o: OptionReader): readonly string[] {
  const value = o.raw('nodeMeta');
  if (value === undefined) return [];
  const expected = 'an object of string values with non-empty keys free of ":"';
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    o.fail('nodeMeta', expected);
  return Object.entries(value).map(([key, item]) => {
    if (key === '' || key.includes(':') || typeof item !== 'string') o.fail('nodeMeta', expected);
    return `${key}:${item}`;
  });
}

function readBackoff(o: OptionReader): Required<BackoffOptions> {
  const b = o.nested('backoff', ['initialMs', 'maxMs']);
  if (b === undefined) return WATCH_DEFAULTS.backoff;
  const initialMs = b.ms('initialMs', { min: 1 }) ?? WATCH_DEFAULTS.backoff.initialMs;
  const maxMs = b.ms('maxMs', { min: 1 }) ?? Math.max(WATCH_DEFAULTS.backoff.maxMs, initialMs);
  if (maxMs < initialMs) b.fail('maxMs', `>= backoff.initialMs (${initialMs})`);
  return { initialMs, maxMs };
}

function readNobody(o: OptionReader): NobodySettings | undefined {
  const chosen = o.raw('whenNobody');
  if (chosen === false) return undefined;
  if (chosen !== undefined && !isRecord(chosen)) o.fail('whenNobody', 'an object or false');
  const nobody = o.nested('whenNobody', NOBODY_KEYS) ?? readOptions(o.caller, {}, []);
  if (nobody.has('registered$')) {
    nobody.unknown('registered$', '(rxlb watches the registered instances itself)');
  }
  return readNobodySettings(nobody);
}

/**
 * Validates the arguments of {@link consulInstances$} once, at call time: a permanent
 * misuse is a synchronous `TypeError` naming the caller and the option, never a retry loop.
 */
export function resolveWatchConfig(
  service: unknown,
  options?: unknown,
  caller = 'consulInstances$()',
): WatchConfig {
  const args = readArguments(caller, { service });
  const name = args.string('service') ?? args.missing('service', 'a non-empty string');
  const o = readOptions(caller, options, KNOWN);
  const waitMs = Math.round(
    o.duration('wait', { min: 1, max: WATCH_DEFAULTS.maxWaitMs }) ?? WATCH_DEFAULTS.waitMs,
  );
  const timeoutMs = waitMs + Math.ceil(waitMs / 16) + WATCH_DEFAULTS.timeoutMarginMs;
  const dc = o.string('dc');
  const failover = readFailover(o, dc);
  const nobody = readNobody(o);
  if (failover && nobody?.policy === 'panic') {
    // panic compares one datacenter's healthy and registered instances: failover comes first
    throw new TypeError(
      `${caller}: option "whenNobody.policy" "panic" does not combine with "failover": set "failover.minHealthy" to fail over below a count, and "fallback" for when no datacenter has anyone healthy`,
    );
  }
  const peer = readLabel(o, 'peer');
  const translateWanAddresses =
    o.boolean('translateWanAddresses') ?? WATCH_DEFAULTS.translateWanAddresses;
  if (peer !== undefined && failover) {
    throw new TypeError(
      `${caller}: option "peer" does not combine with "failover": a peer is another cluster, not a datacenter of this one; watch each peer's instances with a call of their own`,
    );
  }
  if (peer !== undefined && translateWanAddresses) {
    throw new TypeError(
      `${caller}: option "peer" does not combine with "translateWanAddresses": a peer's instances come at the addresses it exports, which are not translated`,
    );
  }
  return {
    endpoint: resolveEndpoint(o),
    query: {
      service: name,
      passing: o.boolean('passing') ?? WATCH_DEFAULTS.passing,
      tags: o.strings('tags'),
      dc,
      nodeMeta: readNodeMeta(o),
      filter: o.string('filter'),
      near: o.string('near'),
      consistency:
        o.oneOf('consistency', ['default', 'stale', 'consistent']) ?? WATCH_DEFAULTS.consistency,
      peer,
      namespace: readLabel(o, 'namespace'),
      partition: readLabel(o, 'partition'),
      waitMs,
    },
    timeoutMs,
    readTimeoutMs: Math.min(timeoutMs, WATCH_DEFAULTS.readTimeoutMs),
    backoff: readBackoff(o),
    minIntervalMs: o.ms('minIntervalMs') ?? WATCH_DEFAULTS.minIntervalMs,
    onError: o.function<(failure: ConsulFailure) => void>('onError'),
    onStatus: o.function<(status: ConsulStatus) => void>('onStatus'),
    nobody,
    failover,
    translateWanAddresses:
      o.boolean('translateWanAddresses') ?? WATCH_DEFAULTS.translateWanAddresses,
    translateWan: false,
    metrics: instruments(readMeterProvider(o)),
    keepsProcessAlive: true,
  };
}
