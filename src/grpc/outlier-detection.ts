import type { Address } from '../instance.js';
import { notify } from '../notify.js';

/**
 * A change in the ejections of a balanced channel, as `outlierDetection.onEjection` reports
 * it.
 *
 * @example
 * ```ts
 * const channel = createBalancedChannel(picker$, {
 *   name: 'greeter',
 *   outlierDetection: {
 *     onEjection: (event) =>
 *       event.type === 'ejected'
 *         ? console.warn(`${event.address} ejected for ${event.durationMs} ms: ${event.lastError}`)
 *         : console.info(`${event.address} back (${event.reason})`),
 *   },
 * });
 * ```
 */
export type EjectionEvent =
  | {
      readonly type: 'ejected';
      /** The channel's `name`. */
      readonly service: string;
      readonly address: Address;
      /** Why: its calls failed with connection errors `consecutiveFailures` times in a row. */
      readonly reason: 'consecutiveFailures';
      /** The details of the last of those failures, e.g. `read ECONNRESET`. */
      readonly lastError: string;
      /** This ejection's rank: 1 for the first, more when it is ejected again soon after. */
      readonly ejections: number;
      /** `min(baseEjectionMs × ejections, maxEjectionMs)`. */
      readonly durationMs: number;
      /** When it returns to picking, by the clock's `now()` (ms since the epoch by default). */
      readonly until: number;
    }
  | {
      readonly type: 'unejected';
      readonly service: string;
      readonly address: Address;
      /**
       * `expired`: its ejection time ended, it is picked again. `reconnected`: its connection
       * was lost and made again (a restarted server starts afresh). `removed`: discovery no
       * longer lists it. `maxEjectionPercent`: discovery removed other backends, and keeping
       * it out would exceed the share of backends that may be ejected at once.
       */
      readonly reason: UnejectReason;
      readonly ejections: number;
    };

/** Why an ejection ended: see {@link EjectionEvent}. */
type UnejectReason = 'expired' | 'reconnected' | 'removed' | 'maxEjectionPercent';

/**
 * The time source of outlier detection: the system clock by default, a manual one in tests.
 *
 * @example
 * ```ts
 * // Time that moves only when a test says so; timers run by hand.
 * let now = 0;
 * const due: { at: number; callback: () => void }[] = [];
 * const clock: EjectionClock = {
 *   now: () => now,
 *   setTimer: (callback, ms) => {
 *     const timer = { at: now + ms, callback };
 *     due.push(timer);
 *     return () => due.splice(due.indexOf(timer), 1);
 *   },
 * };
 * const channel = createBalancedChannel(picker$, { outlierDetection: { clock } });
 * ```
 */
export interface EjectionClock {
  /** The time now, in ms. */
  now(): number;
  /**
   * Calls `callback` once, `ms` from now, and returns a function that cancels it. The
   * default's timers do not keep the process alive.
   */
  setTimer(callback: () => void, ms: number): () => void;
}

/** The system clock, with unref'd timers, as grpc-js's own outlier detection uses. */
export const systemClock: EjectionClock = Object.freeze({
  now: () => Date.now(),
  setTimer(callback: () => void, ms: number) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
});

/** Outlier detection's options, validated and with defaults applied. */
export interface OutlierDetectionConfig {
  readonly consecutiveFailures: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
  readonly onEjection: ((event: EjectionEvent) => void) | undefined;
  readonly clock: EjectionClock;
}

/** What outlier detection reads and writes of a backend: its measurements and its ejection. */
export interface Ejectable {
  readonly address: Address;
  /** Connection failures in a row while READY and picked (the backend counts them). */
  consecutiveFailures: number;
  /** The details of the last of them. */
  readonly lastFailure: string;
  /** The ejection in force, if any: the backend is not usable while it lasts. */
  ejection: { readonly until: number } | undefined;
  /** The multiplier of the next ejection's time, before it decays. */
  ejections: number;
  /** When it last returned from an ejection. */
  returnedAt: number;
}

/**
 * Outlier detection's decisions, made on the state of the backends it is shown: it ejects
 * (sets `ejection`) a backend whose calls failed with connection errors `consecutiveFailures`
 * times in a row (see `connectionOutcome()`), for `min(baseEjectionMs × n, maxEjectionMs)`
 * where `n` counts its ejections. `n` drops by one for every `baseEjectionMs` the backend then
 * spends in picking, so a backend that fails again soon after it returns stays out longer,
 * and one that recovered starts over.
 *
 * At most `floor(size × maxEjectionPercent / 100)` of the members are ejected at once: one
 * more reaching the threshold stays in, and is ejected by its next failure if room was made.
 * A backend whose connection goes down starts its count afresh (the backend does that), and
 * one ejected returns as soon as its connection is made again: a restarted server is not kept
 * out for what its previous process did.
 *
 * It holds no state of its own and no timer: each method changes backends and says which it
 * changed, and the balancer, which owns them, rebuilds the usable view from their states and
 * wakes it with {@link expire} at {@link nextExpiry}.
 */
export class OutlierDetector {
  constructor(
    readonly config: OutlierDetectionConfig,
    /** The service's name for events: a function, since discovery may tell it later. */
    private readonly service: () => string,
  ) {}

  /**
   * `backend`'s connection failures in a row reached the threshold: ejects it, if that keeps
   * the members' ejections within `maxEjectionPercent`. Returns whether it ejected it.
   */
  review(backend: Ejectable, members: readonly Ejectable[]): boolean {
    if (backend.ejection || backend.consecutiveFailures < this.config.consecutiveFailures) {
      return false;
    }
    const ejected = members.reduce((n, member) => n + Number(member.ejection !== undefined), 0);
    if ((ejected + 1) * 100 > members.length * this.config.maxEjectionPercent) return false;
    const { clock, baseEjectionMs, maxEjectionMs } = this.config;
    const now = clock.now();
    const decay = Math.floor((now - backend.returnedAt) / baseEjectionMs);
    backend.ejections = Math.max(0, backend.ejections - decay) + 1;
    backend.consecutiveFailures = 0;
    const durationMs = Math.min(baseEjectionMs * backend.ejections, maxEjectionMs);
    backend.ejection = { until: now + durationMs };
    notify(this.config.onEjection, {
      type: 'ejected',
      service: this.service(),
      address: backend.address,
      reason: 'consecutiveFailures',
      lastError: backend.lastFailure,
      ejections: backend.ejections,
      durationMs,
      until: now + durationMs,
    });
    return true;
  }

  /** `backend`'s connection is up again, after it went down: it returns to picking. */
  reconnected(backend: Ejectable): boolean {
    return this.restore(backend, 'reconnected');
  }

  /** Returns to picking the members whose ejection time is up; returns those. */
  expire<T extends Ejectable>(members: readonly T[]): T[] {
    const now = this.config.clock.now();
    return members.filter(
      (member) => (member.ejection?.until ?? Infinity) <= now && this.restore(member, 'expired'),
    );
  }

  /** When the soonest ejection of `members` ends, if any is in force. */
  nextExpiry(members: readonly Ejectable[]): number | undefined {
    let soonest: number | undefined;
    for (const { ejection } of members) {
      if (ejection && (soonest === undefined || ejection.until < soonest)) soonest = ejection.until;
    }
    return soonest;
  }

  /**
   * Discovery changed the members: those that `left` return (and are forgotten with their
   * backend), and while ejections exceed `maxEjectionPercent` of the members left, the
   * soonest back returns. Returns the members it returned.
   */
  membersChanged<T extends Ejectable>(members: readonly T[], left: readonly Ejectable[]): T[] {
    for (const backend of left) this.restore(backend, 'removed');
    const ejected = members.filter((member) => member.ejection !== undefined);
    ejected.sort((x, y) => (x.ejection?.until ?? 0) - (y.ejection?.until ?? 0));
    const allowed = Math.floor((members.length * this.config.maxEjectionPercent) / 100);
    const returned = ejected.slice(0, Math.max(0, ejected.length - allowed));
    for (const backend of returned) this.restore(backend, 'maxEjectionPercent');
    return returned;
  }

  private restore(backend: Ejectable, reason: UnejectReason): boolean {
    if (!backend.ejection) return false;
    backend.ejection = undefined;
    backend.consecutiveFailures = 0;
    backend.returnedAt = this.config.clock.now();
    notify(this.config.onEjection, {
      type: 'unejected',
      service: this.service(),
      address: backend.address,
      reason,
      ejections: backend.ejections,
    });
    return true;
  }
}
