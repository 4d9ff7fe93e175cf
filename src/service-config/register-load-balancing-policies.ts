import * as installed from '@grpc/grpc-js';
import { channelGrpcJs, type GrpcJs, type GrpcJsChannelModule } from '../grpc/grpc-js-module.js';
import { readOptions } from '../read-options.js';
import { configClassOf, policyBalancerOf } from './policy-balancer.js';
import { POLICIES } from './policy-configs.js';

/** Options of {@link registerLoadBalancingPolicies}. */
export interface LoadBalancingPoliciesOptions {
  /**
   * The `@grpc/grpc-js` module to register with (`import * as grpc from '@grpc/grpc-js'`),
   * 1.14.0 or later. Default: the one rxlb imports. Each copy of grpc-js has its own
   * registry: give yours when your clients use another copy than rxlb's.
   */
  readonly grpc?: GrpcJsChannelModule;
}

const CALLER = 'registerLoadBalancingPolicies()';

/** The policies rxlb registered with each grpc-js module. */
const registered = new WeakMap<object, ReadonlySet<string>>();

/**
 * Registers rxlb's load-balancing policies with grpc-js, so that any grpc-js channel, on any
 * target (`consul:`, `dns:`, `ipv4:`...), can choose them in its service config:
 *
 * | name in `loadBalancingConfig` | config | does what |
 * | --- | --- | --- |
 * | `least_request_experimental` | `choiceCount` (gRFC A48: default 2, 2 to 10) | {@link leastRequest} |
 * | `ring_hash_experimental` | `requestHashHeader` (required), `minRingSize`, `maxRingSize` (gRFC A42/A76) | {@link ringHash} |
 * | `rxlb_peak_ewma` | none | {@link peakEwma} |
 * | `rxlb_weighted_round_robin` | none | {@link weightedRoundRobin}: Consul weights on `consul:` targets |
 *
 * Each runs the rxlb operator of the same job behind the channel's resolver, with the
 * balanced channel's rules: a connection kept to every endpoint, picks among the usable ones
 * only (READY, not ejected, serving when the service config has a `healthCheckConfig`),
 * outlier detection with its defaults. On a `consul:` target the policies see Consul's
 * instances (weights, meta); on others, bare addresses of weight 1. Configs are checked as
 * gRPC checks them, and an unknown field is ignored. A bad one is logged as an error through
 * grpc-js's logger (`rxlb: service config loadBalancingConfig least_request_experimental:
 * field "choiceCount" must be...`): grpc-js itself then skips it, for the next policy of the
 * list, else pick_first, without a word.
 *
 * A name grpc-js already knows that rxlb did not register (grpc-js's own policies, or
 * `@grpc/grpc-js-xds`'s of the same name) is left alone. `registerConsulResolver()` calls
 * this. Registering again is harmless.
 *
 * @param options The grpc-js module to register with.
 * @return The names registered with that module.
 * @throws TypeError for an unknown option, or a `grpc` that is not grpc-js 1.14.0 or later.
 *
 * @example
 * ```ts
 * import * as grpc from '@grpc/grpc-js';
 * import { registerLoadBalancingPolicies } from 'rxlb';
 *
 * registerLoadBalancingPolicies({ grpc });
 * const client = new grpc.Client('ipv4:10.0.0.1:50051,10.0.0.2:50051', grpc.credentials.createInsecure(), {
 *   'grpc.service_config': JSON.stringify({
 *     loadBalancingConfig: [{ least_request_experimental: { choiceCount: 2 } }],
 *   }),
 * });
 * ```
 */
export function registerLoadBalancingPolicies(
  options: LoadBalancingPoliciesOptions = {},
): readonly string[] {
  const o = readOptions(CALLER, options, ['grpc']);
  const { grpc } = channelGrpcJs(o.raw('grpc') ?? installed, undefined, (key, what) =>
    o.fail(key, what),
  );
  return registerWith(grpc);
}

/** Registers the policies with `grpc`, once; returns their names. */
export function registerWith(grpc: GrpcJs): readonly string[] {
  const known = registered.get(grpc);
  if (known) return [...known];
  const { experimental } = grpc;
  const names = new Set<string>();
  for (const spec of POLICIES) {
    if (experimental.isLoadBalancerNameRegistered(spec.name)) continue;
    experimental.registerLoadBalancerType(
      spec.name,
      policyBalancerOf(grpc, spec),
      configClassOf(grpc, spec),
    );
    names.add(spec.name);
  }
  registered.set(grpc, names);
  return [...names];
}
