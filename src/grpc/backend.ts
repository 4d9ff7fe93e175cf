import { type ChannelOptions, connectivityState, experimental, status } from '@grpc/grpc-js';
import type { Instance } from '../instance.js';
import type { BackendHealth } from '../picker.js';
import type { AttemptLog } from './attempts.js';
import { BackendLoad, type LoadBoard } from './backend-load.js';
import { countOf } from './call-outcome.js';
import type { BackendCategory, ChannelMetrics, MeasuredBackend } from './channel-metrics.js';
import type { GrpcJs } from './grpc-js-module.js';
import { watchOn } from './health-service.js';
import {
  type HealthCheckConfig,
  type HealthSubject,
  HealthWatch,
  servesCalls,
} from './health-watch.js';

type PickArgs = experimental.PickArgs;
type PickResult = experimental.PickResult;

/** Where a backend's news goes: the balancer that owns it. */
export interface BackendOwner {
  /** Where its metrics go. */
  readonly metrics: ChannelMetrics;
  /** Client-side health checking, when the channel does it. */
  readonly healthCheck: HealthCheckConfig | undefined;
  /**
   * Its state changed: its connection (`previous` → `backend.state`, with an error or not),
   * or its connection failures in a row reached outlier detection's threshold.
   */
  changed(backend: ChannelBackend, previous: connectivityState, failed: boolean): void;
  /** Its health service's answer changed its health from `previous` to `backend.health`. */
  healthChanged(backend: ChannelBackend, previous: BackendHealth): void;
}

/**
 * The channel's backend of one member: a pick_first connection to its address, as grpc-js's
 * round_robin keeps its endpoints, whose connectivity state the balancer follows, what its
 * health service says while the channel checks health ({@link HealthWatch}), and what the
 * channel measures of its calls ({@link BackendLoad}). It is the `Backend` a policy reads.
 */
export class ChannelBackend extends BackendLoad implements MeasuredBackend, HealthSubject {
  instance: Instance;
  state: connectivityState = connectivityState.IDLE;
  /** What its health service says: see `BackendHealth`. Set by its {@link HealthWatch}. */
  health: BackendHealth;
  /** Taken out of picking by outlier detection until then: see `OutlierDetector`. */
  ejection: { readonly until: number } | undefined;
  /** Ejections in a row, and when it last returned from one: see `OutlierDetector`. */
  ejections = 0;
  returnedAt = 0;
  /** The details of its last failed call (see `countOf()`). */
  lastFailure = '';
  /** The view of usable backends that lists it, while one does. */
  view: readonly ChannelBackend[] | undefined;
  /**
   * grpc-js's last message about its connection, while it has one, as grpc-js made it (see
   * `lastError` for its cause): kept unread, it stays the concatenation grpc-js built.
   */
  #message: string | undefined;
  /** Whether its connection was READY once: READY again means it reconnected. */
  connectedBefore = false;
  /** The balancer's mark of the last update that listed it. */
  mark = 0;
  category: BackendCategory | undefined;
  private readonly leaf: experimental.LeafLoadBalancer;
  private picker: experimental.Picker;
  private destroyed = false;
  /** Its client-side health check, when the channel does them. */
  readonly #healthWatch: HealthWatch | undefined;
  /** The connection pick_first made for its address (the latest: it makes one per attempt). */
  #subchannel: experimental.SubchannelInterface | undefined;
  /** Whether a Watch went out on {@link #subchannel}'s channel, which then needs closing. */
  #watched = false;

  constructor(
    private readonly grpc: GrpcJs,
    instance: Instance,
    endpoint: experimental.Endpoint,
    helper: experimental.ChannelControlHelper,
    options: ChannelOptions,
    board: LoadBoard,
    private readonly owner: BackendOwner,
  ) {
    super(board);
    this.instance = instance;
    const { healthCheck } = owner;
    this.health = healthCheck ? 'PENDING' : 'UNCHECKED';
    this.#healthWatch = healthCheck && new HealthWatch(healthCheck, this);
    const helperOfBackend = new Helper(helper, this);
    this.leaf = new grpc.experimental.LeafLoadBalancer(endpoint, helperOfBackend, options, '');
    this.picker = this.leaf.getPicker();
  }

  get address(): string {
    return this.instance.address;
  }

  get ejected(): boolean {
    return this.ejection !== undefined;
  }

  /** Whether its health lets it take calls: `SERVING`, `UNIMPLEMENTED` or `UNCHECKED`. */
  get healthy(): boolean {
    return servesCalls(this.health);
  }

  /** grpc-js's last message about its connection, whole (see `lastError`). */
  get lastMessage(): string | undefined {
    return this.#message;
  }

  /** The last connection error grpc-js reported, e.g. `connect ECONNREFUSED 127.0.0.1:1`. */
  get lastError(): string | undefined {
    return this.#message === undefined ? undefined : connectionError(this.#message);
  }

  /** Starts connecting (and reconnecting whenever the connection is lost). */
  connect(): void {
    this.leaf.startConnecting();
  }

  exitIdle(): void {
    if (!this.destroyed) this.leaf.exitIdle();
  }

  destroy(): void {
    this.destroyed = true;
    this.view = undefined;
    this.#healthWatch?.stop();
    // grpc-js keeps the channel of a connection registered (channelz) until it is closed
    if (this.#watched) this.#subchannel?.getChannel().close();
    this.forget();
    this.leaf.destroy();
  }

  /** pick_first made a connection for its address: the one its Watch goes out on. */
  subchannelCreated(subchannel: experimental.SubchannelInterface): void {
    const previous = this.#subchannel;
    if (this.#watched && previous && !subchannel.realSubchannelEquals(previous)) {
      previous.getChannel().close();
      this.#watched = false;
    }
    this.#subchannel = subchannel;
  }

  healthChanged(previous: BackendHealth): void {
    if (!this.destroyed) this.owner.healthChanged(this, previous);
  }

  /**
   * The pick result of a call sent to this backend: its connection's own result, with the
   * call measured from the moment it goes out to its end. When the connection is no longer
   * READY (the view is a moment behind), grpc-js's own result queues or fails the call.
   */
  complete(
    args: PickArgs,
    log: AttemptLog | undefined,
    localityOf?: (instance: Instance) => string | undefined,
  ): PickResult {
    const result = this.picker.pick(args);
    if (result.pickResultType !== experimental.PickResultType.COMPLETE) return result;
    const { metrics } = this.owner;
    const attributes = metrics.enabled ? metrics.attempt(args) : undefined;
    if (attributes && localityOf)
      attributes['grpc.lb.locality'] = zoneLabel(localityOf, this.instance);
    const { attemptStarted, attemptDuration } = metrics.instruments;
    let startedAt = 0;
    return {
      pickResultType: result.pickResultType,
      subchannel: result.subchannel,
      status: null,
      onCallStarted: () => {
        result.onCallStarted?.();
        startedAt = performance.now();
        this.started();
        log?.tried.add(this.instance.address);
        if (attributes) attemptStarted.add(1, attributes);
      },
      onCallEnded: (code, details, metadata) => {
        result.onCallEnded?.(code, details, metadata);
        const now = performance.now();
        const durationMs = now - startedAt;
        if (attributes) {
          const ended = { ...attributes, 'grpc.status': status[code] ?? String(code) };
          attemptDuration.record(durationMs / 1000, ended);
        }
        this.#ended(now, durationMs, code, details);
      },
    };
  }

  /** What grpc-js's leaf says of the connection. */
  update(state: connectivityState, picker: experimental.Picker, errorMessage: string | null): void {
    if (this.destroyed) return;
    this.picker = picker;
    if (errorMessage) this.#message = errorMessage;
    const previous = this.state;
    this.state = state;
    const { READY } = connectivityState;
    if (previous === READY && state !== previous) {
      // A failure while the connection is down is explained by that: its count starts over.
      this.consecutiveFailures = 0;
      this.#healthWatch?.stop();
    } else if (state === READY && previous !== READY) {
      this.#watchHealth();
    }
    this.owner.changed(this, previous, errorMessage !== null);
  }

  /** Its connection is READY: a new Watch on it, and no call until it answers. */
  #watchHealth(): void {
    const watch = this.#healthWatch;
    const subchannel = this.#subchannel;
    if (watch === undefined || subchannel === undefined) return;
    this.#watched = true;
    watch.connected(watchOn(this.grpc, subchannel, this.address));
  }

  #ended(now: number, durationMs: number, code: status, details: string) {
    if (countOf(code) === 'failure') this.lastFailure = details;
    const usable = this.state === connectivityState.READY && this.healthy && !this.ejected;
    const counting = !this.destroyed && usable;
    if (this.ended(now, durationMs, code, counting)) this.owner.changed(this, this.state, false);
  }
}

/**
 * A backend's channel helper: the owner's, but for the state, which is the backend's own.
 * Methods on a prototype rather than closures: grpc-js's leaf binds each of them again, per
 * backend, and that is all it costs.
 */
class Helper implements experimental.ChannelControlHelper {
  constructor(
    private readonly parent: experimental.ChannelControlHelper,
    private readonly backend: ChannelBackend,
  ) {}

  createSubchannel(
    address: experimental.SubchannelAddress,
    options: ChannelOptions,
  ): experimental.SubchannelInterface {
    const subchannel = this.parent.createSubchannel(address, options);
    this.backend.subchannelCreated(subchannel);
    return subchannel;
  }

  updateState(
    state: connectivityState,
    picker: experimental.Picker,
    errorMessage: string | null,
  ): void {
    this.backend.update(state, picker, errorMessage);
  }

  requestReresolution(): void {
    this.parent.requestReresolution();
  }

  addChannelzChild(child: Parameters<experimental.ChannelControlHelper['addChannelzChild']>[0]) {
    this.parent.addChannelzChild(child);
  }

  removeChannelzChild(
    child: Parameters<experimental.ChannelControlHelper['removeChannelzChild']>[0],
  ) {
    this.parent.removeChannelzChild(child);
  }
}

/** A policy's zone of `instance`, for a metric label: `''` when it has none, or throws. */
function zoneLabel(localityOf: (instance: Instance) => string | undefined, instance: Instance) {
  try {
    const zone = localityOf(instance);
    return typeof zone === 'string' ? zone : '';
  } catch {
    return ''; // a policy's mistake costs the label, never the call
  }
}

/**
 * The cause in pick_first's message, `No connection established. Last error: <cause>.
 * Resolution note: <note>`; the whole message when it has another shape.
 */
export function connectionError(message: string): string {
  const match = /Last error: (.*?)(?:\. Resolution note: .*)?$/s.exec(message);
  // grpc-js 1.14 writes the cause as an Error prints itself: `Error: connect ECONNREFUSED ...`
  return (match?.[1] ?? message).replace(/^Error: /, '');
}
