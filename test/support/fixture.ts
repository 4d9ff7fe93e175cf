import type { Observable } from 'rxjs';
import { afterEach, beforeEach } from 'vitest';
import { type BalancedChannel, createBalancedChannel } from '../../src/grpc/balanced-channel.js';
import type { BalancedChannelOptions } from '../../src/grpc/options.js';
import type { Picker } from '../../src/picker.js';
import { type EchoServer, startEchoServers } from './echo-server.js';

/** Echo servers started before each test, and servers and channels stopped after it. */
export interface EchoFixture {
  /** The `i`th server of this test. */
  server(i: number): EchoServer;
  addresses(): string[];
  /** A balanced channel that is closed after the test. */
  channel(picker$: Observable<Picker>, options?: BalancedChannelOptions): BalancedChannel;
}

export function useEchoServers(count: number): EchoFixture {
  let servers: EchoServer[] = [];
  const channels: BalancedChannel[] = [];
  beforeEach(async () => {
    servers = await startEchoServers(count);
  });
  afterEach(() => {
    for (const channel of channels.splice(0)) channel.close();
    for (const server of servers) server.stop();
  });
  return {
    server(i) {
      const server = servers[i];
      if (!server) throw new RangeError(`no echo server #${i} (there are ${servers.length})`);
      return server;
    },
    addresses: () => servers.map((server) => server.address),
    channel(picker$, options = { name: 'echo' }) {
      const channel = createBalancedChannel(picker$, options);
      channels.push(channel);
      return channel;
    },
  };
}

/** How many of `replies` each backend answered. */
export function tally(replies: readonly { readonly backend: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { backend } of replies) counts.set(backend, (counts.get(backend) ?? 0) + 1);
  return counts;
}
