/**
 * The `whenNobody` option of consulInstances$: the policy for an empty healthy set, applied
 * by default. Fallback and panic need every registered instance: Consul gives those too,
 * through the same query with `passing=false`.
 */
import { identity, type MonoTypeOperatorFunction, type Observable } from 'rxjs';
import type { InstanceSet } from '../instance.js';
import { notify } from '../notify.js';
import { nobodyOperator } from '../operators/when-nobody.js';
import {
  type FailFastOptions,
  type FallbackOptions,
  type KeepLastOptions,
  type PanicOptions,
  resolveNobodyConfig,
} from '../operators/when-nobody-options.js';
import type { ConsulInstancesOptions } from './options.js';

/**
 * {@link whenNobody}'s options as `consulInstances$` takes them: for `fallback` and `panic`
 * it watches every registered instance itself, so there is no `registered$` to give.
 */
export type ConsulNobodyOptions =
  | KeepLastOptions
  | FailFastOptions
  | Omit<FallbackOptions, 'registered$'>
  | Omit<PanicOptions, 'registered$'>;

/**
 * The operator the `whenNobody` option asks for: keep-last (30 s) when it is absent, none
 * when it is `false`. Validated at once: a bad option is a `TypeError` naming it. As with
 * `onError` and `onStatus`, what `onReport` throws goes to RxJS's `onUnhandledError`: a
 * callback never ends the watch.
 */
export function nobodyPolicy(
  caller: string,
  options: ConsulInstancesOptions,
  registered: (options: ConsulInstancesOptions) => Observable<InstanceSet>,
): MonoTypeOperatorFunction<InstanceSet> {
  const chosen: unknown = options.whenNobody ?? {};
  if (chosen === false) return identity;
  if (typeof chosen !== 'object' || chosen === null || Array.isArray(chosen)) {
    throw new TypeError(`${caller}: option "whenNobody" must be an object or false`);
  }
  if ('registered$' in chosen) {
    throw new TypeError(
      `${caller}: option "whenNobody.registered$" is not taken: rxlb watches the registered instances itself`,
    );
  }
  const { policy } = chosen as { policy?: unknown };
  const full =
    policy === 'fallback' || policy === 'panic'
      ? { ...chosen, registered$: registered(registeredQuery(options)) }
      : chosen;
  const config = resolveNobodyConfig(full, caller, 'whenNobody.');
  const { onReport } = config;
  return nobodyOperator(onReport ? { ...config, onReport: (r) => notify(onReport, r) } : config);
}

/** The same query for every registered instance; its failures show on the healthy watch. */
function registeredQuery(options: ConsulInstancesOptions): ConsulInstancesOptions {
  const { onError, onStatus, whenNobody: _, ...query } = options;
  return { ...query, passing: false, whenNobody: false };
}
