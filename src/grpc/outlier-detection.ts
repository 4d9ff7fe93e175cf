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
      /**
       * The rule that ejected it, by gRFC A50's names: `consecutiveFailures` (its calls failed
       * that many times in a row), `successRate` (its success rate over the last `interval`
       * fell `stdevFactor / 1000` standard deviations below the members' mean) or
       * `failurePercentage` (its share of failed calls over the last `interval` exceeded
       * `threshold`).
       */
      readonly reason: EjectionReason;
      /** What the rule saw, e.g. `5 failures in a row` or `100 % of 52 calls failed`. */
      readonly detail: string;
      /** The details of its last failed call, e.g. `read ECONNRESET`. */
      readonly lastError: string;
      /** This ejection's rank: 1 for the first, more when it is ejected again soon after. */
      readonly ejections: number;
      /** `min(baseEjectionTime × ejections, maxEjectionTime)`. */
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

/** The rule that ejected a backend: see {@link EjectionEvent}. */
export type EjectionReason = 'consecutiveFailures' | 'successRate' | 'failurePercentage';

/** Why an ejection ended: see {@link EjectionEvent}. */
export type UnejectReason = 'expired' | 'reconnected' | 'removed' | 'maxEjectionPercent';

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

/** gRFC A50's success-rate ejection, validated. */
export interface SuccessRateConfig {
  readonly stdevFactor: number;
  readonly enforcementPercentage: number;
  readonly minimumHosts: number;
  readonly requestVolume: number;
}

/** gRFC A50's failure-percentage ejection, validated. */
export interface FailurePercentageConfig {
  readonly threshold: number;
  readonly enforcementPercentage: number;
  readonly minimumHosts: number;
  readonly requestVolume: number;
}

/** Outlier detection's options, validated and with defaults applied. */
export interface OutlierDetectionConfig {
  /** Failures in a row that eject a backend; Infinity: the rule is off. */
  readonly consecutiveFailures: number;
  readonly interval: number;
  readonly baseEjectionTime: number;
  readonly maxEjectionTime: number;
  readonly maxEjectionPercent: number;
  readonly successRateEjection: SuccessRateConfig | undefined;
  readonly failurePercentageEjection: FailurePercentageConfig | undefined;
  readonly onEjection: ((event: EjectionEvent) => void) | undefined;
  readonly clock: EjectionClock;
  /** Draws for `enforcementPercentage`, in `[0, 1)`. */
  readonly random: () => number;
}

/** What outlier detection reads and writes of a backend: its measurements and its ejection. */
export interface Ejectable {
  readonly address: Address;
  /** Calls that failed for its sake in a row, while usable (the backend counts them). */
  consecutiveFailures: number;
  /** Its calls that succeeded and failed since the last sweep of `interval` (exact counts). */
  intervalSuccesses: number;
  intervalFailures: number;
  /** The details of its last failed call. */
  readonly lastFailure: string;
  /** The ejection in force, if any: the backend is not usable while it lasts. */
  ejection: { readonly until: number } | undefined;
  /** The multiplier of the next ejection's time, before it decays. */
  ejections: number;
  /** When it last returned from an ejection. */
  returnedAt: number;
}

/**
 * Outlier detection's decisions, made on the state of the backends it is shown, by gRFC A50's
 * rules and names:
 * - `consecutiveFailures`: a backend whose calls failed for its sake that many times in a row
 *   (see `countOf()`) is ejected at once, as Finagle's and Linkerd's failure accrual and
 *   Envoy's consecutive 5xx do;
 * - every `interval`, over the calls each backend ended since the last sweep, success-rate
 *   and failure-percentage ejection, as A50 defines them (each only when configured).
 *
 * An ejection lasts `min(baseEjectionTime × n, maxEjectionTime)` where `n` counts its
 * ejections; `n` drops by one for every `baseEjectionTime` the backend then spends in
 * picking, so a backend that fails again soon after it returns stays out longer, and one that
 * recovered starts over. At most `floor(size × maxEjectionPercent / 100)` of the members are
 * ejected at once: one more that a rule finds stays in. One ejected returns as soon as its
 * connection is made again: a restarted server is not kept out for what its previous process
 * did.
 *
 * It holds no state of its own and no timer: each method changes backends and says which it
 * changed, and the balancer, which owns them, rebuilds the usable view from their states,
 * wakes it with {@link expire} at {@link nextExpiry} and calls {@link sweep} every `interval`.
 */
export class OutlierDetector {
  constructor(
    readonly config: OutlierDetectionConfig,
    /** The service's name for events: a function, since discovery may tell it later. */
    private readonly service: () => string,
  ) {}

  /** Whether {@link sweep} has anything to do: a rule over intervals is configured. */
  get sweeps(): boolean {
    const { successRateEjection, failurePercentageEjection } = this.config;
    return successRateEjection !== undefined || failurePercentageEjection !== undefined;
  }

  /**
   * `backend`'s failures in a row reached the threshold: ejects it, if that keeps the
   * members' ejections within `maxEjectionPercent`. Returns whether it ejected it.
   */
  review(backend: Ejectable, members: readonly Ejectable[]): boolean {
    const failures = backend.consecutiveFailures;
    if (failures < this.config.consecutiveFailures) return false;
    return this.eject(backend, members, 'consecutiveFailures', `${failures} failures in a row`);
  }

  /**
   * The sweep of one `interval`: A50's success-rate, then failure-percentage ejection over
   * the calls each member ended since the last sweep; then the counts start over. Returns
   * the members it ejected, each with the rule.
   */
  sweep<T extends Ejectable>(members: readonly T[]): { backend: T; reason: EjectionReason }[] {
    const ejected: { backend: T; reason: EjectionReason }[] = [];
    const { successRateEjection: rate, failurePercentageEjection: percentage } = this.config;
    if (rate) {
      const candidates = members.filter((m) => volume(m) >= rate.requestVolume);
      if (candidates.length >= rate.minimumHosts) {
        const rates = candidates.map(successRate);
        const mean = rates.reduce((sum, r) => sum + r, 0) / rates.length;
        const variance = rates.reduce((sum, r) => sum + (r - mean) ** 2, 0) / rates.length;
        const floor = mean - Math.sqrt(variance) * (rate.stdevFactor / 1000);
        for (const member of candidates) {
          const r = successRate(member);
          if (r >= floor || !this.enforced(rate.enforcementPercentage)) continue;
          const detail = `success rate ${percent(r)} % of ${volume(member)} calls, below ${percent(floor)} %`;
          if (this.eject(member, members, 'successRate', detail)) {
            ejected.push({ backend: member, reason: 'successRate' });
          }
        }
      }
    }
    if (percentage) {
      const candidates = members.filter((m) => volume(m) >= percentage.requestVolume);
      if (candidates.length >= percentage.minimumHosts) {
        for (const member of candidates) {
          const failed = 100 - successRate(member);
          if (failed <= percentage.threshold) continue;
          if (!this.enforced(percentage.enforcementPercentage)) continue;
          const detail = `${percent(failed)} % of ${volume(member)} calls failed`;
          if (this.eject(member, members, 'failurePercentage', detail)) {
            ejected.push({ backend: member, reason: 'failurePercentage' });
          }
        }
      }
    }
    for (const member of members) {
      member.intervalSuccesses = 0;
      member.intervalFailures = 0;
    }
    return ejected;
  }

  private enforced(enforcementPercentage: number): boolean {
    return this.config.random() * 100 < enforcementPercentage;
  }

  private eject(
    backend: Ejectable,
    members: readonly Ejectable[],
    reason: EjectionReason,
    detail: string,
  ): boolean {
    if (backend.ejection) return false;
    const ejected = members.reduce((n, member) => n + Number(member.ejection !== undefined), 0);
    if ((ejected + 1) * 100 > members.length * this.config.maxEjectionPercent) return false;
    const { clock, baseEjectionTime, maxEjectionTime } = this.config;
    const now = clock.now();
    const decay = Math.floor((now - backend.returnedAt) / baseEjectionTime);
    backend.ejections = Math.max(0, backend.ejections - decay) + 1;
    backend.consecutiveFailures = 0;
    const durationMs = Math.min(baseEjectionTime * backend.ejections, maxEjectionTime);
    backend.ejection = { until: now + durationMs };
    notify(this.config.onEjection, {
      type: 'ejected',
      service: this.service(),
      address: backend.address,
      reason,
      detail,
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

/** Calls a member ended since the last sweep, that count either way. */
function volume(member: Ejectable): number {
  return member.intervalSuccesses + member.intervalFailures;
}

/** A member's success rate since the last sweep, in percent. */
function successRate(member: Ejectable): number {
  return (100 * member.intervalSuccesses) / volume(member);
}

/** `value` in percent, as events show it: `97.5`. */
function percent(value: number): string {
  return String(Math.round(value * 10) / 10);
}
