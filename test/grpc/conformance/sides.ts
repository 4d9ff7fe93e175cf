/**
 * The two channels every conformance scenario runs side by side, on the same backends: rxlb's
 * balanced channel over a static list (`diff()` → `roundRobin()`), and grpc-js's own
 * `round_robin` over the same list, as a Node user would set it up today.
 */
import { type Channel, credentials, Channel as GrpcChannel } from '@grpc/grpc-js';
import { of } from 'rxjs';
import { createBalancedChannel } from '../../../src/grpc/balanced-channel.js';
import type { BalancedChannelOptions } from '../../../src/grpc/options.js';
import { diff } from '../../../src/operators/diff.js';
import { roundRobin } from '../../../src/operators/round-robin.js';

export type SideName = 'rxlb' | 'grpc-js';
export const SIDES: readonly SideName[] = ['rxlb', 'grpc-js'];

/** grpc-js's round_robin, chosen by service config, as its docs show. */
export const ROUND_ROBIN = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });

/** A channel of `side` over `addresses` (`host:port` on 127.0.0.1). */
export function openChannel(
  side: SideName,
  addresses: readonly string[],
  options: BalancedChannelOptions = {},
): Channel {
  if (side === 'grpc-js') {
    return new GrpcChannel(`ipv4:${addresses.join(',')}`, credentials.createInsecure(), {
      'grpc.service_config': ROUND_ROBIN,
    });
  }
  return createBalancedChannel(of(addresses).pipe(diff(), roundRobin()), {
    name: 'echo',
    ...options,
  });
}

/** Runs `scenario` for each side, concurrently, and returns both results by side. */
export async function bothSides<T>(
  scenario: (side: SideName) => Promise<T>,
): Promise<Record<SideName, T>> {
  const [rxlb, grpcJs] = await Promise.all(SIDES.map(scenario));
  return { rxlb: rxlb as T, 'grpc-js': grpcJs as T };
}
