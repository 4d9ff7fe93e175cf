import {
  type Channel,
  type ChannelCredentials,
  type ChannelOptions,
  connectivityState,
} from '@grpc/grpc-js';
import type { Observable } from 'rxjs';
import type { Instance } from '../instance.js';
import type { BackendHealth, Picker } from '../picker.js';
import { BalancerConfig, balancerOf, POLICY } from './balancer.js';
import type { GrpcJs } from './grpc-js-module.js';
import { type BalancedChannelOptions, resolveChannelConfig } from './options.js';
import { pickerResolverOf, SCHEME, SOURCE_OPTION } from './picker-resolver.js';
import { PickerSource } from './picker-source.js';

/** One member's backend as {@link BalancedChannel.backends} reports it. */
export interface BackendStatus {
  readonly instance: Instance;
  /** Its connection's state, by gRPC's names. */
  readonly state: 'IDLE' | 'CONNECTING' | 'READY' | 'TRANSIENT_FAILURE' | 'SHUTDOWN';
  /** Taken out of picking by outlier detection. */
  readonly ejected: boolean;
  /**
   * What its health service says, when the channel checks health (`'UNCHECKED'` when it
   * does not): it takes calls only while `'SERVING'` (or `'UNIMPLEMENTED'`). See
   * `BackendHealth`.
   */
  readonly health: BackendHealth;
  /** Calls on it that have not ended. */
  readonly inFlight: number;
  /** Its latency estimate in ms, as policies read it (see `Backend.latencyMs`). */
  readonly latencyMs: number;
  /** Its recent successes and failures, decayed as of its last call's end (see `Backend`). */
  readonly successes: number;
  readonly failures: number;
  /** The last connection error grpc-js reported for it, if any. */
  readonly lastError: string | undefined;
}

/**
 * A channel made by {@link createBalancedChannel}: a `@grpc/grpc-js` `Channel` that can also
 * say what it sees of its backends.
 */
export interface BalancedChannel extends Channel {
  /** Stops following `picker$`, fails the calls still waiting and closes every connection. */
  close(): void;
  /**
   * The backends of the current picker's members, in its order: connection state, ejection,
   * health, calls in flight and what the channel measured of their calls. Empty before the first picker, while the channel is IDLE (grpc-js lets
   * an unused channel's connections go after `'grpc.client_idle_timeout_ms'`) and after
   * `close()`.
   */
  backends(): readonly BackendStatus[];
}

type BalancedChannelClass = new (
  source: PickerSource,
  target: string,
  credentials: ChannelCredentials,
  options: ChannelOptions,
) => BalancedChannel;

/** The channel class of each grpc-js module, whose resolver and policy are registered. */
const channelClasses = new WeakMap<GrpcJs, BalancedChannelClass>();

/**
 * The balanced channel class of `grpc`. The first time, registers rxlb's resolver and policy
 * with that module: each copy of grpc-js has its own registry.
 */
function channelClassOf(grpc: GrpcJs): BalancedChannelClass {
  const known = channelClasses.get(grpc);
  if (known) return known;
  grpc.experimental.registerResolver(SCHEME, pickerResolverOf(grpc));
  grpc.experimental.registerLoadBalancerType(POLICY, balancerOf(grpc), BalancerConfig);

  class BalancedGrpcChannel extends grpc.Channel implements BalancedChannel {
    constructor(
      private readonly source: PickerSource,
      target: string,
      credentials: ChannelCredentials,
      options: ChannelOptions,
    ) {
      super(target, credentials, options);
    }

    override close(): void {
      super.close();
      this.source.close();
    }

    backends(): readonly BackendStatus[] {
      return this.source.backends.members.map((backend) => ({
        instance: backend.instance,
        state: connectivityState[backend.state] as BackendStatus['state'],
        ejected: backend.ejected,
        health: backend.health,
        inFlight: backend.inFlight,
        latencyMs: backend.latencyMs,
        successes: backend.successes,
        failures: backend.failures,
        lastError: backend.lastError,
      }));
    }
  }
  channelClasses.set(grpc, BalancedGrpcChannel);
  return BalancedGrpcChannel;
}

/** The grpc-js options of the channel: the user's, with the policy and no proxy. */
function grpcOptions(user: ChannelOptions, source: PickerSource): ChannelOptions {
  const json = user['grpc.service_config'];
  const serviceConfig = typeof json === 'string' ? (JSON.parse(json) as object) : {};
  return {
    ...user,
    'grpc.service_config': JSON.stringify({
      ...serviceConfig,
      loadBalancingConfig: [{ [POLICY]: {} }],
    }),
    'grpc.enable_http_proxy': 0,
    [SOURCE_OPTION]: source,
  };
}

/**
 * Creates a `@grpc/grpc-js` channel that sends each call to the backend the latest picker of
 * `picker$` chooses: pass it to nice-grpc's `createClient` (or to a grpc-js client as
 * `channelOverride`) like any channel. It is a grpc-js channel (`rxlb:///<name>`) whose
 * load-balancing policy is rxlb's: grpc-js's own machinery queues, retries transparently,
 * applies deadlines and `waitForReady`, as it does for its `round_robin`.
 *
 * - It keeps one connection per member of the current picker, opened as the member appears
 *   (the channel connects at once, not at its first call) and kept open: a lost connection
 *   is made again at once. A member that leaves is closed gracefully: its calls in flight end.
 * - Each call asks the latest picker to choose among the usable backends only: connected
 *   (READY), serving (when it checks health) and not ejected. A backend that is connecting,
 *   reconnecting after a GOAWAY, or dead gets no call, before discovery notices.
 * - A call with no usable backend waits in the channel while some backend is connecting, and
 *   is picked again the moment one becomes READY or a new picker arrives. A call that is not
 *   `waitForReady` fails with UNAVAILABLE when every backend failed to connect
 *   (`no connection to any of the 3 instances of "greeter"; last error: connect
 *   ECONNREFUSED 10.0.0.7:50051`), when the picker is empty (`no healthy instance of
 *   "greeter"`) or when discovery has never answered and is failing (`no instance of
 *   "greeter" known yet: health query for "greeter" at http://127.0.0.1:8500 failed:
 *   ECONNREFUSED`). A `waitForReady` call waits for any backend, within its deadline.
 * - Outlier detection (on by default, see {@link OutlierDetectionOptions}) takes a backend
 *   whose calls keep failing for its own sake (UNAVAILABLE, INTERNAL, UNKNOWN, DATA_LOSS,
 *   a lost connection; never the caller's errors) out of picking for a while, even one
 *   whose connection looks READY, and tells `outlierDetection.onEjection`; a backend whose
 *   connection is lost and made again returns at once.
 * - If `picker$` errors, or emits something that is not a picker, calls fail with
 *   UNAVAILABLE carrying why; if it completes, the last picker stays in use.
 * - `close()` unsubscribes from `picker$`, fails waiting calls, cancels the health checks'
 *   streams and closes every connection (calls in flight end first). `backends()` says
 *   what the channel sees of each member.
 *
 * Together with {@link retryOnAnotherInstance}, a call that fails with UNAVAILABLE is sent
 * again to a backend it has not tried. Needs `@grpc/grpc-js` 1.14 or later in 1.x: the
 * policy is written against its load-balancer API.
 *
 * @example
 * ```ts
 * import { createClient } from 'nice-grpc';
 * import { consulInstances$, createBalancedChannel, diff, roundRobin } from 'rxlb';
 * import { GreeterDefinition } from './generated/greeter.js';
 *
 * const channel = createBalancedChannel(
 *   consulInstances$('greeter').pipe(diff(), roundRobin()),
 *   { name: 'greeter' },
 * );
 * const greeter = createClient(GreeterDefinition, channel);
 * console.log(await greeter.sayHello({ name: 'world' }));
 * channel.close();
 * ```
 */
export function createBalancedChannel(
  picker$: Observable<Picker>,
  options?: BalancedChannelOptions,
): BalancedChannel {
  if (typeof (picker$ as Partial<Observable<Picker>> | null)?.subscribe !== 'function') {
    throw new TypeError('createBalancedChannel(): picker$ must be an Observable of Picker');
  }
  const config = resolveChannelConfig(options);
  const BalancedGrpcChannel = channelClassOf(config.grpc);
  const target = `${SCHEME}:///${encodeURIComponent(config.name ?? 'unnamed')}`;
  const source = new PickerSource(picker$, config, target);
  try {
    const options = grpcOptions(config.channelOptions, source);
    const channel = new BalancedGrpcChannel(source, target, config.credentials, options);
    // Connect now, so that the first call finds backends READY, as rxlb always has.
    channel.getConnectivityState(true);
    return channel;
  } catch (error) {
    source.close();
    throw error;
  }
}
