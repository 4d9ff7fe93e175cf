/**
 * The balanced channel's own work per unary call, apart from grpc-js's: a `BalancedCall`
 * (route, pick, pool lookup, forwarding the call's events both ways) around a stub backend
 * call that answers at once and does nothing else. The floor row is the same stub call made
 * directly. Their difference is what rxlb adds to every call, without network, servers or
 * grpc-js's own call machinery, so that it can be read to the nanosecond.
 */
import {
  type ChannelInterface,
  connectivityState,
  type experimental,
  type InterceptingListener,
  Metadata,
  status,
} from '@grpc/grpc-js';
import { do_not_optimize } from 'mitata';
import { BalancedCall, type CallArgs, type Route, type Router } from '../src/grpc/balanced-call.js';
import { pickBackend } from '../src/grpc/pick-backend.js';
import type { Backend } from '../src/grpc/pool.js';
import type { Address } from '../src/instance.js';
import { RoundRobinPicker } from '../src/operators/round-robin-picker.js';
import type { Benchmark } from './benchmark.js';
import { consulInstance } from './fixtures.js';

type CallStream = experimental.CallStream;

const OK = { code: status.OK, details: '', metadata: new Metadata() };
const REPLY = Buffer.from('{}');

/**
 * A backend call that answers as soon as the client half-closes. Classes rather than
 * closures: tsx (esbuild `keepNames`) wraps every closure created per call in `__name()`,
 * which would weigh on the floor; rxlb's own per-call closures still pay it here, so the
 * rxlb row is an upper bound of what its build costs.
 */
class StubCall implements CallStream {
  private listener: InterceptingListener | undefined;
  start(_metadata: Metadata, listener: InterceptingListener): void {
    this.listener = listener;
  }
  sendMessageWithContext(): void {}
  startRead(): void {}
  halfClose(): void {
    this.listener?.onReceiveMessage(REPLY);
    this.listener?.onReceiveStatus(OK);
  }
  cancelWithStatus(): void {}
  getPeer(): string {
    return 'stub';
  }
  getCallNumber(): number {
    return 0;
  }
  setCredentials(): void {}
  getAuthContext(): null {
    return null;
  }
}

const stubChannel = { createCall: () => new StubCall() } as unknown as ChannelInterface;

/** The caller's side of one unary call, as grpc-js's client listens to it. */
class UnaryListener implements InterceptingListener {
  replies = 0;
  onReceiveMetadata(): void {}
  onReceiveMessage(): void {
    this.replies += 1;
  }
  onReceiveStatus(): void {
    do_not_optimize(this.replies);
  }
}

/** What a unary call does to its call stream, as grpc-js's client does it. */
function unary(call: CallStream): void {
  call.start(new Metadata(), new UnaryListener());
  call.sendMessageWithContext({}, REPLY);
  call.halfClose();
  call.startRead();
}

function router(size: number): Router {
  const instances = Array.from({ length: size }, (_, i) => consulInstance(i));
  const picker = new RoundRobinPicker(instances, 0);
  const backends = new Map<Address, Backend>();
  for (const { address } of instances) {
    backends.set(address, {
      address,
      channel: stubChannel,
      state: connectivityState.READY,
      ejected: false,
      inFlight: 0,
      acquire() {},
      release() {},
    });
  }
  const lookup = (address: Address) => backends.get(address);
  return {
    target: 'rxlb:///bench',
    name: 'bench',
    route: (avoid): Route => {
      const outcome = pickBackend(picker, lookup, avoid);
      return outcome.type === 'backend' ? outcome : { type: 'fail', details: outcome.type };
    },
    enqueue: () => {},
    dequeue: () => {},
  };
}

const ARGS: CallArgs = {
  method: '/bench/Unary',
  deadline: Number.POSITIVE_INFINITY,
  host: 'bench',
  parentCall: null,
  propagateFlags: undefined,
};

export function callBenchmarks(): Benchmark[] {
  const group = 'one unary call through the balanced channel, stub backend (3 instances)';
  const route = router(3);
  return [
    { group, name: 'floor: the stub call alone', baseline: true, fn: () => unary(new StubCall()) },
    {
      group,
      name: 'rxlb BalancedCall around it',
      fn: () => unary(new BalancedCall(route, ARGS, 1)),
    },
  ];
}
