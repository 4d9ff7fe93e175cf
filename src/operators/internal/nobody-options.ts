import { asyncScheduler, isObservable, type Observable, type SchedulerLike } from 'rxjs';
import type { InstanceSet } from '../../instance.js';
import { type OptionReader, readOptions } from '../../read-options.js';

/** What {@link whenNobody} does when the healthy set is empty (or too thin, for `panic`). */
export type NobodyPolicy = 'keep-last' | 'fail-fast' | 'fallback' | 'panic';

/**
 * What {@link whenNobody} serves, as its reports name it:
 * - `healthy`: the healthy set as the source gave it;
 * - `kept-last`: the last non-empty healthy set, while the grace period runs;
 * - `empty`: an empty set (fail fast, grace period over, or nobody registered either);
 * - `fallback`: every registered instance, because none is healthy;
 * - `panic`: every registered instance, because too few are healthy.
 */
export type NobodyMode = 'healthy' | 'kept-last' | 'empty' | 'fallback' | 'panic';

/** Told each time {@link whenNobody} changes what kind of set it serves. */
export interface NobodyReport {
  readonly policy: NobodyPolicy;
  /** What it serves from now on. */
  readonly mode: NobodyMode;
  /** Why, in a sentence: `"no healthy instance: keeping the last 3 for up to 30000 ms"`. */
  readonly reason: string;
  /** Instances in the latest healthy set. */
  readonly healthy: number;
  /** Instances in the latest registered set; undefined without one (or before its first). */
  readonly registered: number | undefined;
  /** The set served from now on. */
  readonly served: InstanceSet;
}

interface CommonOptions {
  /**
   * Called each time the kind of set served changes (see {@link NobodyMode}), before the
   * set is emitted. What it throws errors the output, as in `tap()`.
   */
  readonly onReport?: (report: NobodyReport) => void;
}

/** Keep the last non-empty set for `graceMs`, then serve the empty one. The default. */
export interface KeepLastOptions extends CommonOptions {
  readonly policy?: 'keep-last';
  /** How long to keep the last good set, in ms; `Infinity` for ever. Default 30 000. */
  readonly graceMs?: number;
  /** Schedules the end of the grace period. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/** Pass an empty set through at once: calls fail fast. */
export interface FailFastOptions extends CommonOptions {
  readonly policy: 'fail-fast';
}

/** Serve every registered instance (healthy or not) while none is healthy. */
export interface FallbackOptions extends CommonOptions {
  readonly policy: 'fallback';
  /** Every registered instance, e.g. `consulInstances$(service, { passing: false })`. */
  readonly registered$: Observable<InstanceSet>;
}

/** Serve every registered instance while fewer than `thresholdPercent` % are healthy (Envoy). */
export interface PanicOptions extends CommonOptions {
  readonly policy: 'panic';
  /** Every registered instance, e.g. `consulInstances$(service, { passing: false })`. */
  readonly registered$: Observable<InstanceSet>;
  /** Panic below this share of healthy instances, 0 to 100 (0: never). Default 50. */
  readonly thresholdPercent?: number;
}

/** Options of {@link whenNobody}: one policy and its settings. */
export type WhenNobodyOptions = KeepLastOptions | FailFastOptions | FallbackOptions | PanicOptions;

/** Defaults of {@link WhenNobodyOptions}, in one place. */
const NOBODY_DEFAULTS = Object.freeze({
  policy: 'keep-last',
  graceMs: 30_000,
  thresholdPercent: 50,
  scheduler: asyncScheduler,
} as const);

/** The options but `registered$`, validated, with defaults filled in. */
export interface NobodySettings {
  readonly policy: NobodyPolicy;
  readonly graceMs: number;
  readonly scheduler: SchedulerLike;
  /** 0 for `fallback`: it substitutes only when nobody at all is healthy. */
  readonly thresholdPercent: number;
  readonly onReport: ((report: NobodyReport) => void) | undefined;
}

/** The options, validated, with defaults filled in. */
export interface NobodyConfig extends NobodySettings {
  readonly registered$: Observable<InstanceSet> | undefined;
}

const POLICIES: readonly NobodyPolicy[] = ['keep-last', 'fail-fast', 'fallback', 'panic'];
const KEYS: Readonly<Record<NobodyPolicy, readonly string[]>> = {
  'keep-last': ['policy', 'graceMs', 'scheduler', 'onReport'],
  'fail-fast': ['policy', 'onReport'],
  fallback: ['policy', 'registered$', 'onReport'],
  panic: ['policy', 'registered$', 'thresholdPercent', 'onReport'],
};
/** Every key of every policy. */
export const NOBODY_KEYS: readonly string[] = [...new Set(Object.values(KEYS).flat())];

function isScheduler(value: unknown): value is SchedulerLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SchedulerLike).schedule === 'function' &&
    typeof (value as SchedulerLike).now === 'function'
  );
}

/** Whether `policy` serves the registered instances when too few are healthy. */
export function needsRegistered(policy: NobodyPolicy): boolean {
  return policy === 'fallback' || policy === 'panic';
}

/**
 * Reads {@link whenNobody}'s options but `registered$` from `o` (a reader of the keys
 * {@link NOBODY_KEYS}), with a `TypeError` naming the bad one; a key another policy takes is
 * refused as unknown for this one.
 */
export function readNobodySettings(o: OptionReader): NobodySettings {
  const policy = o.oneOf('policy', POLICIES) ?? NOBODY_DEFAULTS.policy;
  const unknown = NOBODY_KEYS.find((key) => o.has(key) && !KEYS[policy].includes(key));
  if (unknown !== undefined) o.unknown(unknown, `for policy "${policy}"`);
  const scheduler = o.raw('scheduler') ?? NOBODY_DEFAULTS.scheduler;
  if (!isScheduler(scheduler)) o.fail('scheduler', 'an RxJS SchedulerLike');
  return {
    policy,
    // a finite delay beyond what a timer honours would fire at once: say Infinity for ever
    graceMs: o.ms('graceMs', { forever: true }) ?? NOBODY_DEFAULTS.graceMs,
    scheduler,
    thresholdPercent:
      o.number('thresholdPercent', { min: 0, max: 100 }) ??
      (policy === 'panic' ? NOBODY_DEFAULTS.thresholdPercent : 0),
    onReport: o.function<(report: NobodyReport) => void>('onReport'),
  };
}

/** Validates {@link whenNobody}'s options once, with a `TypeError` naming the bad one. */
export function resolveNobodyConfig(options: unknown): NobodyConfig {
  const o: OptionReader = readOptions('whenNobody()', options, NOBODY_KEYS);
  const settings = readNobodySettings(o);
  const registered$ = o.raw('registered$');
  if (needsRegistered(settings.policy) && !isObservable(registered$)) {
    o.fail(
      'registered$',
      `an Observable of every registered instance for policy "${settings.policy}"`,
    );
  }
  return {
    ...settings,
    registered$: needsRegistered(settings.policy)
      ? (registered$ as Observable<InstanceSet>)
      : undefined,
  };
}
