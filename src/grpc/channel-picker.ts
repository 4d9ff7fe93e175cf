import { connectivityState, experimental, status } from '@grpc/grpc-js';
import type { Address } from '../instance.js';
import type { Backends, Call, CallMetadata, Picker } from '../picker.js';
import { type AttemptLog, takeAttemptLog } from './attempts.js';
import type { ChannelBackend } from './backend.js';
import type { GrpcJs } from './grpc-js-module.js';
import { METHOD_KEY } from './method-config-selector.js';

type PickArgs = experimental.PickArgs;
type PickResult = experimental.PickResult;

/** The channel's view of usable backends, with its own entries. */
export interface View extends Backends {
  readonly usable: readonly ChannelBackend[];
}

const QUEUE: PickResult = Object.freeze({
  pickResultType: experimental.PickResultType.QUEUE,
  subchannel: null,
  status: null,
  onCallStarted: null,
  onCallEnded: null,
});

/**
 * The channel's picker while some backend is usable: the policy's picker chooses among the
 * view, and the chosen backend's connection completes the pick, as grpc-js's round_robin
 * delegates to its endpoints' pickers. A call of {@link retryOnAnotherInstance} avoids the
 * backends it went out on before.
 */
export class BalancedPicker implements experimental.Picker {
  private fallback = 0;
  /** The policy's view of the call being picked for, reused from call to call. */
  private readonly call = new CallView();

  constructor(
    /** The channel's grpc-js: its failures carry that module's metadata. */
    private readonly grpc: GrpcJs,
    private readonly policy: Picker,
    private readonly view: View,
    /** Every member's backend, by address, usable or not. */
    private readonly members: ReadonlyMap<Address, ChannelBackend>,
    private readonly name: string,
    /** Hears of a retry that fails here, every instance tried. */
    private readonly exhausted: () => void,
  ) {}

  pick(args: PickArgs): PickResult {
    const log = takeAttemptLog(args.metadata);
    this.call.args = args;
    try {
      if (log !== undefined && log.tried.size > 0) return this.pickAvoiding(args, log);
      return this.choose(this.view, log).complete(args, log, this.policy.localityOf);
    } finally {
      this.call.args = undefined;
    }
  }

  /** The policy's choice among `view`, or, if it chose something else, the next in turn. */
  private choose(view: View, log: AttemptLog | undefined): ChannelBackend {
    let chosen: ChannelBackend | undefined;
    try {
      const instance = this.policy.pick(view, this.call);
      chosen = instance === undefined ? undefined : this.members.get(instance.address);
    } catch {
      // A policy that throws has lost its say, as one that returns something else.
    }
    if (chosen?.view === this.view.usable && !log?.tried.has(chosen.address)) return chosen;
    this.fallback = this.fallback + 1 < view.usable.length ? this.fallback + 1 : 0;
    return view.usable[this.fallback] ?? (view.usable[0] as ChannelBackend);
  }

  private pickAvoiding(args: PickArgs, log: AttemptLog): PickResult {
    const untried = this.view.usable.filter((backend) => !log.tried.has(backend.address));
    if (untried.length > 0) {
      return this.choose({ usable: untried }, log).complete(args, log, this.policy.localityOf);
    }
    let pending = false;
    for (const backend of this.members.values()) {
      if (log.tried.has(backend.address)) continue;
      const { state } = backend;
      pending ||= state === connectivityState.IDLE || state === connectivityState.CONNECTING;
      // connected, and waiting for its health service's first answer
      pending ||= state === connectivityState.READY && backend.health === 'PENDING';
    }
    if (pending) return QUEUE;
    const tried = [...log.tried].join(', ');
    const details = [...this.members.keys()].every((address) => log.tried.has(address))
      ? `every instance of "${this.name}" was already tried (${tried})`
      : `no instance of "${this.name}" that this call has not tried (${tried}) is connected`;
    this.exhausted();
    return failure(this.grpc, details, true);
  }
}

/**
 * The {@link Call} a policy reads: grpc-js's pick arguments behind a read-only view, so that
 * a pick allocates nothing for a policy that does not look, and policies import no grpc-js.
 */
class CallView implements Call, CallMetadata {
  args: PickArgs | undefined;

  get method(): string {
    return this.args?.extraPickInfo[METHOD_KEY] ?? '';
  }

  get metadata(): CallMetadata {
    return this;
  }

  get(key: string): string | undefined {
    if (this.args === undefined || key.endsWith('-bin')) return undefined;
    const values = this.args.metadata.get(key);
    if (values.length === 1) return typeof values[0] === 'string' ? values[0] : undefined;
    const text = values.filter((value): value is string => typeof value === 'string');
    return text.length === 0 ? undefined : text.join(',');
  }
}

/**
 * Fails every pick with UNAVAILABLE and `details()`: a TRANSIENT_FAILURE result (grpc-js
 * queues `waitForReady` calls and fails the others), or with `drop` a DROP result (every call
 * fails, `waitForReady` or not). `failed` hears of every call that fails here.
 */
export class FailingPicker implements experimental.Picker {
  constructor(
    private readonly grpc: GrpcJs,
    private readonly details: () => string,
    private readonly drop: boolean,
    private readonly failed: () => void,
  ) {}

  pick(args: PickArgs): PickResult {
    if (this.drop || !args.metadata.getOptions().waitForReady) this.failed();
    return failure(this.grpc, this.details(), this.drop);
  }
}

/**
 * An UNAVAILABLE pick result. Its metadata is of the channel's grpc-js: the caller's error
 * carries it, and nice-grpc makes a `ClientError` only of an error whose metadata is of its
 * own grpc-js.
 */
function failure(grpc: GrpcJs, details: string, drop: boolean): PickResult {
  return {
    pickResultType: drop
      ? experimental.PickResultType.DROP
      : experimental.PickResultType.TRANSIENT_FAILURE,
    subchannel: null,
    status: { code: status.UNAVAILABLE, details, metadata: new grpc.Metadata() },
    onCallStarted: null,
    onCallEnded: null,
  };
}
