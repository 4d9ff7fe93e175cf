import { MAX_TIMER_MS, parseDuration } from '../duration.js';
import type { HealthServiceQuery } from './client.js';
import {
  type ConsulConnectionOptions,
  type ConsulEndpoint,
  resolveEndpoint,
} from './connection.js';
import type { ConsulError } from './errors.js';
import type { SkippedEntry } from './health.js';
import type { ConsulNobodyOptions } from './nobody.js';

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
  /** Instances in the set served now (the last good one). */
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
   * What to serve when Consul says that nobody is healthy: see {@link whenNobody}. Default:
   * keep the last non-empty set for 30 s (`{ policy: 'keep-last', graceMs: 30_000 }`) and
   * report it to `onReport`; `false` passes empty sets on at once. For `fallback` and `panic`
   * the watch also follows every registered instance (the same query with `passing=false`).
   */
  readonly whenNobody?: ConsulNobodyOptions | false;
}

/** Defaults of {@link ConsulInstancesOptions}, in one place. */
export const DEFAULTS = Object.freeze({
  passing: true,
  consistency: 'default',
  waitMs: 5 * 60_000,
  maxWaitMs: 10 * 60_000,
  backoff: Object.freeze({ initialMs: 100, maxMs: 30_000 }),
  minIntervalMs: 50,
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
}

const KNOWN = new Set([
  'address',
  'token',
  'tls',
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
]);
/** A bad option, said without the caller: {@link resolveWatchConfig} names the caller. */
class OptionError extends Error {}

function fail(option: string, expected: string): never {
  throw new OptionError(`option "${option}" must be ${expected}`);
}

function optionalString(value: unknown, option: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') fail(option, 'a non-empty string');
  return value;
}

function parseWait(value: unknown): number {
  if (value === undefined) return DEFAULTS.waitMs;
  const ms = parseDuration(value);
  if (ms === undefined || ms < 1 || ms > DEFAULTS.maxWaitMs) {
    fail(
      'wait',
      `a duration from 1ms to 10m (ms, or a string like "30s"), got ${JSON.stringify(value)}`,
    );
  }
  return Math.round(ms);
}

/** A delay in ms that a timer can honour: from `min` to {@link MAX_TIMER_MS}. */
function delayMs(value: unknown, option: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= min && value <= MAX_TIMER_MS)) {
    fail(option, `a number of ms from ${min} to ${MAX_TIMER_MS}`);
  }
  return value;
}

function parseBackoff(value: unknown): Required<BackoffOptions> {
  if (value === undefined) return DEFAULTS.backoff;
  if (typeof value !== 'object' || value === null) fail('backoff', 'an object');
  const { initialMs, maxMs, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw new OptionError(`unknown option "backoff.${unknown}"`);
  const initial = delayMs(initialMs, 'backoff.initialMs', DEFAULTS.backoff.initialMs, 1);
  const max = delayMs(maxMs, 'backoff.maxMs', Math.max(DEFAULTS.backoff.maxMs, initial), 1);
  if (max < initial) fail('backoff.maxMs', `>= backoff.initialMs (${initial})`);
  return { initialMs: initial, maxMs: max };
}

function parseNodeMeta(value: unknown): readonly string[] {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('nodeMeta', 'an object of string values');
  }
  return Object.entries(value).map(([key, item]) => {
    if (key === '' || key.includes(':') || typeof item !== 'string') {
      fail('nodeMeta', `an object of string values with keys free of ":" (bad key "${key}")`);
    }
    return `${key}:${item}`;
  });
}

function parseTags(value: unknown): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((tag) => typeof tag === 'string' && tag !== '')) {
    fail('tags', 'an array of non-empty strings');
  }
  return Object.freeze([...value]);
}

function callback<T>(value: unknown, option: string): ((arg: T) => void) | undefined {
  if (value !== undefined && typeof value !== 'function') fail(option, 'a function');
  return value as ((arg: T) => void) | undefined;
}

/**
 * Validates the arguments of {@link consulInstances$} once, at call time: a permanent
 * misuse is a synchronous `TypeError` naming the caller and the option, never a retry loop.
 */
export function resolveWatchConfig(
  service: unknown,
  options: unknown = {},
  caller = 'consulInstances$()',
): WatchConfig {
  try {
    return resolve(service, options, caller);
  } catch (error) {
    if (error instanceof OptionError) throw new TypeError(`${caller}: ${error.message}`);
    throw error;
  }
}

function resolve(service: unknown, options: unknown, caller: string): WatchConfig {
  if (typeof service !== 'string' || service.trim() === '') {
    throw new OptionError(`service must be a non-empty string, got ${JSON.stringify(service)}`);
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new OptionError('options must be an object');
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new OptionError(`unknown option "${key}"`);
  }
  if (o.passing !== undefined && typeof o.passing !== 'boolean') fail('passing', 'a boolean');
  const consistency = o.consistency ?? DEFAULTS.consistency;
  if (consistency !== 'default' && consistency !== 'stale' && consistency !== 'consistent') {
    fail('consistency', `"default", "stale" or "consistent", got ${JSON.stringify(consistency)}`);
  }
  const waitMs = parseWait(o.wait);
  const timeoutMs = waitMs + Math.ceil(waitMs / 16) + DEFAULTS.timeoutMarginMs;
  return {
    endpoint: resolveEndpoint(o as ConsulConnectionOptions, caller),
    query: {
      service,
      passing: (o.passing as boolean | undefined) ?? DEFAULTS.passing,
      tags: parseTags(o.tags),
      dc: optionalString(o.dc, 'dc'),
      nodeMeta: parseNodeMeta(o.nodeMeta),
      filter: optionalString(o.filter, 'filter'),
      near: optionalString(o.near, 'near'),
      consistency,
      waitMs,
    },
    timeoutMs,
    readTimeoutMs: Math.min(timeoutMs, DEFAULTS.readTimeoutMs),
    backoff: parseBackoff(o.backoff),
    minIntervalMs: delayMs(o.minIntervalMs, 'minIntervalMs', DEFAULTS.minIntervalMs),
    onError: callback<ConsulFailure>(o.onError, 'onError'),
    onStatus: callback<ConsulStatus>(o.onStatus, 'onStatus'),
  };
}
