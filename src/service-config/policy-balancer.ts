import { type ChannelOptions, experimental, logVerbosity } from '@grpc/grpc-js';
import { Subject, type Subscription } from 'rxjs';
import { discoveryOf, withDiscovery } from '../discovery.js';
import { Balancer } from '../grpc/balancer.js';
import type { GrpcJs } from '../grpc/grpc-js-module.js';
import { policyChannelConfig } from '../grpc/options.js';
import { RESOLUTION_ATTRIBUTE, SOURCE_OPTION } from '../grpc/picker-resolver.js';
import { PickerSource } from '../grpc/picker-source.js';
import { type Address, formatAddress, type Instance } from '../instance.js';
import { diff } from '../operators/diff.js';
import type { Picker } from '../picker.js';
import type { PolicySpec } from './policy-configs.js';

/**
 * The resolver attribute under which the `consul:` resolver hands the policies its instance
 * set (weights, meta, zones; the service's name), keyed as grpc-js keeps from connections.
 * Targets of other schemes have none: their members are bare addresses, of weight 1.
 */
export const INSTANCES_ATTRIBUTE = `${experimental.SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX}.rxlb.instances`;

/** A policy's config as grpc-js keeps it: the spec, and its fields as `parse` read them. */
export class PolicyConfig implements experimental.TypedLoadBalancingConfig {
  constructor(
    readonly spec: PolicySpec,
    readonly fields: Readonly<Record<string, unknown>>,
  ) {}

  getLoadBalancerName(): string {
    return this.spec.name;
  }

  toJsonObject(): object {
    return { [this.spec.name]: this.fields };
  }
}

/**
 * The config class of `spec` for `grpc`, as grpc-js's registry takes one. grpc-js skips a
 * config that does not parse, takes the next of `loadBalancingConfig`, and falls back to
 * pick_first without a word (a DEBUG trace): so a bad config is also logged as an error,
 * through grpc-js's logger, once per channel's grpc-js and message.
 */
export function configClassOf(
  grpc: GrpcJs,
  spec: PolicySpec,
): Parameters<typeof experimental.registerLoadBalancerType>[2] {
  const logged = new Set<string>();
  return class extends PolicyConfig {
    constructor(fields: Readonly<Record<string, unknown>>) {
      super(spec, fields);
    }

    static createFromJson(json: unknown): PolicyConfig {
      try {
        return new PolicyConfig(spec, spec.parse(json));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (!logged.has(message)) {
          logged.add(message);
          grpc.experimental.log(
            logVerbosity.ERROR,
            `rxlb: ${message}; grpc-js skips this config (the next of loadBalancingConfig, else pick_first)`,
          );
        }
        throw error;
      }
    }
  };
}

/**
 * One of rxlb's policies behind any grpc-js channel's resolver: the endpoints it resolves
 * become members, through `diff()` and the policy's operator, as `picker$` does for a
 * balanced channel; the balanced channel's own grpc-js policy ({@link Balancer}) then keeps
 * the connections, the usable view, outlier detection and health checks, and asks the
 * picker on every call. So a service-config policy behaves as the operator does on
 * `createBalancedChannel()`.
 */
export class PolicyBalancer implements experimental.LoadBalancer {
  readonly #inner: Balancer;
  /** The pickers of the current pipeline, as the balanced channel's `picker$`. */
  readonly #pickers = new Subject<Picker>();
  #source: PickerSource | undefined;
  #members = new Subject<Iterable<Instance | Address>>();
  #pipeline: Subscription | undefined;
  /** The config the pipeline runs, as JSON: a new one restarts it. */
  #config: string | undefined;
  /** The last members resolved, replayed into a restarted pipeline. */
  #last: (Instance | Address)[] | undefined;

  constructor(
    private readonly grpc: GrpcJs,
    private readonly spec: PolicySpec,
    helper: experimental.ChannelControlHelper,
  ) {
    this.#inner = new Balancer(grpc, helper);
  }

  updateAddressList(
    endpoints: experimental.StatusOr<experimental.Endpoint[]>,
    config: experimental.TypedLoadBalancingConfig,
    options: ChannelOptions,
  ): boolean {
    if (!(config instanceof PolicyConfig) || config.spec !== this.spec) return false;
    if (!endpoints.ok && this.#last === undefined) {
      // nothing resolved yet: the channel fails its calls with the resolver's reason
      return this.#inner.updateAddressList(endpoints, config, options);
    }
    this.#source ??= new PickerSource(
      this.#pickers,
      policyChannelConfig(this.grpc, options['grpc.service_config']),
      this.spec.name,
    );
    const json = JSON.stringify(config.fields);
    if (json !== this.#config) this.#restart(config, json);
    // A failed resolution after a good one keeps the members, as grpc-js's policies do.
    if (endpoints.ok) {
      const set: unknown = options[INSTANCES_ATTRIBUTE];
      this.#last = withDiscovery(membersOf(endpoints.value, set), discoveryOf(set));
    }
    this.#members.next(this.#last ?? []);
    const source = this.#source;
    return this.#inner.updateAddressList(endpoints, config, {
      ...options,
      [SOURCE_OPTION]: source,
      [RESOLUTION_ATTRIBUTE]: source.resolution,
    });
  }

  exitIdle(): void {
    this.#inner.exitIdle();
  }

  resetBackoff(): void {
    this.#inner.resetBackoff();
  }

  destroy(): void {
    this.#pipeline?.unsubscribe();
    this.#source?.close();
    this.#inner.destroy();
  }

  getTypeName(): string {
    return this.spec.name;
  }

  /** Runs a new pipeline of the policy's operator with `config`'s fields. */
  #restart(config: PolicyConfig, json: string): void {
    this.#pipeline?.unsubscribe();
    this.#config = json;
    this.#members = new Subject();
    this.#pipeline = this.#members.pipe(diff(), this.spec.operator(config.fields)).subscribe({
      next: (picker) => this.#pickers.next(picker),
      error: (error: unknown) => this.#pickers.error(error),
    });
  }
}

/**
 * The members of `endpoints`: each endpoint's first address, as the instance the `consul:`
 * resolver's set (`set`) has at that address, else the bare address. An endpoint of a Unix
 * socket cannot be one of rxlb's members and is left out.
 */
function membersOf(
  endpoints: readonly experimental.Endpoint[],
  set: unknown,
): (Instance | Address)[] {
  const instances = set instanceof Map ? (set as ReadonlyMap<Address, Instance>) : undefined;
  const members: (Instance | Address)[] = [];
  for (const { addresses } of endpoints) {
    const first = addresses[0];
    if (first === undefined || !('host' in first)) continue;
    const address = formatAddress(first.host, first.port);
    if (address === undefined) continue;
    members.push(instances?.get(address) ?? address);
  }
  return members;
}

/** The policy class of `spec` for the channels of `grpc`, as grpc-js constructs it. */
export function policyBalancerOf(
  grpc: GrpcJs,
  spec: PolicySpec,
): Parameters<typeof experimental.registerLoadBalancerType>[1] {
  return class extends PolicyBalancer {
    constructor(helper: experimental.ChannelControlHelper) {
      super(grpc, spec, helper);
    }
  };
}
