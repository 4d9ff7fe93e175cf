import {
  type ChannelOptions,
  connectivityState,
  type experimental,
  logVerbosity,
} from '@grpc/grpc-js';
import type { Instance } from '../instance.js';
import { notify } from '../notify.js';
import type { BackendHealth, Picker } from '../picker.js';
import { type BackendOwner, ChannelBackend, connectionError } from './backend.js';
import { LoadBoard } from './backend-load.js';
import type { BackendSet } from './backend-set.js';
import { ChannelMetrics } from './channel-metrics.js';
import { BalancedPicker, FailingPicker, type View } from './channel-picker.js';
import type { GrpcJs } from './grpc-js-module.js';
import { TRACER } from './health-service.js';
import { type HealthCheckConfig, servesCalls } from './health-watch.js';
import { OutlierDetector } from './outlier-detection.js';
import { RESOLUTION_ATTRIBUTE, SOURCE_OPTION } from './picker-resolver.js';
import { PickerSource, type Resolution } from './picker-source.js';

/** The load-balancing policy's name in grpc-js's service config. */
export const POLICY = 'rxlb';

const { IDLE, CONNECTING, READY, TRANSIENT_FAILURE } = connectivityState;

/**
 * The options a backend's connection gets: the channel's, without what rxlb passes to itself
 * through them (grpc-js copies them for every backend).
 */
function leafOptions(options: ChannelOptions): ChannelOptions {
  const { [SOURCE_OPTION]: _source, [RESOLUTION_ATTRIBUTE]: _resolution, ...rest } = options;
  return rest;
}

/** The (empty) config of the policy, as grpc-js wants one. */
export class BalancerConfig implements experimental.TypedLoadBalancingConfig {
  getLoadBalancerName(): string {
    return POLICY;
  }

  toJsonObject(): object {
    return { [POLICY]: {} };
  }

  static createFromJson(): BalancerConfig {
    return new BalancerConfig();
  }
}

/**
 * The balanced channel's grpc-js load-balancing policy. Like grpc-js's round_robin it keeps a
 * pick_first connection per member (kept connected: an IDLE one reconnects at once) and
 * publishes a picker on every change; unlike it, the choice among the READY ones belongs to
 * rxlb's picker, which sees them through a {@link View}, and client-side health checks and
 * outlier detection can take a backend out of that view.
 *
 * The state it reports, as round_robin's: READY while some backend is usable; else
 * CONNECTING while some is connecting, or connected and waiting for its health service's
 * first answer (calls wait in the channel); else TRANSIENT_FAILURE (calls fail with
 * UNAVAILABLE unless they are `waitForReady`): every backend failed to connect or says it is
 * not serving, or there is none. If `picker$` failed, every call fails.
 */
export class Balancer implements experimental.LoadBalancer, BackendOwner {
  private resolution: Resolution | undefined;
  private source: PickerSource | undefined;
  /** The backends of the members: the channel's, kept by this balancer while it lives. */
  private backends: BackendSet | undefined;
  private board: LoadBoard | undefined;
  /** Why the resolver failed, when it did without a resolution (a target made by hand). */
  private resolverError: string | undefined;
  private view: View | undefined;
  private detector: OutlierDetector | undefined;
  /** Cancels the timer that ends the soonest ejection, while one is set. */
  private cancelExpiry: (() => void) | undefined;
  /** Cancels the timer of outlier detection's next sweep, while one is set. */
  private cancelSweep: (() => void) | undefined;
  metrics = ChannelMetrics.NONE;
  healthCheck: HealthCheckConfig | undefined;
  /** Whether a server without a health service was logged: once per channel (A17's trace event). */
  private unimplementedLogged = false;
  /**
   * grpc-js's last message about a connection of this channel's, and its cause once a
   * failure's details asked for it (a failing picker asks on every pick).
   */
  private lastMessage: string | undefined;
  private lastCause: string | undefined;
  private syncing = false;
  /** The options every backend's connection gets. */
  private leafOptions: ChannelOptions = {};
  private destroyed = false;

  /**
   * What the backends get of grpc-js's helper: on a balanced channel, everything but
   * `requestReresolution()`.
   */
  private readonly helper: experimental.ChannelControlHelper;

  constructor(
    /** The grpc-js of the channel: the backends' connections and the failures' metadata are its. */
    private readonly grpc: GrpcJs,
    private readonly parent: experimental.ChannelControlHelper,
    /**
     * Whether a backend's failed connection asks the resolver again, as grpc-js's policies
     * do: for resolvers that only look again when asked (`dns:`). A balanced channel's
     * `picker$` pushes every change: asking it again cannot tell more.
     */
    reresolve = false,
  ) {
    this.helper = reresolve
      ? parent
      : grpc.experimental.createChildChannelControlHelper(parent, {
          requestReresolution: () => {},
        });
  }

  updateAddressList(
    endpoints: experimental.StatusOr<experimental.Endpoint[]>,
    _config: experimental.TypedLoadBalancingConfig,
    options: ChannelOptions,
  ): boolean {
    const source: unknown = options[SOURCE_OPTION];
    const resolution = options[RESOLUTION_ATTRIBUTE] as Resolution | undefined;
    if (!(source instanceof PickerSource) || resolution === undefined) {
      this.resolverError = endpoints.ok ? 'no picker$ behind this target' : endpoints.error.details;
      this.publish();
      return true;
    }
    if (!this.source) {
      this.source = source;
      this.backends = source.backends;
      const { config } = source;
      this.metrics = new ChannelMetrics(config.metrics, source.target);
      this.healthCheck = config.healthCheck;
      const detection = config.outlierDetection;
      this.board = new LoadBoard(config.decayMs, detection?.consecutiveFailures ?? Infinity);
      if (detection) {
        this.detector = new OutlierDetector(detection, () => source.name);
        this.scheduleSweep();
      }
    }
    this.resolution = resolution;
    this.sync(
      resolution.kind === 'picker' ? resolution.picker.instances : [],
      leafOptions(options),
    );
    this.publish();
    return true;
  }

  /** grpc-js calls this for every call: O(1) unless a backend is IDLE, which is rare. */
  exitIdle(): void {
    const { backends } = this;
    if (!backends || backends.inState(IDLE) === 0) return;
    for (const backend of backends.members) {
      if (backend.state === IDLE) backend.exitIdle();
    }
  }

  resetBackoff(): void {
    // Each backend's pick_first keeps its own backoff, as in grpc-js's round_robin.
  }

  destroy(): void {
    this.destroyed = true;
    this.cancelExpiry?.();
    this.cancelSweep?.();
    for (const backend of this.backends?.clear() ?? []) this.drop(backend);
  }

  getTypeName(): string {
    return POLICY;
  }

  changed(backend: ChannelBackend, previous: connectivityState, failed: boolean): void {
    const { backends } = this;
    if (this.destroyed || !backends?.has(backend)) return;
    const { state } = backend;
    this.metrics.connection(backend, previous, failed);
    const message = backend.lastMessage;
    if (message !== undefined && message !== this.lastMessage) {
      this.lastMessage = message;
      this.lastCause = undefined;
    }
    if (state !== previous) {
      backends.moved(backend, previous);
      if (state === READY) {
        if (backend.connectedBefore && this.detector?.reconnected(backend)) this.ejection(backend);
        backend.connectedBefore = true;
      }
      if ((state === READY) !== (previous === READY)) this.view = undefined;
      // Keep every backend connected, as round_robin does: a lost connection is made again.
      if (state === IDLE) process.nextTick(() => backend.exitIdle());
    } else if (this.detector?.review(backend, backends.members)) {
      this.metrics.ejected('consecutiveFailures');
      this.ejection(backend);
    }
    this.publish();
  }

  healthChanged(backend: ChannelBackend, previous: BackendHealth): void {
    const { backends } = this;
    if (this.destroyed || !backends?.has(backend)) return;
    const { health, address } = backend;
    const { experimental } = this.grpc;
    experimental.trace(logVerbosity.DEBUG, TRACER, `${address}: ${previous} -> ${health}`);
    if (health === 'UNIMPLEMENTED' && !this.unimplementedLogged) {
      this.unimplementedLogged = true;
      experimental.log(
        logVerbosity.ERROR,
        `rxlb: the health service of "${this.name}" at ${address} is UNIMPLEMENTED: it is taken as serving, without health checks (not logged again for this channel)`,
      );
    }
    notify(this.healthCheck?.onHealthChange, { service: this.name, address, health, previous });
    this.metrics.categorize(backend);
    if (backend.state === READY && servesCalls(previous) !== backend.healthy) this.view = undefined;
    this.publish();
  }

  /** Makes the backends those of `instances`: new ones connect, departed ones close. */
  private sync(instances: readonly Instance[], options: ChannelOptions): void {
    const { backends, board } = this;
    if (!backends || !board) return;
    this.syncing = true;
    try {
      this.leafOptions = options;
      const { grpc, helper } = this;
      const { created, left } = backends.sync(
        instances,
        (instance, endpoint) =>
          new ChannelBackend(grpc, instance, endpoint, helper, this.leafOptions, board, this),
      );
      board.members = backends.members;
      this.view = undefined;
      for (const backend of left) this.drop(backend);
      if (this.detector) {
        for (const backend of this.detector.membersChanged(backends.members, left)) {
          this.ejection(backend);
        }
      }
      for (const backend of created) {
        this.metrics.categorize(backend);
        backend.connect();
      }
    } finally {
      this.syncing = false;
    }
  }

  /** A backend left the members, or the balancer goes: its connection closes. */
  private drop(backend: ChannelBackend): void {
    this.metrics.removed(backend);
    backend.destroy();
  }

  /** `backend`'s ejection began or ended: the view and the timer of ejections follow. */
  private ejection(backend: ChannelBackend): void {
    this.metrics.categorize(backend);
    if (backend.state === READY) this.view = undefined;
    this.scheduleExpiry();
  }

  /** Sets the timer for the soonest end of an ejection (outlier detection keeps none). */
  private scheduleExpiry(): void {
    const { detector, backends } = this;
    this.cancelExpiry?.();
    this.cancelExpiry = undefined;
    if (!detector || !backends || this.destroyed) return;
    const until = detector.nextExpiry(backends.members);
    if (until === undefined) return;
    const { clock } = detector.config;
    this.cancelExpiry = clock.setTimer(
      () => {
        this.cancelExpiry = undefined;
        for (const backend of detector.expire(backends.members)) this.ejection(backend);
        this.scheduleExpiry();
        this.publish();
      },
      Math.max(0, until - clock.now()),
    );
  }

  /**
   * Sets the timer of outlier detection's next sweep over the last interval's calls, when a
   * rule over intervals is configured; each sweep sets the next.
   */
  private scheduleSweep(): void {
    const { detector } = this;
    if (!detector?.sweeps || this.destroyed) return;
    const { clock, interval } = detector.config;
    this.cancelSweep = clock.setTimer(() => {
      this.cancelSweep = undefined;
      const members = this.backends?.members ?? [];
      const ejected = detector.sweep(members);
      for (const { backend, reason } of ejected) {
        this.metrics.ejected(reason);
        this.ejection(backend);
      }
      this.scheduleSweep();
      if (ejected.length > 0) this.publish();
    }, interval);
  }

  /** Tells grpc-js the state and picker that follow from the resolution and the backends. */
  private publish(): void {
    if (this.destroyed || this.syncing) return;
    const { resolution, backends } = this;
    if (resolution === undefined || resolution.kind === 'failed' || !backends) {
      const details = resolution?.kind === 'failed' ? resolution.message : this.resolverError;
      this.update(TRANSIENT_FAILURE, () => details ?? 'no picker', 'picker-failed', true);
      return;
    }
    if (resolution.kind === 'waiting') return;
    this.view ??= this.usableView(backends);
    const { view } = this;
    if (view.usable.length > 0) {
      const picker = new BalancedPicker(
        this.grpc,
        resolution.picker,
        view,
        backends.byAddress,
        this.name,
        () => this.metrics.noBackend('all-tried'),
      );
      this.parent.updateState(READY, picker, null);
    } else if (backends.members.length === 0) {
      const unresolved = resolution.picker.discovery?.unresolved !== undefined;
      this.update(
        TRANSIENT_FAILURE,
        () => this.nobody(resolution.picker),
        unresolved ? 'unresolved' : 'none',
      );
    } else if (backends.inState(CONNECTING, IDLE) > 0 || awaitingHealth(backends)) {
      this.parent.updateState(CONNECTING, new this.grpc.experimental.QueuePicker(this), null);
    } else if (backends.inState(READY) > 0) {
      this.update(TRANSIENT_FAILURE, () => this.notServing(backends), 'unhealthy');
    } else {
      this.update(TRANSIENT_FAILURE, () => this.unreachable(backends), 'unreachable');
    }
  }

  private update(
    state: connectivityState,
    details: () => string,
    reason: Parameters<ChannelMetrics['noBackend']>[0],
    drop = false,
  ): void {
    const failed = () => this.metrics.noBackend(reason);
    const picker = new FailingPicker(this.grpc, details, drop, failed);
    this.parent.updateState(state, picker, details());
  }

  /**
   * The READY backends that are healthy and not ejected; if every such one is ejected, those,
   * rather than failing calls that a connected backend may serve.
   */
  private usableView({ members }: BackendSet): View {
    for (const backend of members) backend.view = undefined;
    const ready = members.filter((backend) => backend.state === READY && backend.healthy);
    const usable = ready.filter((backend) => !backend.ejected);
    const view: View = { usable: usable.length > 0 ? usable : ready };
    for (const backend of view.usable) backend.view = view.usable;
    return view;
  }

  private get name(): string {
    return this.source?.name ?? 'unnamed';
  }

  private nobody(picker: Picker): string {
    const unresolved = picker.discovery?.unresolved;
    if (unresolved !== undefined) return `no instance of "${this.name}" known yet: ${unresolved}`;
    return `no healthy instance of "${this.name}"`;
  }

  /** Every connected backend's health service says it is not serving. */
  private notServing({ members }: BackendSet): string {
    const connected = members.filter((backend) => backend.state === READY);
    const n = connected.length;
    const which = n === 1 ? 'the 1 connected instance says' : `each of the ${n} connected says`;
    const listed = connected.slice(0, 3).map(({ address, health }) => `${address} ${health}`);
    if (n > 3) listed.push(`${n - 3} more`);
    return `no serving instance of "${this.name}": ${which} it is not serving (${listed.join(', ')})`;
  }

  private unreachable({ members }: BackendSet): string {
    const n = members.length;
    const which = n === 1 ? 'the 1 instance' : `any of the ${n} instances`;
    if (this.lastCause === undefined && this.lastMessage !== undefined) {
      this.lastCause = connectionError(this.lastMessage);
    }
    return `no connection to ${which} of "${this.name}"; last error: ${this.lastCause ?? 'none'}`;
  }
}

/** Whether a connected backend waits for its health service's first answer (A17). */
function awaitingHealth({ members }: BackendSet): boolean {
  return members.some((backend) => backend.state === READY && backend.health === 'PENDING');
}

/** The policy for the channels of `grpc`, as grpc-js constructs it: with its helper only. */
export function balancerOf(
  grpc: GrpcJs,
): Parameters<typeof experimental.registerLoadBalancerType>[1] {
  return class extends Balancer {
    constructor(helper: experimental.ChannelControlHelper) {
      super(grpc, helper);
    }
  };
}
