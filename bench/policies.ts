/**
 * The policies the policy benchmarks compare, each as a channel over the same backends:
 * rxlb's balanced channel with a policy operator over a static list of the backends, and
 * grpc-js's own round_robin. Every table and target of policy-load.ts and turn-slow.ts takes
 * its rows from {@link POLICIES}: add a policy here and it is
 * measured everywhere.
 */
import type { Channel } from '@grpc/grpc-js';
import { type OperatorFunction, of } from 'rxjs';
import type { Update } from '../src/instance.js';
import type { Picker } from '../src/picker.js';
import { roundRobinChannel } from './channels.js';
import type { RxlbApi } from './rxlb.js';

export interface Policy {
  /** How tables and targets name it, e.g. `rxlb leastRequest()`. */
  readonly name: string;
  /** A channel over `addresses` that balances with this policy. */
  open(rxlb: RxlbApi, addresses: readonly string[]): Channel;
}

/** rxlb's balanced channel over `addresses`, with `operator` as its policy. */
function rxlbPolicy(
  name: string,
  operator: (rxlb: RxlbApi) => OperatorFunction<readonly Update[], Picker>,
): Policy {
  return {
    name: `rxlb ${name}`,
    open: (rxlb, addresses) =>
      rxlb.createBalancedChannel(of(addresses).pipe(rxlb.diff(), operator(rxlb)), {
        name: 'echo',
      }),
  };
}

export const POLICY_NAMES = Object.freeze({
  roundRobin: 'rxlb roundRobin()',
  weightedRoundRobin: 'rxlb weightedRoundRobin()',
  leastRequest: 'rxlb leastRequest()',
  peakEwma: 'rxlb peakEwma()',
  grpcJs: 'grpc-js round_robin',
});

export const POLICIES: readonly Policy[] = [
  rxlbPolicy('roundRobin()', (rxlb) => rxlb.roundRobin()),
  // Unweighted (a static list), it is round robin by another schedule: the row shows what its
  // schedule costs, and that weights are no answer to a backend that turns slow.
  rxlbPolicy('weightedRoundRobin()', (rxlb) => rxlb.weightedRoundRobin()),
  rxlbPolicy('leastRequest()', (rxlb) => rxlb.leastRequest()),
  rxlbPolicy('peakEwma()', (rxlb) => rxlb.peakEwma()),
  { name: POLICY_NAMES.grpcJs, open: (_rxlb, addresses) => roundRobinChannel(addresses) },
];
