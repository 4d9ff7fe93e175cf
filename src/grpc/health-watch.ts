import { status } from '@grpc/grpc-js';
import type { Address } from '../instance.js';
import type { BackendHealth } from '../picker.js';
import type { OpenWatch, ServingStatus } from './health-service.js';
import type { EjectionClock } from './outlier-detection.js';

/**
 * A change of a backend's health, as `healthCheck.onHealthChange` reports it: its health
 * service answered something else than before (see {@link BackendHealth}).
 *
 * @example
 * ```ts
 * const channel = createBalancedChannel(picker$, {
 *   name: 'greeter',
 *   healthCheck: {
 *     onHealthChange: ({ address, health, previous }) =>
 *       console.info(`${address}: ${previous} → ${health}`),
 *   },
 * });
 * ```
 */
export interface HealthEvent {
  /** The channel's `name`. */
  readonly service: string;
  readonly address: Address;
  /**
   * What it says now: `SERVING` (it takes calls again), `NOT_SERVING`, `SERVICE_UNKNOWN` or
   * `UNKNOWN` (it takes none), or `UNIMPLEMENTED` (its server has no health service: it takes
   * calls).
   */
  readonly health: BackendHealth;
  /** What it said before; `PENDING` when this is the first answer on its connection. */
  readonly previous: BackendHealth;
}

/**
 * gRPC's connection backoff (its `connection-backoff.md`), which gRFC A17 applies between Watch
 * attempts: `initialMs × multiplier^(n-1)`, at most `maxMs`, each ± `jitter`.
 */
export interface HealthBackoff {
  readonly initialMs: number;
  readonly multiplier: number;
  readonly jitter: number;
  readonly maxMs: number;
}

/** Client-side health checking, validated and with defaults applied. */
export interface HealthCheckConfig {
  /** The service name the Watch asks about; `''` is the whole server. */
  readonly serviceName: string;
  readonly onHealthChange: ((event: HealthEvent) => void) | undefined;
  readonly backoff: HealthBackoff;
  /** The timers of the retries: unref'd by default. */
  readonly clock: EjectionClock;
  /** Draws the jitter, in `[0, 1)`. */
  readonly random: () => number;
}

/** What a health watch reads and writes of its backend. */
export interface HealthSubject {
  readonly address: Address;
  health: BackendHealth;
  /**
   * Its health service's answer changed `health` from `previous`: not called when a new
   * connection makes it `PENDING` (the connection's change says so).
   */
  healthChanged(previous: BackendHealth): void;
}

/** Whether a backend whose health is `health` takes calls, as far as health goes. */
export function servesCalls(health: BackendHealth): boolean {
  return health === 'SERVING' || health === 'UNIMPLEMENTED' || health === 'UNCHECKED';
}

/**
 * One backend's client-side health check, gRFC A17's workflow on the backend's record: while
 * its connection is READY, one `grpc.health.v1.Health/Watch` stream on it, whose every answer
 * becomes the backend's `health`.
 *
 * - A new connection starts `PENDING`: not usable until the first answer (A17).
 * - `SERVING` makes it usable; `NOT_SERVING`, `SERVICE_UNKNOWN` and `UNKNOWN` take it out.
 * - A stream that ends UNIMPLEMENTED (a server without a health service) makes it
 *   `UNIMPLEMENTED`, usable, and is not opened again on that connection (A17).
 * - A stream that ends otherwise is opened again, at once if it had delivered an answer, else
 *   after a backoff that grows with each attempt in a row without one (A17). Meanwhile the
 *   backend keeps its last answer (A17 reports TRANSIENT_FAILURE instead: see README).
 * - A lost connection cancels the stream and any retry; the backend keeps its last answer.
 *
 * It holds the backend's state and timers only: the backend calls {@link connected} and
 * {@link stop}, and hears of every answer through `healthChanged()`.
 */
export class HealthWatch {
  /** Opens streams on the connection, while it is READY. */
  #open: OpenWatch | undefined;
  /** The stream open now, if any: its token, and what cancels it. */
  #stream: { cancel: (() => void) | undefined } | undefined;
  #cancelRetry: (() => void) | undefined;
  /** Attempts in a row that ended without an answer. */
  #failures = 0;

  constructor(
    private readonly config: HealthCheckConfig,
    private readonly subject: HealthSubject,
  ) {}

  /** Whether a Watch stream is open. */
  get watching(): boolean {
    return this.#stream !== undefined;
  }

  /** Whether a retry is waiting for its backoff. */
  get retrying(): boolean {
    return this.#cancelRetry !== undefined;
  }

  /** Its connection became READY: health is `PENDING` until the server answers a new Watch. */
  connected(open: OpenWatch): void {
    this.stop();
    this.#open = open;
    this.#failures = 0;
    this.subject.health = 'PENDING';
    this.#watch();
  }

  /** Its connection is gone, or so is it: cancels the stream and any retry. */
  stop(): void {
    this.#open = undefined;
    this.#cancelRetry?.();
    this.#cancelRetry = undefined;
    const stream = this.#stream;
    this.#stream = undefined;
    stream?.cancel?.();
  }

  #watch(): void {
    const open = this.#open;
    if (open === undefined) return;
    let answered = false;
    const stream: { cancel: (() => void) | undefined } = { cancel: undefined };
    this.#stream = stream;
    stream.cancel = open(this.config.serviceName, {
      answer: (answer: ServingStatus) => {
        if (this.#stream !== stream) return;
        answered = true;
        this.#failures = 0;
        this.#set(answer);
      },
      ended: (code) => {
        if (this.#stream !== stream) return;
        this.#stream = undefined;
        if (code === status.UNIMPLEMENTED) {
          this.#set('UNIMPLEMENTED');
        } else if (answered) {
          this.#watch();
        } else {
          this.#retryLater();
        }
      },
    });
  }

  #retryLater(): void {
    this.#failures++;
    const { backoff, clock, random } = this.config;
    const ceiling = backoff.initialMs * backoff.multiplier ** (this.#failures - 1);
    const delay = Math.min(ceiling, backoff.maxMs) * (1 + backoff.jitter * (random() * 2 - 1));
    this.#cancelRetry = clock.setTimer(() => {
      this.#cancelRetry = undefined;
      this.#watch();
    }, delay);
  }

  #set(health: BackendHealth): void {
    const previous = this.subject.health;
    if (health === previous) return;
    this.subject.health = health;
    this.subject.healthChanged(previous);
  }
}
