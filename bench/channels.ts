/**
 * The channels of the macro table, over the same backends:
 * (a) rxlb's balanced channel fed by ConsulTestServer through the real pipeline,
 * (b) grpc-js's own round_robin over a static `ipv4:` target,
 * (c) one plain grpc-js channel to one backend: the ceiling, no balancing at all,
 * (d) a diagnostic: calls dealt in turn to one plain grpc-js channel per backend, with
 *     nothing else. That is the structure rxlb's channel is built on, so (d) against (b)
 *     shows what that structure costs, and (a) against (d) what rxlb's own code costs.
 */
import {
  type Channel,
  type ChannelInterface,
  credentials,
  Channel as GrpcChannel,
} from '@grpc/grpc-js';
import { tap } from 'rxjs';
import type { Picker } from '../src/picker.js';
import { roundRobinChannel } from './grpc-js-picker.js';
import type { RxlbApi } from './rxlb.js';

export const KINDS = ['rxlb', 'grpc-js', 'single', 'plain'] as const;
export type ChannelKind = (typeof KINDS)[number];

export const KIND_LABELS: Readonly<Record<ChannelKind, string>> = {
  rxlb: '(a) rxlb: consulInstances$ → diff → roundRobin → balanced channel',
  'grpc-js': '(b) grpc-js round_robin, static ipv4: target',
  single: '(c) one plain grpc-js channel to one backend (ceiling)',
  plain: '(d) diagnostic: calls dealt in turn to 3 plain grpc-js channels, no rxlb',
};

/** (d): each call goes to the next of `channels`; everything else to the first one. */
class ChannelPerBackend implements ChannelInterface {
  private next = 0;

  constructor(
    private readonly first: Channel,
    private readonly channels: readonly Channel[],
  ) {}

  createCall(...args: Parameters<ChannelInterface['createCall']>) {
    const channel = this.channels[this.next] ?? this.first;
    this.next = this.next + 1 < this.channels.length ? this.next + 1 : 0;
    return channel.createCall(...args);
  }

  close(): void {
    for (const channel of this.channels) channel.close();
  }

  getTarget(): string {
    return this.first.getTarget();
  }

  getConnectivityState(tryToConnect: boolean) {
    return this.first.getConnectivityState(tryToConnect);
  }

  watchConnectivityState(...args: Parameters<ChannelInterface['watchConnectivityState']>) {
    this.first.watchConnectivityState(...args);
  }

  getChannelzRef() {
    return this.first.getChannelzRef();
  }
}

function plainChannel(address: string): Channel {
  return new GrpcChannel(address, credentials.createInsecure(), {});
}

/** rxlb's balanced channel, the whole pipeline from a Consul watch of `service`. */
export function rxlbChannel(
  rxlb: RxlbApi,
  consulAddress: string,
  service: string,
  options: { readonly minIntervalMs?: number; readonly tap?: (picker: Picker) => void } = {},
): Channel & { close(): void } {
  const { consulInstances$, createBalancedChannel, diff, roundRobin } = rxlb;
  const { minIntervalMs, tap: onPicker = () => {} } = options;
  const instances$ = consulInstances$(service, {
    address: consulAddress,
    ...(minIntervalMs !== undefined && { minIntervalMs }),
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
    case 'plain': {
      const channels = addresses.map(plainChannel);
      const [first = plainChannel('')] = channels;
      // grpc-js clients take any ChannelInterface; its types ask for the Channel class.
      return new ChannelPerBackend(first, channels) as unknown as Channel;
    }
  }
}
