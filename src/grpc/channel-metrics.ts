import { connectivityState, type experimental } from '@grpc/grpc-js';
import type { BackendHealth } from '../picker.js';
import { type Attributes, type Instruments, NO_INSTRUMENTS } from '../telemetry/instruments.js';
import { servesCalls } from './health-watch.js';
import { METHOD_KEY } from './method-config-selector.js';
import type { EjectionReason } from './outlier-detection.js';

const { IDLE, CONNECTING, READY, TRANSIENT_FAILURE } = connectivityState;

/**
 * A backend's state as `rxlb.client.backends` counts it. A connected backend that waits for
 * its health service's first answer is still `connecting` (A17: its subchannel is CONNECTING
 * until then); one that says it is not serving is `unhealthy`.
 */
export type BackendCategory = 'connecting' | 'ready' | 'failed' | 'ejected' | 'unhealthy';

/** What the metrics need of a backend. */
export interface MeasuredBackend {
  readonly state: connectivityState;
  readonly ejected: boolean;
  readonly health: BackendHealth;
  /** The category it was last counted in; kept by {@link ChannelMetrics}. */
  category: BackendCategory | undefined;
}

/**
 * One balanced channel's metrics (see docs/metrics.md), with its `grpc.target`. Every
 * attribute is bounded: the target, a method of the service, a status code, a state, a
 * reason. No backend address is an attribute: addresses come and go with every deploy;
 * `channel.backends()` shows them.
 */
export class ChannelMetrics {
  readonly enabled: boolean;
  private readonly target: Attributes;

  constructor(
    readonly instruments: Instruments,
    target: string,
  ) {
    this.enabled = instruments.enabled;
    this.target = Object.freeze({ 'grpc.target': target });
  }

  /** Records nothing: before the channel's options are known. */
  static readonly NONE = new ChannelMetrics(NO_INSTRUMENTS, '');

  /** The attributes of a call attempt being picked: its method and the target. */
  attempt(args: experimental.PickArgs): Attributes {
    return { 'grpc.method': args.extraPickInfo[METHOD_KEY] ?? 'other', ...this.target };
  }

  /**
   * A backend's connection went from `previous` to its state now; `failed`: grpc-js gave an
   * error with it. A connection attempt ends READY (succeeded) or TRANSIENT_FAILURE with an
   * error (failed; pick_first stays in TRANSIENT_FAILURE between attempts, and says each
   * failure); a READY connection that goes is a disconnection.
   */
  connection(backend: MeasuredBackend, previous: connectivityState, failed: boolean): void {
    if (!this.enabled) return;
    const { state } = backend;
    const i = this.instruments;
    if (state === READY && previous !== READY) {
      i.connectionsSucceeded.add(1, this.target);
      i.openConnections.add(1, this.target);
    }
    if (state === TRANSIENT_FAILURE && failed && previous !== READY) {
      i.connectionsFailed.add(1, this.target);
    }
    if (previous === READY && state !== READY) this.disconnected('unknown');
    this.categorize(backend);
  }

  /** A backend joins the members, or its ejection or health changed. */
  categorize(backend: MeasuredBackend): void {
    if (!this.enabled) return;
    const category = categoryOf(backend);
    if (category === backend.category) return;
    const { backends } = this.instruments;
    if (backend.category)
      backends.add(-1, { ...this.target, 'rxlb.backend.state': backend.category });
    backends.add(1, { ...this.target, 'rxlb.backend.state': category });
    backend.category = category;
  }

  /** A backend leaves the members (or the channel closes): its connection is shut down. */
  removed(backend: MeasuredBackend): void {
    if (!this.enabled) return;
    if (backend.state === READY) this.disconnected('subchannel shutdown');
    if (backend.category) {
      this.instruments.backends.add(-1, { ...this.target, 'rxlb.backend.state': backend.category });
      backend.category = undefined;
    }
  }

  /** Outlier detection ejected a backend, by the rule `reason` (A91's detection method). */
  ejected(reason: EjectionReason): void {
    if (!this.enabled) return;
    const method = DETECTION_METHOD[reason];
    this.instruments.ejections.add(1, {
      ...this.target,
      'grpc.lb.outlier_detection.detection_method': method,
    });
  }

  /** A call failed for want of a backend: `reason` is why there was none. */
  noBackend(
    reason: 'unreachable' | 'unhealthy' | 'none' | 'unresolved' | 'picker-failed' | 'all-tried',
  ): void {
    if (this.enabled) this.instruments.noBackend.add(1, { ...this.target, 'rxlb.reason': reason });
  }

  private disconnected(error: string): void {
    this.instruments.disconnections.add(1, { ...this.target, 'grpc.disconnect_error': error });
    this.instruments.openConnections.add(-1, this.target);
  }
}

/** A91's names of the rules. */
const DETECTION_METHOD: Readonly<Record<EjectionReason, string>> = {
  consecutiveFailures: 'consecutive_failures',
  successRate: 'success_rate',
  failurePercentage: 'failure_percentage',
};

function categoryOf({ state, ejected, health }: MeasuredBackend): BackendCategory {
  if (state === READY) {
    if (health === 'PENDING') return 'connecting';
    if (!servesCalls(health)) return 'unhealthy';
    return ejected ? 'ejected' : 'ready';
  }
  if (state === IDLE || state === CONNECTING) return 'connecting';
  return 'failed';
}
