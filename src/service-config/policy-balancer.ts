import { type ChannelOptions, experimental, logVerbosity } from '@grpc/grpc-js';
import { Subject, type Subscription } from 'rxjs';
import { type DiscoveryStatus, discoveryOf, withDiscovery } from '../discovery.js';
import { Balancer } from '../grpc/balancer.js';
import type { GrpcJs } from '../grpc/grpc-js-module.js';
import { type ChannelConfig, policyChannelConfig } from '../grpc/options.js';
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
 * `createBalancedChannel()`; unlike a balanced channel, a failed connection asks the
 * resolver to look again, as grpc-js's own policies do (a `dns:` resolver only looks when
 * asked).
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
    private readonly helper: experimental.ChannelControlHelper,
  ) {
    this.#inner = new Balancer(grpc, helper, true);
  }

  updateAddressList(
    endpoints: experimental.StatusOr<experimental.Endpoint[]>,
    config: experimental.TypedLoadBalancingConfig,
    options: ChannelOptions,
  ): boolean {
    if (!(config instanceof PolicyConfig) || config.spec !== this.spec) return false;
    if (!endpoints.ok && this.#last === undefined) {
      // Nothing resolved yet: calls fail with the resolver's reason, unless they wait for
      // ready, as under grpc-js's own policies (not dropped: a retry policy may retry them).
      const { UnavailablePicker } = this.grpc.experimental;
      const { TRANSIENT_FAILURE } = this.grpc.connectivityState;
      const picker = new UnavailablePicker(endpoints.error);
      this.helper.updateState(TRANSIENT_FAILURE, picker, endpoints.error.details);
      return true;
    }
    this.#source ??= new PickerSource(
      this.#pickers,
      this.#channelConfig(options['grpc.service_config']),
      this.spec.name,
    );
    const json = JSON.stringify(config.fields);
    if (json !== this.#config || this.#pipeline === undefined) this.#restart(config, json);
    // A failed resolution after a good one keeps the members, as grpc-js's policies do.
    if (endpoints.ok) {
      const set: unknown = options[INSTANCES_ATTRIBUTE];
      const members = membersOf(endpoints.value, set);
      this.#last = withDiscovery(members, discoveryOf(set) ?? namedAfter(members));
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
    this.#pipeline = undefined;
    this.#source?.close();
    this.#inner.destroy();
  }

  getTypeName(): string {
    return this.spec.name;
  }

  /**
   * The balanced channel's config for this channel: a `healthCheckConfig` it cannot read is
   * logged as an error, and the channel goes on without health checks (grpc-js itself does
   * not read it, and an error thrown here would reach no caller).
   */
  #channelConfig(serviceConfig: unknown): ChannelConfig {
    try {
      return policyChannelConfig(this.grpc, serviceConfig);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.grpc.experimental.log(
        logVerbosity.ERROR,
        `rxlb: ${message}; ${this.spec.name} goes on without health checks`,
      );
      return policyChannelConfig(this.grpc, undefined);
    }
  }

  /** Runs a new pipeline of the policy's operator with `config`'s fields. */
  #restart(config: PolicyConfig, json: string): void {
    this.#pipeline?.unsubscribe();
    this.#config = json;
    this.#members = new Subject();
    this.#pipeline = this.#members.pipe(diff(), this.spec.operator(config.fields)).subscribe({
      next: (picker) => this.#pickers.next(picker),
      error: (error: unknown) => {
        // The last picker stays in use; the next resolution starts a new pipeline.
        const message = error instanceof Error ? error.message : String(error);
        this.grpc.experimental.log(logVerbosity.ERROR, `rxlb: ${this.spec.name}: ${message}`);
        this.#pipeline = undefined;
      },
    });
  }
}

/**
 * What messages call the members of a target that has no service name (`ipv4:`, `dns:`):
 * their addresses, as the target lists them (the first three).
 */
function namedAfter(members: readonly (Instance | Address)[]): DiscoveryStatus {
  const addresses = members.slice(0, 3).map((m) => (typeof m === 'string' ? m : m.address));
  const more = members.length > 3 ? `,… (${members.length} in all)` : '';
  return { service: `${addresses.join(',')}${more}`, unresolved: undefined };
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
