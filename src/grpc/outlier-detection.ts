import type { Address } from '../instance.js';
import { notify } from '../notify.js';
import type { CallOutcome } from './call-outcome.js';

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

/** What outlier detection knows of one address of the current picker. */
interface Health {
  /** Connection failures in a row, since the last success or ejection. */
  failures: number;
  /** The multiplier of the next ejection's time, before it decays. */
  ejections: number;
  /** When it last returned from an ejection. */
  returnedAt: number;
  ejection: { readonly until: number; readonly cancel: () => void } | undefined;
}

/**
 * Ejects, from a balanced channel's picking, a backend whose calls fail with connection
 * errors `consecutiveFailures` times in a row (see {@link CallOutcome}), for
 * `min(baseEjectionMs × n, maxEjectionMs)` where `n` counts its ejections. `n` drops by one
 * for every `baseEjectionMs` the backend then spends in picking, so a backend that fails
 * again soon after it returns stays out longer, and one that recovered starts over.
 *
 * At most `floor(size × maxEjectionPercent / 100)` of the current picker's backends are
 * ejected at once: one more reaching the threshold stays in, and is ejected by its next
 * failure if room was made. Outcomes of calls on an ejected backend (still in flight when
 * it was ejected) are ignored. A backend whose connection goes down starts its count afresh,
 * and one ejected returns as soon as its connection is made again: a restarted server is
 * not kept out for what its previous process did. It knows only the addresses given to
 * `retain()`.
 */
export class OutlierDetector {
  private readonly health = new Map<Address, Health>();
  private size = 0;
  private ejected = 0;

  constructor(
    private readonly config: OutlierDetectionConfig,
    /** The service's name for events: a function, since discovery may tell it later. */
    private readonly service: () => string,
    /** Told of every ejection and return, before the user's `onEjection`. */
    private readonly onChange: (address: Address, ejected: boolean) => void,
  ) {}

  /** Counts the outcome of a call that `address` served. */
  record(address: Address, outcome: CallOutcome, details: string): void {
    if (outcome === 'neutral') return;
    const health = this.health.get(address);
    if (!health || health.ejection) return;
    if (outcome === 'success') {
      health.failures = 0;
      return;
    }
    health.failures++;
    if (health.failures < this.config.consecutiveFailures) return;
    if ((this.ejected + 1) * 100 > this.size * this.config.maxEjectionPercent) return;
    this.eject(address, health, details);
  }

  /**
   * The connection to `address` went down: the failures counted so far are explained by that,
   * and start over.
   */
  disconnected(address: Address): void {
    const health = this.health.get(address);
    if (health) health.failures = 0;
  }

  /** The connection to `address` is up again, after it went down: it returns to picking. */
  reconnected(address: Address): void {
    const health = this.health.get(address);
    if (health?.ejection) this.restore(address, health, 'reconnected');
  }

  /** Makes the addresses of the latest picker the ones it knows; forgets the others. */
  retain(addresses: readonly Address[]): void {
    const next = new Set(addresses);
    for (const [address, health] of this.health) {
      if (next.has(address)) continue;
      this.health.delete(address);
      if (health.ejection) this.restore(address, health, 'removed');
    }
    for (const address of next) {
      if (this.health.has(address)) continue;
      this.health.set(address, { failures: 0, ejections: 0, returnedAt: 0, ejection: undefined });
    }
    this.size = next.size;
    while (this.ejected * 100 > this.size * this.config.maxEjectionPercent) {
      const [address, health] = this.soonestReturn();
      this.restore(address, health, 'maxEjectionPercent');
    }
  }

  /** Cancels every ejection timer, silently. */
  close(): void {
    for (const health of this.health.values()) health.ejection?.cancel();
    this.health.clear();
    this.ejected = 0;
  }

  private eject(address: Address, health: Health, lastError: string): void {
    const { clock, baseEjectionMs, maxEjectionMs } = this.config;
    const now = clock.now();
    const decay = Math.floor((now - health.returnedAt) / baseEjectionMs);
    health.ejections = Math.max(0, health.ejections - decay) + 1;
    health.failures = 0;
    const durationMs = Math.min(baseEjectionMs * health.ejections, maxEjectionMs);
    const cancel = clock.setTimer(() => this.restore(address, health, 'expired'), durationMs);
    health.ejection = { until: now + durationMs, cancel };
    this.ejected++;
    this.onChange(address, true);
    notify(this.config.onEjection, {
      type: 'ejected',
      service: this.service(),
      address,
      reason: 'consecutiveFailures',
      lastError,
      ejections: health.ejections,
      durationMs,
      until: health.ejection.until,
    });
  }

  private restore(address: Address, health: Health, reason: UnejectReason): void {
    health.ejection?.cancel();
    health.ejection = undefined;
    health.failures = 0;
    health.returnedAt = this.config.clock.now();
    this.ejected--;
    this.onChange(address, false);
    notify(this.config.onEjection, {
      type: 'unejected',
      service: this.service(),
      address,
      reason,
      ejections: health.ejections,
    });
  }

  private soonestReturn(): [Address, Health] {
    let soonest: [Address, Health] | undefined;
    let soonestUntil = Number.POSITIVE_INFINITY;
    for (const [address, health] of this.health) {
      const until = health.ejection?.until ?? Number.POSITIVE_INFINITY;
      if (until >= soonestUntil) continue;
      soonest = [address, health];
      soonestUntil = until;
    }
    if (!soonest) throw new Error('OutlierDetector: its count of ejections is out of step');
    return soonest;
  }
}
