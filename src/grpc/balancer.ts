import {
  type ChannelOptions,
  connectivityState,
  type experimental,
  type Metadata,
  type status,
} from '@grpc/grpc-js';
import { discoveryOf } from '../discovery.js';
import type { Address, Instance } from '../instance.js';
import { notify } from '../notify.js';
import type { Picker } from '../picker.js';
import { BackendEntry, type BackendOwner, connectionError } from './backend.js';
import { BackendSet } from './backend-set.js';
import { callOutcome } from './call-outcome.js';
import { ChannelMetrics } from './channel-metrics.js';
import type { GrpcJs } from './grpc-js-module.js';
import { OutlierDetector } from './outlier-detection.js';
import { RESOLUTION_ATTRIBUTE, SOURCE_OPTION } from './picker-resolver.js';
import { PickerSource, type Resolution } from './picker-source.js';
import { BalancedPicker, FailingPicker, type View } from './pickers.js';

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
 * rxlb's picker, which sees them through a {@link View}, and outlier detection can take a
 * backend out of that view.
 *
 * The state it reports, as round_robin's: READY while some backend is usable; else
 * CONNECTING while some is connecting (calls wait in the channel); else TRANSIENT_FAILURE
 * (calls fail with UNAVAILABLE unless they are `waitForReady`): every backend failed to
 * connect, or there is none. If `picker$` failed, every call fails.
 */
export class Balancer implements experimental.LoadBalancer, BackendOwner {
  private readonly backends: BackendSet;
  private resolution: Resolution | undefined;
  private source: PickerSource | undefined;
  /** Why the resolver failed, when it did without a resolution (a target made by hand). */
  private resolverError: string | undefined;
  private view: View | undefined;
  private detector: OutlierDetector | undefined;
  metrics = ChannelMetrics.NONE;
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

  /** What the backends get of grpc-js's helper: everything but `requestReresolution()`. */
  private readonly helper: experimental.ChannelControlHelper;

  constructor(
    /** The grpc-js of the channel: the backends' connections and the failures' metadata are its. */
    private readonly grpc: GrpcJs,
    private readonly parent: experimental.ChannelControlHelper,
  ) {
    this.helper = grpc.experimental.createChildChannelControlHelper(parent, {
      // Discovery pushes every change: asking it again cannot tell more.
      requestReresolution: () => {},
    });
    this.backends = new BackendSet(
      (instance, endpoint) =>
        new BackendEntry(grpc, instance, endpoint, this.helper, this.leafOptions, this),
      (backend) => this.metrics.removed(backend),
    );
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
      this.sync([], leafOptions(options));
      this.publish();
      return true;
    }
    this.source = source;
    source.balancer = this;
    if (this.metrics === ChannelMetrics.NONE) {
      this.metrics = new ChannelMetrics(source.config.metrics, source.target);
    }
    this.resolution = resolution;
    const config = source.config.outlierDetection;
    if (config && !this.detector) {
      this.detector = new OutlierDetector(
        config,
        () => source.name,
        (address, ejected) => this.setEjected(address, ejected),
      );
    }
    this.sync(
      resolution.kind === 'picker' ? resolution.picker.instances : [],
      leafOptions(options),
    );
    this.publish();
    return true;
  }

  /** grpc-js calls this for every call: O(1) unless a backend is IDLE, which is rare. */
  exitIdle(): void {
    if (this.backends.inState(IDLE) === 0) return;
    for (const backend of this.backends.members) {
      if (backend.state === IDLE) backend.exitIdle();
    }
  }

  resetBackoff(): void {
    // Each backend's pick_first keeps its own backoff, as in grpc-js's round_robin.
  }

  destroy(): void {
    this.destroyed = true;
    if (this.source?.balancer === this) this.source.balancer = undefined;
    this.backends.clear();
    this.detector?.close();
  }

  getTypeName(): string {
    return POLICY;
  }

  /** The backends of the current members, in the picker's order. */
  backendsNow(): readonly BackendEntry[] {
    return this.backends.members;
  }

  stateChanged(backend: BackendEntry, previous: connectivityState, failed: boolean): void {
    if (this.destroyed || !this.backends.has(backend)) return;
    const { state, address } = backend;
    this.metrics.connection(backend, previous, failed);
    const message = backend.lastMessage;
    if (message !== undefined && message !== this.lastMessage) {
      this.lastMessage = message;
      this.lastCause = undefined;
    }
    if (state !== previous) {
      this.backends.moved(backend, previous);
      if (previous === READY) this.detector?.disconnected(address);
      if (state === READY) {
        if (backend.connectedBefore) this.detector?.reconnected(address);
        backend.connectedBefore = true;
      }
      if ((state === READY) !== (previous === READY)) this.view = undefined;
      // Keep every backend connected, as round_robin does: a lost connection is made again.
      if (state === IDLE) process.nextTick(() => backend.exitIdle());
    }
    this.publish();
  }

  callEnded(
    backend: BackendEntry,
    picker: Picker,
    code: status,
    details: string,
    metadata: Metadata,
    durationMs: number,
  ): void {
    const outcome = callOutcome(code, metadata);
    // A failure while the connection is down is explained by that; the state says it already.
    if (backend.state === READY && this.backends.has(backend)) {
      this.detector?.record(backend.address, outcome, details);
    }
    if (picker.callEnded) {
      const report = {
        instance: backend.instance,
        durationMs,
        code,
        connectionFailure: outcome === 'failure',
      };
      notify((value: typeof report) => picker.callEnded?.(value), report);
    }
  }

  /** Makes the backends those of `instances`: new ones connect, departed ones close. */
  private sync(instances: readonly Instance[], options: ChannelOptions): void {
    this.syncing = true;
    try {
      this.leafOptions = options;
      const created = this.backends.sync(instances);
      this.view = undefined;
      this.detector?.retain(this.backends.members.map((backend) => backend.address));
      for (const backend of created) {
        this.metrics.categorize(backend);
        backend.connect();
      }
    } finally {
      this.syncing = false;
    }
  }

  private setEjected(address: Address, ejected: boolean): void {
    const backend = this.backends.byAddress.get(address);
    if (!backend || backend.ejected === ejected) return;
    backend.ejected = ejected;
    if (ejected) this.metrics.ejected();
    this.metrics.categorize(backend);
    if (backend.state === READY) this.view = undefined;
    this.publish();
  }

  /** Tells grpc-js the state and picker that follow from the resolution and the backends. */
  private publish(): void {
    if (this.destroyed || this.syncing) return;
    const { resolution } = this;
    if (resolution === undefined || resolution.kind === 'failed') {
      const details = resolution?.kind === 'failed' ? resolution.message : this.resolverError;
      this.update(TRANSIENT_FAILURE, () => details ?? 'no picker', 'picker-failed', true);
      return;
    }
    if (resolution.kind === 'waiting') return;
    this.view ??= this.usableView();
    const { view } = this;
    if (view.usable.length > 0) {
      const picker = new BalancedPicker(
        this.grpc,
        resolution.picker,
        view,
        this.backends.byAddress,
        this.name,
        () => this.metrics.noBackend('all-tried'),
      );
      this.parent.updateState(READY, picker, null);
    } else if (this.backends.members.length === 0) {
      const unresolved = discoveryOf(resolution.picker)?.unresolved !== undefined;
      this.update(
        TRANSIENT_FAILURE,
        () => this.nobody(resolution.picker),
        unresolved ? 'unresolved' : 'none',
      );
    } else if (this.backends.inState(CONNECTING, IDLE) > 0) {
      this.parent.updateState(CONNECTING, new this.grpc.experimental.QueuePicker(this), null);
    } else {
      this.update(TRANSIENT_FAILURE, () => this.unreachable(), 'unreachable');
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
   * The READY backends that are not ejected; if every READY one is ejected, those, rather
   * than failing calls that a connected backend may serve.
   */
  private usableView(): View {
    const { members } = this.backends;
    for (const backend of members) backend.view = undefined;
    const ready = members.filter((backend) => backend.state === READY);
    const usable = ready.filter((backend) => !backend.ejected);
    const view: View = { usable: usable.length > 0 ? usable : ready };
    for (const backend of view.usable) backend.view = view;
    return view;
  }

  private get name(): string {
    return this.source?.name ?? 'unnamed';
  }

  private nobody(picker: Picker): string {
    const unresolved = discoveryOf(picker)?.unresolved;
    if (unresolved !== undefined) return `no instance of "${this.name}" known yet: ${unresolved}`;
    return `no healthy instance of "${this.name}"`;
  }

  private unreachable(): string {
    const n = this.backends.members.length;
    const which = n === 1 ? 'the 1 instance' : `any of the ${n} instances`;
    if (this.lastCause === undefined && this.lastMessage !== undefined) {
      this.lastCause = connectionError(this.lastMessage);
    }
    return `no connection to ${which} of "${this.name}"; last error: ${this.lastCause ?? 'none'}`;
  }
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
