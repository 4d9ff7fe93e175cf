import { createRequire } from 'node:module';
import { resolve, sep } from 'node:path';
import type { ChannelCredentials } from '@grpc/grpc-js';
import * as installed from '@grpc/grpc-js';

/**
 * A `@grpc/grpc-js` module, rxlb's own import or another copy. Typed as rxlb's: every copy
 * rxlb accepts (1.14.0 or later) has the API rxlb uses.
 */
export type GrpcJs = typeof installed;

/**
 * The `@grpc/grpc-js` module a balanced channel is built of (`import * as grpc from
 * '@grpc/grpc-js'`), 1.14.0 or later. Typed by the parts rxlb uses, so that the module of any
 * copy of grpc-js fits (TypeScript tells two copies' classes apart).
 */
export interface GrpcJsChannelModule {
  readonly Channel: abstract new (...args: never[]) => unknown;
  readonly ChannelCredentials: abstract new (...args: never[]) => unknown;
  readonly Metadata: abstract new (...args: never[]) => unknown;
  readonly credentials: { createInsecure(): unknown };
  readonly experimental: {
    registerResolver(...args: never[]): void;
    registerLoadBalancerType(...args: never[]): void;
    readonly LeafLoadBalancer: abstract new (...args: never[]) => unknown;
    statusOrFromValue(...args: never[]): unknown;
  };
}

/** A class, of any copy of grpc-js. */
type Class = abstract new (...args: never[]) => unknown;

/** Throws the `TypeError` saying what `option` must be. */
export type Complain = (option: 'grpc' | 'credentials', expected: string) => never;

/**
 * The grpc-js module a balanced channel is built of, and the credentials of its connections.
 * The channel, its calls and the errors they end with must all belong to the grpc-js of the
 * client that calls through it: nice-grpc turns an error into a `ClientError` only when its
 * metadata is an instance of its own grpc-js's `Metadata`, and `retryOnAnotherInstance`
 * retries `ClientError`s. So the module is, in order: the `grpc` option; else the module of
 * the credentials given (an app whose rxlb resolves another copy, e.g. installed from a
 * folder, passes its own); else rxlb's own import.
 */
export function channelGrpcJs(
  grpc: unknown,
  credentials: unknown,
  complain: Complain,
): { grpc: GrpcJs; credentials: ChannelCredentials } {
  if (grpc !== undefined && !isGrpcJs(grpc)) {
    complain(
      'grpc',
      "the @grpc/grpc-js module, 1.14.0 or later (import * as grpc from '@grpc/grpc-js')",
    );
  }
  if (credentials === undefined) {
    const module = grpc ?? installed;
    return { grpc: module, credentials: module.credentials.createInsecure() };
  }
  if (grpc !== undefined) {
    if (credentials instanceof grpc.ChannelCredentials) return { grpc, credentials };
    complain(
      'credentials',
      'a ChannelCredentials of the @grpc/grpc-js given as option "grpc" (a ChannelCredentials of another copy of grpc-js cannot make its connections)',
    );
  }
  if (credentials instanceof installed.ChannelCredentials) return { grpc: installed, credentials };
  const Credentials = credentialsClass(credentials);
  if (Credentials === undefined) {
    complain('credentials', 'a ChannelCredentials of @grpc/grpc-js, e.g. credentials.createSsl()');
  }
  const module = loadedGrpcJs(Credentials);
  if (module === undefined) {
    complain(
      'credentials',
      "a ChannelCredentials of rxlb's @grpc/grpc-js, or of a copy loaded with require() or import: this one is of a copy rxlb cannot find; give that copy as option \"grpc\" (import * as grpc from '@grpc/grpc-js')",
    );
  }
  if (!isGrpcJs(module)) {
    complain(
      'credentials',
      'a ChannelCredentials of @grpc/grpc-js 1.14.0 or later: these are of an older copy',
    );
  }
  return { grpc: module, credentials: credentials as ChannelCredentials };
}

/** Whether `value` is a grpc-js module with the API the balanced channel is written against. */
function isGrpcJs(value: unknown): value is GrpcJs {
  if (typeof value !== 'object' || value === null) return false;
  const { Channel, ChannelCredentials, Metadata, credentials, experimental } = value as Partial<
    Record<keyof GrpcJsChannelModule, unknown>
  >;
  if (typeof experimental !== 'object' || experimental === null) return false;
  const { registerResolver, registerLoadBalancerType, LeafLoadBalancer, statusOrFromValue } =
    experimental as Record<string, unknown>;
  return (
    [Channel, ChannelCredentials, Metadata, registerResolver, registerLoadBalancerType].every(
      (member) => typeof member === 'function',
    ) &&
    typeof credentials === 'object' &&
    // both appeared in 1.14.0, with the load-balancer API rxlb's policy is written against
    typeof LeafLoadBalancer === 'function' &&
    typeof statusOrFromValue === 'function'
  );
}

/** grpc-js's `ChannelCredentials` class of whichever copy made `value`, if it is credentials. */
function credentialsClass(value: unknown): Class | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (
    let proto = Object.getPrototypeOf(value);
    proto !== null;
    proto = Object.getPrototypeOf(proto)
  ) {
    const made: unknown = (proto as { constructor?: unknown }).constructor;
    if (typeof made === 'function' && made.name === 'ChannelCredentials') return made as Class;
  }
  return undefined;
}

const found = new WeakMap<Class, object>();

/**
 * The grpc-js module, among those this process loaded, whose `ChannelCredentials` is
 * `Credentials`. grpc-js is CommonJS, so every copy a process loads, with require() or with
 * import, is in require's cache, as `.../build/src/index.js`.
 */
function loadedGrpcJs(Credentials: Class): object | undefined {
  const known = found.get(Credentials);
  if (known) return known;
  // one cache for the whole process: the require() made for any absolute path reads it
  const { cache } = createRequire(resolve('rxlb.js'));
  const index = `${sep}build${sep}src${sep}index.js`;
  for (const [path, entry] of Object.entries(cache)) {
    const exports: unknown = entry?.exports;
    if (!path.endsWith(index) || typeof exports !== 'object' || exports === null) continue;
    if ((exports as { ChannelCredentials?: unknown }).ChannelCredentials !== Credentials) continue;
    found.set(Credentials, exports);
    return exports;
  }
  return undefined;
}
