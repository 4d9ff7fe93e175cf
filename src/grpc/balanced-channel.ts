import {
  type Channel,
  type ChannelInterface,
  connectivityState,
  type Deadline,
  Channel as GrpcChannel,
} from '@grpc/grpc-js';
import type { Observable, Subscription } from 'rxjs';
import { MAX_TIMER_MS } from '../duration.js';
import type { Address } from '../instance.js';
import type { Picker } from '../picker.js';
import { BalancedCall, type CallArgs, type Route, type Router } from './balanced-call.js';
import { aggregateState, ConnectivityWatchers } from './connectivity.js';
import {
  type BalancedChannelOptions,
  type ChannelConfig,
  type OutlierDetectionOptions,
  resolveChannelConfig,
} from './options.js';
import { OutlierDetector } from './outlier-detection.js';
import { pickBackend } from './pick-backend.js';
import { Pool, type PoolSnapshot } from './pool.js';

type ChannelRef = ReturnType<ChannelInterface['getChannelzRef']>;

/** Where the channel's pickers come from, as far as it knows now. */
type Source =
  | { readonly kind: 'waiting' }
  | { readonly kind: 'picker'; readonly picker: Picker }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'closed' };

const QUEUE: Route = Object.freeze({ type: 'queue' });
const pools = new WeakMap<object, Pool>();
let nextCallNumber = 1;
let nextChannelzId = -1;

function unavailable(details: string): Route {
  return { type: 'fail', details };
}

/** The balanced channel: a grpc-js channel whose calls each go to the latest picker's choice. */
class BalancedChannel implements ChannelInterface, Router {
  readonly target: string;
  readonly name: string;
  private source: Source = { kind: 'waiting' };
  private state: connectivityState = connectivityState.IDLE;
  private readonly pool: Pool;
  /** The pool's lookup, made once rather than per call. */
  private readonly lookup = (address: Address) => this.pool.get(address);
  private readonly detector: OutlierDetector | undefined;
  private readonly queue = new Set<BalancedCall>();
  private readonly watchers = new ConnectivityWatchers();
  private readonly channelzRef: ChannelRef;
  private readonly subscription: Subscription;
  /** Keeps the process up while calls wait for a picker, like grpc-js's callRefTimer. */
  private queueRef: NodeJS.Timeout | undefined;

  constructor(picker$: Observable<Picker>, config: ChannelConfig) {
    this.name = config.name;
    this.target = `rxlb:///${config.name}`;
    // rxlb's channel is not registered with channelz (grpc-js has no public API for it); its
    // backends' channels are. A negative id never names a registered channel.
    // (`kind` is typed by a const enum grpc-js does not export; its value is 'channel'.)
    this.channelzRef = {
      kind: 'channel' as ChannelRef['kind'],
      id: nextChannelzId--,
      name: this.target,
    };
    const detector = config.outlierDetection
      ? new OutlierDetector(config.outlierDetection, config.name, (address, ejected) =>
          this.pool.setEjected(address, ejected),
        )
      : undefined;
    this.detector = detector;
    this.pool = new Pool(
      (address) => new GrpcChannel(address, config.credentials, config.channelOptions),
      {
        onStateChange: () => this.updateState(),
        onCallEnd: (address, outcome, details) => detector?.record(address, outcome, details),
      },
    );
    pools.set(this, this.pool);
    this.subscription = picker$.subscribe({
      next: (picker) =>
        this.serve(
          { kind: 'picker', picker },
          picker.instances.map((instance) => instance.address),
        ),
      error: (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.serve({ kind: 'failed', message }, []);
      },
      // On completion the last picker stays in use: discovery ended, the backends did not.
    });
  }

  /** Switches to a new source and its backends, then lets waiting calls try again. */
  private serve(source: Source, addresses: readonly Address[]): void {
    this.source = source;
    // Before the pool retires the backends that left, while they can still be un-ejected.
    this.detector?.retain(addresses);
    this.pool.sync(addresses);
    this.resumeQueued();
  }

  route(avoid: ReadonlySet<Address>, waitForReady: boolean): Route {
    const { source, name } = this;
    switch (source.kind) {
      case 'waiting':
        return QUEUE;
      case 'failed':
        return unavailable(`picker$ of "${name}" failed: ${source.message}`);
      case 'closed':
        return unavailable(`the channel of "${name}" is closed`);
      case 'picker': {
        const outcome = pickBackend(source.picker, this.lookup, avoid);
        if (outcome.type === 'backend') return outcome;
        if (outcome.type === 'exhausted') {
          return unavailable(
            avoid.size === 0
              ? `no usable instance of "${name}"`
              : `every instance of "${name}" was already tried (${[...avoid].join(', ')})`,
          );
        }
        // An empty picker fails calls at once, unless they are waitForReady, as in grpc-js.
        return waitForReady ? QUEUE : unavailable(`no healthy instance of "${name}"`);
      }
    }
  }

  enqueue(call: BalancedCall): void {
    this.queue.add(call);
    this.queueRef ??= setInterval(() => {}, MAX_TIMER_MS);
  }

  dequeue(call: BalancedCall): void {
    this.queue.delete(call);
    if (this.queue.size > 0) return;
    clearInterval(this.queueRef);
    this.queueRef = undefined;
  }

  private resumeQueued(): void {
    this.updateState();
    for (const call of [...this.queue]) call.resume();
  }

  private updateState(): void {
    const next = this.currentState();
    if (next === this.state) return;
    this.state = next;
    this.watchers.notify(next);
  }

  private currentState(): connectivityState {
    switch (this.source.kind) {
      case 'waiting':
        return connectivityState.IDLE;
      case 'failed':
        return connectivityState.TRANSIENT_FAILURE;
      case 'closed':
        return connectivityState.SHUTDOWN;
      case 'picker':
        return aggregateState(this.pool.states());
    }
  }

  close(): void {
    if (this.source.kind === 'closed') return;
    this.source = { kind: 'closed' };
    this.subscription.unsubscribe();
    this.detector?.close();
    this.pool.close();
    this.resumeQueued();
  }

  getTarget(): string {
    return this.target;
  }

  getConnectivityState(tryToConnect: boolean): connectivityState {
    if (tryToConnect) this.pool.connectAll();
    return this.state;
  }

  watchConnectivityState(
    currentState: connectivityState,
    deadline: Date | number,
    callback: (error?: Error) => void,
  ): void {
    if (this.state === connectivityState.SHUTDOWN) throw new Error('Channel has been shut down');
    this.watchers.add(currentState, this.state, deadline, callback);
  }

  getChannelzRef(): ChannelRef {
    return this.channelzRef;
  }

  createCall(
    method: string,
    deadline: Deadline,
    host: string | null | undefined,
    parentCall: CallArgs['parentCall'],
    propagateFlags: number | null | undefined,
  ): BalancedCall {
    const args: CallArgs = { method, deadline, host, parentCall, propagateFlags };
    return new BalancedCall(this, args, nextCallNumber++);
  }
}

/**
 * Creates a `@grpc/grpc-js` channel that sends each call to the backend the latest picker of
 * `picker$` chooses: pass it to nice-grpc's `createClient` (or to a grpc-js client as
 * `channelOverride`) like any channel.
 *
 * - It keeps one connection (a grpc-js channel) per address of the current picker, opened
 *   as soon as the address appears and closed once it is gone and its calls have ended.
 * - Each call asks the latest picker. A pick that lands on a backend that is not READY (its
 *   connection failed, or is being made again after a GOAWAY) or is ejected moves on to the
 *   next one while any backend is READY, so a dead or departing server stops receiving calls
 *   before discovery notices.
 * - Outlier detection (on by default, see {@link OutlierDetectionOptions}) takes a backend
 *   whose calls keep failing with connection errors out of picking for a while, even one
 *   whose connection looks READY, and tells `outlierDetection.onEjection`.
 * - Calls made before the first picker wait for it, within their deadline. With an empty
 *   picker a call fails at once with UNAVAILABLE (`no healthy instance of "greeter"`),
 *   unless it is `waitForReady`. If `picker$` errors, calls fail with UNAVAILABLE carrying
 *   its message; if it completes, the last picker stays in use.
 * - `close()` unsubscribes from `picker$`, fails waiting calls and closes every connection.
 *
 * Together with {@link retryOnAnotherInstance}, a call that fails with UNAVAILABLE is sent
 * again to a backend it has not tried.
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
): Channel & { close(): void } {
  if (typeof (picker$ as Partial<Observable<Picker>> | null)?.subscribe !== 'function') {
    throw new TypeError('createBalancedChannel(): picker$ must be an Observable of Picker');
  }
  const channel = new BalancedChannel(picker$, resolveChannelConfig(options));
  // grpc-js types channels as its class Channel, which has a private field no other class
  // can have; nice-grpc and grpc-js clients only use the ChannelInterface it implements.
  return channel as unknown as Channel;
}

/** The backend pool of a balanced channel, for tests. Not part of the public API. */
export function inspectPool(channel: object): PoolSnapshot {
  const pool = pools.get(channel);
  if (!pool) throw new TypeError('inspectPool(): not a channel made by createBalancedChannel()');
  return pool.snapshot();
}
