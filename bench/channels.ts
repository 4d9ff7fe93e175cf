/**
 * The channels under test, and the registrations in ConsulTestServer that feed rxlb's. The
 * channels of the macro table, over the same backends:
 * (a) rxlb's balanced channel fed by ConsulTestServer through the real pipeline,
 * (b) grpc-js's own round_robin over a static `ipv4:` target,
 * (c) one plain grpc-js channel to one backend: the ceiling, no balancing at all.
 * (a) and (b) run the same grpc-js machinery; they differ by the policy that picks.
 */
import { type Channel, credentials, Channel as GrpcChannel } from '@grpc/grpc-js';
import { tap } from 'rxjs';
import type { Picker } from '../src/picker.js';
import type { ConsulTestServer } from '../src/testing/index.js';
import type { RxlbApi } from './rxlb.js';

export const KINDS = ['rxlb', 'grpc-js', 'single'] as const;
export type ChannelKind = (typeof KINDS)[number];

export const KIND_LABELS: Readonly<Record<ChannelKind, string>> = {
  rxlb: '(a) rxlb: consulInstances$ → diff → roundRobin → balanced channel',
  'grpc-js': '(b) grpc-js round_robin, static ipv4: target',
  single: '(c) one plain grpc-js channel to one backend (ceiling)',
};

/** The service config that turns grpc-js's round_robin on for a channel. */
const ROUND_ROBIN_OPTIONS = Object.freeze({
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

function plainChannel(address: string): Channel {
  return new GrpcChannel(address, credentials.createInsecure(), {});
}

/** rxlb's balanced channel, the whole pipeline from a Consul watch of `service`. */
export function rxlbChannel(
  rxlb: RxlbApi,
  consulAddress: string,
  service: string,
  options: {
    readonly minIntervalMs?: number;
    readonly tap?: (picker: Picker) => void;
    readonly failover?: readonly string[];
  } = {},
): Channel & { close(): void } {
  const { consulInstances$, createBalancedChannel, diff, roundRobin } = rxlb;
  const { minIntervalMs, tap: onPicker = () => {}, failover } = options;
  const instances$ = consulInstances$(service, {
    address: consulAddress,
    ...(minIntervalMs !== undefined && { minIntervalMs }),
    ...(failover !== undefined && { failover }),
  });
  return createBalancedChannel(instances$.pipe(diff(), roundRobin(), tap(onPicker)), {
    name: service,
  });
}

/** The channel of `kind`; rxlb's watches `service` on the Consul at `consulAddress`. */
export function openChannel(
  kind: ChannelKind,
  rxlb: RxlbApi,
  addresses: readonly string[],
  consulAddress: string,
  service: string,
): Channel & { close(): void } {
  switch (kind) {
    case 'rxlb':
      return rxlbChannel(rxlb, consulAddress, service);
    case 'grpc-js':
      return roundRobinChannel(addresses);
    case 'single':
      return plainChannel(addresses[0] ?? '');
  }
}

/** `"127.0.0.1:4000"` → host and port. */
export function hostPort(address: string): { readonly host: string; readonly port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

/** Registers each address as an instance of `service` with no check (so it passes). */
export function registerAll(
  consul: ConsulTestServer,
  service: string,
  addresses: readonly string[],
): void {
  for (const address of addresses) {
    const { host, port } = hostPort(address);
    consul.registerService({ Name: service, ID: `${service}-${port}`, Address: host, Port: port });
  }
}

/** The TTL check's id of an instance registered by {@link registerWithCheck}. */
export const checkId = (id: string) => `${id}-ttl`;

/** Registers `address` as instance `id` of `service` with a TTL check in `status`. */
export function registerWithCheck(
  consul: ConsulTestServer,
  service: string,
  id: string,
  address: string,
  status: 'passing' | 'critical',
): void {
  const { host, port } = hostPort(address);
  consul.registerService({
    Name: service,
    ID: id,
    Address: host,
    Port: port,
    Check: { CheckID: checkId(id), TTL: '1h', Status: status },
  });
}
