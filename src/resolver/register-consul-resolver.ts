import * as grpcJs from '@grpc/grpc-js';
import { resolveWatchConfig } from '../consul/options.js';
import type { GrpcJs } from '../grpc/grpc-js-module.js';
import { isRecord, type OptionReader, readOptions } from '../read-options.js';
import { registerWith } from '../service-config/register-load-balancing-policies.js';
import {
  consulResolverClass,
  type GrpcJsModule,
  type ResolverDefaults,
} from './consul-resolver.js';

/**
 * Options of {@link registerConsulResolver}: where Consul is and how to watch it, for every
 * `consul:` target. What to ask (tags, datacenter, filters...) is in each target.
 *
 * @example
 * ```ts
 * registerConsulResolver({
 *   address: 'https://consul.internal:8501', // for targets without an authority
 *   whenNobody: { policy: 'fail-fast' },
 *   onError: ({ service, error }) => console.warn(`${service}: ${error.message}`),
 * });
 * ```
 */
export interface ConsulResolverOptions extends ResolverDefaults {
  /**
   * The `@grpc/grpc-js` module to register with (`import * as grpc from '@grpc/grpc-js'`),
   * 1.14.0 or later. Default: the one rxlb itself imports. Give yours when your clients use
   * another copy of grpc-js than rxlb's: each copy has its own list of schemes.
   */
  readonly grpc?: GrpcJsModule;
}

const CALLER = 'registerConsulResolver()';
const SCHEME = 'consul';
const KNOWN = [
  'grpc',
  'address',
  'token',
  'tls',
  'backoff',
  'minIntervalMs',
  'whenNobody',
  'onError',
  'onStatus',
  'meterProvider',
];

/** Whether `grpc` has grpc-js's load-balancer registry, as the module itself has. */
function isFullGrpcJs(grpc: GrpcJsModule): grpc is GrpcJsModule & GrpcJs {
  const { experimental } = grpc as Partial<GrpcJs>;
  return (
    typeof experimental?.registerLoadBalancerType === 'function' &&
    typeof experimental.isLoadBalancerNameRegistered === 'function' &&
    typeof experimental.createChildChannelControlHelper === 'function'
  );
}

function isGrpcJs(value: unknown): value is GrpcJsModule {
  if (!isRecord(value) || !isRecord(value.experimental)) return false;
  const { registerResolver, statusOrFromValue, statusOrFromError } = value.experimental;
  return [registerResolver, statusOrFromValue, statusOrFromError].every(
    (member) => typeof member === 'function',
  );
}

/** Checks the options once, at registration: a mistake is a `TypeError` naming it. */
function validate(options: unknown): { grpc: GrpcJsModule; defaults: ResolverDefaults } {
  const o: OptionReader = readOptions(
    CALLER,
    options,
    KNOWN,
    '(what to ask Consul goes in the target: consul:///greeter?tag=v2&dc=dc1)',
  );
  const grpc = o.raw('grpc') ?? grpcJs;
  if (!isGrpcJs(grpc)) {
    o.fail(
      'grpc',
      "the @grpc/grpc-js module, 1.14.0 or later (import * as grpc from '@grpc/grpc-js')",
    );
  }
  const { grpc: _, ...defaults } = (options ?? {}) as Record<string, unknown>;
  // the same checks as every watch, with a placeholder service: a target names the real one
  resolveWatchConfig('-', defaults, CALLER);
  return { grpc, defaults: defaults as ResolverDefaults };
}

/**
 * Registers the `consul` scheme with grpc-js, so that a Consul service is a channel target:
 * `consul://HOST:PORT/greeter?tag=v2&dc=dc1` works wherever grpc-js takes a target
 * (`new grpc.Client(target, ...)`, generated clients, nice-grpc's `createChannel(target)`),
 * with grpc-js's own load-balancing policies and service config (`grpc.service_config`).
 *
 * The authority is Consul's `host:port`; `consul:///greeter` uses the `address` option, else
 * `CONSUL_HTTP_ADDR`, else `127.0.0.1:8500`. Each instance's port comes from Consul: the
 * `:80` or `:443` that nice-grpc's `createChannel('consul:greeter')` appends is ignored (after
 * the query too, for a target without `//`), and any other port after the service is a bad
 * target. The query string takes the parameters of
 * Consul's health API: `tag` (repeatable, all must match), `dc`, `passing` (default true),
 * `node-meta` (repeatable, `key:value`), `filter`, `near`, `stale` or `consistent`, `wait`
 * (`'30s'`), `peer`, `ns` and `partition`; and `translate-wan-addrs` (Consul's
 * `translate_wan_addrs`, as `translateWanAddresses`). Never a token: that comes from the
 * `token` option or `CONSUL_HTTP_TOKEN`.
 *
 * Each channel's resolver follows the service through `sharedConsulInstances$`, so channels
 * with the same target share one watch, which stops when the last of them goes idle or
 * closes. As with grpc-js's own resolvers, a channel left open never keeps the process alive:
 * the watch's sockets and timers are unref'd. A bad target, and a Consul that fails before
 * its first answer, fail the channel's calls with `UNAVAILABLE` and a message saying why;
 * once a set was served, Consul's failures keep the last set (`onError` hears them). grpc-js calls its resolver API experimental:
 * this needs `@grpc/grpc-js` 1.14.0 or later (tested with 1.14.0 and the newest 1.14).
 * Registering again replaces the options for channels created afterwards. It also registers
 * rxlb's load-balancing policies with `grpc` (see `registerLoadBalancingPolicies()`), so that
 * a `consul:` channel's service config can choose `rxlb_weighted_round_robin` (Consul's
 * weights), `least_request_experimental`, `ring_hash_experimental` or `rxlb_peak_ewma`.
 *
 * @param options Connection and watch settings shared by every `consul:` target.
 * @throws TypeError for an unknown or bad option, or a `grpc` module older than 1.14.0.
 *
 * @example
 * ```ts
 * import { createChannel, createClient } from 'nice-grpc';
 * import { registerConsulResolver } from 'rxlb';
 * import { GreeterDefinition } from './generated/greeter.js';
 *
 * registerConsulResolver({ onError: ({ error }) => console.warn(error.message) });
 * const channel = createChannel('consul:///greeter?tag=v2', undefined, {
 *   'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
 * });
 * const client = createClient(GreeterDefinition, channel);
 * ```
 */
export function registerConsulResolver(options: ConsulResolverOptions = {}): void {
  const { grpc, defaults } = validate(options);
  grpc.experimental.registerResolver(SCHEME, consulResolverClass(grpc, defaults, CALLER));
  // rxlb's policies for these channels' service configs (a structural stand-in has no registry)
  if (isFullGrpcJs(grpc)) registerWith(grpc);
}
