/**
 * grpc-js's own round-robin picker, for the pick() benchmark. `RoundRobinPicker` is not
 * exported by `@grpc/grpc-js` (neither from its index nor from
 * `build/src/load-balancer-round-robin.js`, which only exports the load balancer), so it is
 * taken from a live `round_robin` channel: its current picker, once every backend is READY,
 * is a `RoundRobinPicker` over pick_first children. Its class then builds pickers of any size
 * from those children, exactly as grpc-js does on each connectivity change.
 */
import {
  type Channel,
  credentials,
  type experimental,
  Channel as GrpcChannel,
} from '@grpc/grpc-js';
import { field } from './reflect.js';

type GrpcJsPicker = experimental.Picker;

interface Child {
  readonly endpoint: unknown;
  readonly picker: GrpcJsPicker;
}

type RoundRobinPickerClass = new (children: readonly Child[], nextIndex: number) => GrpcJsPicker;

/** The service config that turns grpc-js's round_robin on for a channel. */
export const ROUND_ROBIN_OPTIONS = Object.freeze({
  'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
});

/** A grpc-js channel balancing over `addresses` with its own round_robin. */
export function roundRobinChannel(addresses: readonly string[]): Channel {
  return new GrpcChannel(
    `ipv4:${addresses.join(',')}`,
    credentials.createInsecure(),
    ROUND_ROBIN_OPTIONS,
  );
}

function isPicker(value: unknown): value is GrpcJsPicker {
  return typeof field(value, 'pick') === 'function';
}

function isChild(value: unknown): value is Child {
  return isPicker(field(value, 'picker'));
}

/** The live channel's RoundRobinPicker class and its children, once all `size` are READY. */
function readRoundRobin(
  channel: Channel,
  size: number,
): { readonly Picker: RoundRobinPickerClass; readonly children: readonly Child[] } | undefined {
  const picker = field(field(channel, 'internalChannel'), 'currentPicker');
  const children = field(picker, 'children');
  if (!isPicker(picker) || picker.constructor.name !== 'RoundRobinPicker') return undefined;
  if (!Array.isArray(children) || children.length !== size || !children.every(isChild)) {
    return undefined;
  }
  return { Picker: picker.constructor as RoundRobinPickerClass, children };
}

/** `size` elements taken from `items` in turn. */
export function cycle<T>(items: readonly T[], size: number): T[] {
  const result: T[] = [];
  for (let i = 0; result.length < size && items.length > 0; i++) {
    const item = items[i % items.length];
    if (item !== undefined) result.push(item);
  }
  return result;
}

/**
 * Connects a round_robin channel to `addresses` and returns a function that builds grpc-js
 * RoundRobinPickers of any size from its READY children (cycled), and the channel to close.
 */
export async function grpcJsPickers(
  addresses: readonly string[],
): Promise<{ readonly picker: (size: number) => GrpcJsPicker; readonly close: () => void }> {
  const channel = roundRobinChannel(addresses);
  channel.getConnectivityState(true);
  const deadline = Date.now() + 5_000;
  let live = readRoundRobin(channel, addresses.length);
  while (!live) {
    if (Date.now() > deadline) {
      channel.close();
      throw new Error('grpc-js round_robin channel did not make every backend READY in 5 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
    live = readRoundRobin(channel, addresses.length);
  }
  const { Picker, children } = live;
  return {
    picker: (size) => new Picker(cycle(children, size), 0),
    close: () => channel.close(),
  };
}
