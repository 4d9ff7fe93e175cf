import { identity, type MonoTypeOperatorFunction, type Observable } from 'rxjs';
import type { InstanceSet } from '../instance.js';
import { notify } from '../notify.js';
import { nobodyOperator } from '../operators/when-nobody.js';
import { needsRegistered } from '../operators/when-nobody-options.js';
import type { WatchConfig } from './options.js';

/**
 * The empty-set policy of a Consul watch: {@link whenNobody}'s operator with the settings
 * `config` was checked with. For `fallback` and `panic`, every registered instance comes from
 * `watch`, run on the same config but `passing=false` (its failures show on the healthy
 * watch, not twice). What `onReport` throws goes to RxJS's `onUnhandledError`, as for
 * `onError` and `onStatus`, rather than ending the watch.
 */
export function serveWhenNobody(
  config: WatchConfig,
  watch: (config: WatchConfig) => Observable<InstanceSet>,
): MonoTypeOperatorFunction<InstanceSet> {
  const { nobody } = config;
  if (!nobody) return identity;
  const registered: WatchConfig = {
    ...config,
    query: { ...config.query, passing: false },
    onError: undefined,
    onStatus: undefined,
    nobody: undefined,
    failover: undefined,
  };
  const { onReport } = nobody;
  return nobodyOperator({
    ...nobody,
    registered$: needsRegistered(nobody.policy) ? watch(registered) : undefined,
    onReport: onReport && ((report) => notify(onReport, report)),
  });
}
