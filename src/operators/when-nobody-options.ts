import { asyncScheduler, isObservable, type Observable, type SchedulerLike } from 'rxjs';
import { MAX_TIMER_MS } from '../duration.js';
import type { InstanceSet } from '../instance.js';

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
export const NOBODY_DEFAULTS = Object.freeze({
  policy: 'keep-last',
  graceMs: 30_000,
  thresholdPercent: 50,
  scheduler: asyncScheduler,
} as const);

/** The options, validated, with defaults filled in. */
export interface NobodyConfig {
  readonly policy: NobodyPolicy;
  readonly graceMs: number;
  readonly scheduler: SchedulerLike;
  readonly registered$: Observable<InstanceSet> | undefined;
  /** 0 for `fallback`: it substitutes only when nobody at all is healthy. */
  readonly thresholdPercent: number;
  readonly onReport: ((report: NobodyReport) => void) | undefined;
}

const KEYS: Readonly<Record<NobodyPolicy, readonly string[]>> = {
  'keep-last': ['policy', 'graceMs', 'scheduler', 'onReport'],
  'fail-fast': ['policy', 'onReport'],
  fallback: ['policy', 'registered$', 'onReport'],
  panic: ['policy', 'registered$', 'thresholdPercent', 'onReport'],
};

function isScheduler(value: unknown): value is SchedulerLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SchedulerLike).schedule === 'function' &&
    typeof (value as SchedulerLike).now === 'function'
  );
}

/**
 * Validates {@link whenNobody}'s options once, with a `TypeError` naming the bad one. Another
 * caller taking them as one of its options (`consulInstances$`'s `whenNobody`) names itself
 * and the path: `consulInstances$(): option "whenNobody.graceMs" must be ...`.
 */
export function resolveNobodyConfig(
  options: unknown,
  caller = 'whenNobody()',
  path = '',
): NobodyConfig {
  // typed in full, so that TypeScript narrows after a call
  const fail: (option: string, expected: string) => never = (option, expected) => {
    throw new TypeError(`${caller}: option "${path}${option}" must be ${expected}`);
  };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${caller}: options must be an object`);
  }
  const o = options as Record<string, unknown>;
  const policy = o.policy ?? NOBODY_DEFAULTS.policy;
  if (typeof policy !== 'string' || !Object.hasOwn(KEYS, policy)) {
    fail(
      'policy',
      `"keep-last", "fail-fast", "fallback" or "panic", got ${JSON.stringify(policy)}`,
    );
  }
  const p = policy as NobodyPolicy;
  for (const key of Object.keys(o)) {
    if (!KEYS[p].includes(key)) {
      throw new TypeError(`${caller}: unknown option "${path}${key}" for policy "${p}"`);
    }
  }
  const { graceMs = NOBODY_DEFAULTS.graceMs, scheduler = NOBODY_DEFAULTS.scheduler } = o;
  // a finite delay beyond what a timer honours would fire at once: say Infinity for ever
  if (
    typeof graceMs !== 'number' ||
    !((graceMs >= 0 && graceMs <= MAX_TIMER_MS) || graceMs === Number.POSITIVE_INFINITY)
  ) {
    fail('graceMs', `a number of ms from 0 to ${MAX_TIMER_MS}, or Infinity for ever`);
  }
  if (!isScheduler(scheduler)) fail('scheduler', 'an RxJS SchedulerLike');
  const needsRegistered = p === 'fallback' || p === 'panic';
  if (needsRegistered && !isObservable(o.registered$)) {
    fail('registered$', `an Observable of every registered instance for policy "${p}"`);
  }
  const threshold = o.thresholdPercent ?? (p === 'panic' ? NOBODY_DEFAULTS.thresholdPercent : 0);
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 100)) {
    fail('thresholdPercent', 'a number from 0 to 100');
  }
  if (o.onReport !== undefined && typeof o.onReport !== 'function') fail('onReport', 'a function');
  return {
    policy: p,
    graceMs,
    scheduler,
    registered$: needsRegistered ? (o.registered$ as Observable<InstanceSet>) : undefined,
    thresholdPercent: threshold,
    onReport: o.onReport as ((report: NobodyReport) => void) | undefined,
  };
}
