import {
  type CallCredentials,
  type ChannelInterface,
  type Deadline,
  type experimental,
  type InterceptingListener,
  Metadata,
  propagate,
  type StatusObject,
  status,
} from '@grpc/grpc-js';
import { MAX_TIMER_MS } from '../duration.js';
import type { Address } from '../instance.js';
import { AVOID_KEY, BACKEND_KEY, decodeAvoid } from './attempt-metadata.js';
import { callOutcome, isGrpcResponse } from './call-outcome.js';
import type { Backend } from './pool.js';

type CallStream = experimental.CallStream;
type MessageContext = Parameters<CallStream['sendMessageWithContext']>[0];
type ParentCall = Parameters<ChannelInterface['createCall']>[3];
type AuthContext = ReturnType<CallStream['getAuthContext']>;

/** Where a call goes, as the channel decides it when the call starts. */
export type Route =
  | { readonly type: 'backend'; readonly backend: Backend }
  /** No picker yet (or an empty one and the call is `waitForReady`): wait for the next. */
  | { readonly type: 'queue' }
  /** Fail with UNAVAILABLE and these details. */
  | { readonly type: 'fail'; readonly details: string };

/** The channel, as one call sees it. */
export interface Router {
  /** `getPeer()` of a call that has no backend. */
  readonly target: string;
  /** The service's name, for messages. */
  readonly name: string;
  route(avoid: ReadonlySet<Address>, waitForReady: boolean): Route;
  /** Keeps a call that got `queue` until the picker changes; then calls its `resume()`. */
  enqueue(call: BalancedCall): void;
  dequeue(call: BalancedCall): void;
}

/** The arguments of `Channel.createCall()`, kept for the backend's own `createCall()`. */
export interface CallArgs {
  readonly method: string;
  readonly deadline: Deadline;
  readonly host: string | null | undefined;
  readonly parentCall: ParentCall;
  readonly propagateFlags: number | null | undefined;
}

/** What a call that avoids no address avoids: shared, since most calls are such. */
const NO_ADDRESSES: ReadonlySet<Address> = new Set();

function deadlineMs(deadline: Deadline): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/**
 * One call on the balanced channel. Until it has a backend it buffers what the client does
 * (messages, reads, half-close, credentials), as grpc-js's ResolvingCall does while it waits
 * for name resolution; once the router gives it a backend, it becomes a call on that
 * backend's channel and forwards everything both ways.
 */
export class BalancedCall implements CallStream {
  private child: CallStream | undefined;
  private listener: InterceptingListener | undefined;
  /** The request metadata to send; set by `start()`, which comes before anything else. */
  private metadata: Metadata | undefined;
  private avoid = NO_ADDRESSES;
  private reportBackend = false;
  private ended = false;
  private queued = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly writes: { context: MessageContext; message: Buffer }[] = [];
  private readPending = false;
  private halfClosePending = false;
  private credentials: CallCredentials | undefined;

  constructor(
    private readonly router: Router,
    private readonly args: CallArgs,
    private readonly callNumber: number,
  ) {
    const flags = args.propagateFlags ?? propagate.DEFAULTS;
    if (args.parentCall && flags & propagate.CANCELLATION) {
      // Once a backend is chosen, its own call propagates the cancellation.
      args.parentCall.on('cancelled', () => {
        if (!this.child) this.end(status.CANCELLED, 'Cancelled by parent call');
      });
    }
  }

  start(metadata: Metadata, listener: InterceptingListener): void {
    this.listener = listener;
    // retryOnAnotherInstance's request: see attempt-metadata.ts. Never sent to a backend,
    // and removed from a copy: the caller's metadata stays as it was.
    const avoid = metadata.get(AVOID_KEY);
    if (avoid.length > 0) {
      this.avoid = decodeAvoid(avoid);
      this.reportBackend = true;
      this.metadata = metadata.clone();
      this.metadata.remove(AVOID_KEY);
    } else {
      this.metadata = metadata;
    }
    this.resume();
  }

  /** Asks the router again; called at start and, while queued, on every picker change. */
  resume(): void {
    const { metadata } = this;
    if (this.ended || this.child || !metadata) return;
    const route = this.router.route(this.avoid, metadata.getOptions().waitForReady ?? false);
    if (route.type === 'queue') {
      if (!this.queued) this.wait();
      return;
    }
    this.stopWaiting();
    if (route.type === 'fail') this.end(status.UNAVAILABLE, route.details);
    else this.attach(route.backend, metadata);
  }

  private wait(): void {
    this.queued = true;
    this.router.enqueue(this);
    const { deadline, parentCall, propagateFlags } = this.args;
    const flags = propagateFlags ?? propagate.DEFAULTS;
    let ms = deadlineMs(deadline);
    if (parentCall && flags & propagate.DEADLINE) {
      ms = Math.min(ms, deadlineMs(parentCall.getDeadline()));
    }
    const timeout = ms - Date.now();
    if (timeout > MAX_TIMER_MS) return;
    this.timer = setTimeout(
      () => {
        this.end(
          status.DEADLINE_EXCEEDED,
          `Deadline exceeded waiting for an instance of "${this.router.name}"`,
        );
      },
      Math.max(timeout, 0),
    );
  }

  private stopWaiting(): void {
    if (!this.queued) return;
    this.queued = false;
    clearTimeout(this.timer);
    this.router.dequeue(this);
  }

  private attach(backend: Backend, metadata: Metadata): void {
    const { method, deadline, host, parentCall, propagateFlags } = this.args;
    const child = backend.channel.createCall(method, deadline, host, parentCall, propagateFlags);
    this.child = child;
    backend.acquire();
    if (this.credentials) child.setCredentials(this.credentials);
    // Whether a gRPC server answered: outlier detection counts only failures before that.
    let answered = false;
    child.start(metadata, {
      onReceiveMetadata: (metadata) => {
        answered ||= isGrpcResponse(metadata);
        this.listener?.onReceiveMetadata(metadata);
      },
      onReceiveMessage: (message) => {
        answered = true;
        this.listener?.onReceiveMessage(message);
      },
      onReceiveStatus: (result) => {
        this.ended = true;
        backend.release(callOutcome(result, answered), result.details);
        this.listener?.onReceiveStatus(this.withBackend(result, backend.address));
      },
    });
    for (const { context, message } of this.writes.splice(0)) {
      child.sendMessageWithContext(context, message);
    }
    if (this.readPending) child.startRead();
    if (this.halfClosePending) child.halfClose();
  }

  private withBackend(result: StatusObject, address: Address): StatusObject {
    if (!this.reportBackend) return result;
    const metadata = result.metadata.clone();
    metadata.set(BACKEND_KEY, address);
    return { ...result, metadata };
  }

  /** Ends a call that never reached a backend. */
  private end(code: status, details: string): void {
    if (this.ended) return;
    this.ended = true;
    this.stopWaiting();
    const result: StatusObject = { code, details, metadata: new Metadata() };
    // Asynchronously, as grpc-js does: a status must never arrive inside start().
    process.nextTick(() => this.listener?.onReceiveStatus(result));
  }

  cancelWithStatus(code: status, details: string): void {
    if (this.child) this.child.cancelWithStatus(code, details);
    else this.end(code, details);
  }

  getPeer(): string {
    return this.child?.getPeer() ?? this.router.target;
  }

  sendMessageWithContext(context: MessageContext, message: Buffer): void {
    if (this.child) this.child.sendMessageWithContext(context, message);
    else this.writes.push({ context, message });
  }

  startRead(): void {
    if (this.child) this.child.startRead();
    else this.readPending = true;
  }

  halfClose(): void {
    if (this.child) this.child.halfClose();
    else this.halfClosePending = true;
  }

  getCallNumber(): number {
    return this.callNumber;
  }

  setCredentials(credentials: CallCredentials): void {
    if (this.child) this.child.setCredentials(credentials);
    else this.credentials = credentials;
  }

  getAuthContext(): AuthContext {
    return this.child?.getAuthContext() ?? null;
  }
}
