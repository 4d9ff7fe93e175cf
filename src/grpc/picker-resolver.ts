import { type ChannelOptions, experimental, status } from '@grpc/grpc-js';
import type { GrpcJs } from './grpc-js-module.js';
import { methodConfigSelector } from './method-config-selector.js';
import { PickerSource, type Resolution } from './picker-source.js';

/** The target scheme of balanced channels: `rxlb:///<name>`. */
export const SCHEME = 'rxlb';

/**
 * Keys of the channel option that carries a channel's {@link PickerSource}, and of the
 * resolver attribute that carries its {@link Resolution} to the load balancer. Both start
 * with grpc-js's prefix for options that must not reach subchannels: subchannels are shared
 * between channels whose options are equal, and these differ.
 */
export const SOURCE_OPTION = `${experimental.SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX}.rxlb.source`;
export const RESOLUTION_ATTRIBUTE = `${experimental.SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX}.rxlb.resolution`;

/**
 * grpc-js's resolver for `rxlb:` targets: it passes on what the channel's `picker$` says, as
 * a DNS resolver passes on addresses. Membership is pushed by `picker$`, so re-resolution
 * just says the latest again.
 */
export class PickerResolver implements experimental.Resolver {
  private readonly source: PickerSource | undefined;
  private readonly report = (resolution: Resolution) => this.tell(resolution);
  /** grpc-js's method configs, handing each call's method to the picker for metrics. */
  private readonly selector: experimental.ConfigSelector | undefined;

  constructor(
    /** The channel's grpc-js: its failures carry that module's metadata. */
    private readonly grpc: GrpcJs,
    private readonly target: experimental.GrpcUri,
    private readonly listener: experimental.ResolverListener,
    options: ChannelOptions,
  ) {
    const source: unknown = options[SOURCE_OPTION];
    this.source = source instanceof PickerSource ? source : undefined;
    const serviceConfig = options['grpc.service_config'];
    this.selector =
      this.source?.config.metrics.enabled && typeof serviceConfig === 'string'
        ? methodConfigSelector(serviceConfig)
        : undefined;
  }

  updateResolution(): void {
    if (!this.source) {
      const target = this.grpc.experimental.uriToString(this.target);
      this.fail(`${target}: rxlb targets are made by createBalancedChannel(), not by hand`);
      return;
    }
    this.source.watch(this.report);
    this.tell(this.source.resolution);
  }

  destroy(): void {
    this.source?.unwatch(this.report);
  }

  static getDefaultAuthority(target: experimental.GrpcUri): string {
    return target.path;
  }

  private tell(resolution: Resolution): void {
    const attributes = {
      [RESOLUTION_ATTRIBUTE]: resolution,
      [SOURCE_OPTION]: this.source,
      ...(this.selector && { [experimental.CHANNEL_ARGS_CONFIG_SELECTOR_KEY]: this.selector }),
    };
    switch (resolution.kind) {
      case 'waiting':
        return;
      case 'picker':
        // The policy takes the members from the picker itself, and connects to new ones only.
        this.listener(this.grpc.experimental.statusOrFromValue([]), attributes, null, '');
        return;
      case 'failed':
        this.fail(resolution.message, attributes);
    }
  }

  private fail(details: string, attributes: Record<string, unknown> = {}): void {
    const error = { code: status.UNAVAILABLE, details, metadata: new this.grpc.Metadata() };
    this.listener(this.grpc.experimental.statusOrFromError(error), attributes, null, '');
  }
}

/** The resolver of `rxlb:` targets for the channels of `grpc`, as grpc-js constructs it. */
export function pickerResolverOf(
  grpc: GrpcJs,
): Parameters<typeof experimental.registerResolver>[1] {
  return class extends PickerResolver {
    constructor(
      target: experimental.GrpcUri,
      listener: experimental.ResolverListener,
      options: ChannelOptions,
    ) {
      super(grpc, target, listener, options);
    }
  };
}
