/**
 * The grpc-js resolver behind `consul:` targets: one per channel, fed by a shared Consul
 * watch. grpc-js's resolving load balancer creates it with the channel, calls
 * `updateResolution()` when the channel leaves IDLE (and when a connection fails), and
 * `destroy()` when the channel goes idle or closes.
 */
import type { Observable, Subscription } from 'rxjs';
import type { ConsulInstancesOptions, ConsulStatus } from '../consul/options.js';
import { sharedInstancesOf } from '../consul/shared-instances.js';
import { discoveryOf } from '../discovery.js';
import { type InstanceSet, parseAddress } from '../instance.js';
import { notify } from '../notify.js';
import { INSTANCES_ATTRIBUTE } from '../service-config/policy-balancer.js';
import { parseConsulTarget, type ResolverTarget, TargetError, targetService } from './target.js';

/**
 * grpc-js's `ResolverListener`, as the resolver calls it. Its first argument is built by the
 * same module's `statusOrFromValue`/`statusOrFromError`: typed `never` here so that every copy
 * of grpc-js 1.14 fits, whose `Metadata` classes TypeScript cannot tell apart.
 */
export type ResolverListener = (
  endpointList: never,
  attributes: Readonly<Record<string, unknown>>,
  serviceConfig: null,
  resolutionNote: string,
) => boolean;

/** A resolver class as grpc-js's `experimental.registerResolver` takes it (1.14.0 and later). */
export interface ConsulResolverClass {
  new (
    target: ResolverTarget,
    listener: ResolverListener,
    channelOptions: object,
  ): { updateResolution(): void; destroy(): void };
  getDefaultAuthority(target: ResolverTarget): string;
}

/**
 * The part of the `@grpc/grpc-js` module (1.14.0 or later) that the resolver uses: pass the
 * module itself. Structural, so that any copy of grpc-js 1.14 fits.
 *
 * @example
 * ```ts
 * import * as grpc from '@grpc/grpc-js';
 * import { registerConsulResolver } from 'rxlb';
 *
 * registerConsulResolver({ grpc }); // the copy of grpc-js this file's clients use
 * ```
 */
export interface GrpcJsModule {
  readonly experimental: {
    registerResolver(scheme: string, resolverClass: ConsulResolverClass): void;
    statusOrFromValue(value: { addresses: { host: string; port: number }[] }[]): unknown;
    statusOrFromError(error: { code: number; details: string }): unknown;
  };
}

/** What every `consul:` target shares: the watch options given at registration. */
export type ResolverDefaults = Pick<
  ConsulInstancesOptions,
  | 'address'
  | 'token'
  | 'tls'
  | 'backoff'
  | 'minIntervalMs'
  | 'whenNobody'
  | 'onError'
  | 'onStatus'
  | 'meterProvider'
>;

const UNAVAILABLE = 14; // grpc.status.UNAVAILABLE, the same in every grpc-js

/** grpc-js's `Endpoint` list for a set: one endpoint per instance, in Consul's order. */
function endpoints(set: InstanceSet): { addresses: { host: string; port: number }[] }[] {
  const list: { addresses: { host: string; port: number }[] }[] = [];
  for (const address of set.keys()) {
    const parts = parseAddress(address);
    if (parts) list.push({ addresses: [parts] });
  }
  return list;
}

/** Target text for messages, without its query string, which might hold a mistake. */
function describe(target: ResolverTarget): string {
  const authority = target.authority === undefined ? '' : `//${target.authority}/`;
  const safe = target.authority?.includes('@') ? '//…/' : authority;
  return `consul:${safe}${targetService(target)}`;
}

/**
 * Builds the resolver class that `registerConsulResolver` registers with `grpc`: a class, as
 * grpc-js wants, closed over the module it reports through, the registration's options and
 * `caller`, the API that messages about the watch name (the user never called the watch's).
 */
export function consulResolverClass(
  grpc: GrpcJsModule,
  defaults: ResolverDefaults,
  caller: string,
): ConsulResolverClass {
  return class ConsulResolver {
    static getDefaultAuthority(target: ResolverTarget): string {
      return targetService(target);
    }

    readonly #listener: ResolverListener;
    readonly #what: string;
    /** The shared watch of the target, or why the target cannot have one. */
    readonly #source: Observable<InstanceSet> | string;
    #subscription: Subscription | undefined;
    /** Bumped by destroy(): a report queued before it is dropped. */
    #generation = 0;

    constructor(target: ResolverTarget, listener: ResolverListener) {
      if (typeof listener !== 'function') {
        // grpc-js before 1.14.0 passes an object with onSuccessfulResolution/onError
        throw new TypeError(
          `rxlb's consul resolver needs @grpc/grpc-js 1.14.0 or later (target ${describe(target)})`,
        );
      }
      this.#listener = listener;
      this.#what = describe(target);
      this.#source = this.#watch(target);
    }

    #watch(target: ResolverTarget): Observable<InstanceSet> | string {
      try {
        const { service, address, query } = parseConsulTarget(target);
        const options = {
          ...defaults,
          ...(address !== undefined && { address }),
          ...query,
          onStatus: (status: ConsulStatus) => {
            notify(defaults.onStatus, status);
            this.#status(status);
          },
        };
        // as grpc-js's own resolvers: a channel left open never holds the process by itself
        return sharedInstancesOf(caller, service, options, { keepsProcessAlive: false });
      } catch (error) {
        if (!(error instanceof TargetError || error instanceof TypeError)) throw error;
        return `bad target ${this.#what}: ${error.message}`;
      }
    }

    updateResolution(): void {
      const source = this.#source;
      if (typeof source === 'string') {
        this.#fail(source);
        return;
      }
      // the watch pushes every change: while it runs there is nothing to ask again
      if (this.#subscription) return;
      this.#subscription = source.subscribe({
        next: (set) => {
          // Not an answer but the failure to get one, which #status() reports.
          if (discoveryOf(set)?.unresolved !== undefined) return;
          // rxlb's service-config policies read the instances (weights, meta) from there
          this.#report(grpc.experimental.statusOrFromValue(endpoints(set)), '', {
            [INSTANCES_ATTRIBUTE]: set,
          });
          // An empty list alone leaves grpc-js's round_robin IDLE, queueing calls until their
          // deadline. Once the list has emptied the policy, an error is not ignored: it
          // fails calls at once, saying why.
          if (set.size === 0) this.#fail(`Consul has no healthy instance for ${this.#what}`);
        },
        // the watch never errors; were it to, the channel says so rather than the process
        error: (error: unknown) => {
          this.#subscription = undefined;
          const message = error instanceof Error ? error.message : String(error);
          this.#fail(`${this.#what}: ${message}`);
        },
      });
    }

    destroy(): void {
      this.#generation += 1;
      this.#subscription?.unsubscribe();
      this.#subscription = undefined;
    }

    /**
     * While the watch has never had an answer, a failing Consul is the channel's resolution
     * error; once it has served a set, grpc-js keeps the endpoints it has, as rxlb keeps its
     * last set.
     */
    #status(status: ConsulStatus): void {
      if (status.lastSuccessAt !== undefined || !status.lastError) return;
      this.#fail(`${this.#what}: ${status.lastError.message}`);
    }

    #fail(details: string): void {
      this.#report(grpc.experimental.statusOrFromError({ code: UNAVAILABLE, details }), '');
    }

    /** grpc-js forbids a listener call from inside updateResolution(): always a microtask later. */
    #report(result: unknown, note: string, attributes: Record<string, unknown> = {}): void {
      const generation = this.#generation;
      queueMicrotask(() => {
        if (generation !== this.#generation) return;
        // the module's own StatusOr, built by its statusOrFrom* helpers
        this.#listener(result as never, attributes, null, note);
      });
    }
  };
}
