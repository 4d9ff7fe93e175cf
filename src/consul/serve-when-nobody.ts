import {
  asyncScheduler,
  defer,
  finalize,
  identity,
  type MonoTypeOperatorFunction,
  type Observable,
} from 'rxjs';
import type { InstanceSet } from '../instance.js';
import { notify } from '../notify.js';
import { type NobodyMode, needsRegistered } from '../operators/internal/nobody-options.js';
import { nobodyOperator } from '../operators/when-nobody.js';
import type { WatchConfig } from './options.js';
import { unrefScheduler } from './unref-scheduler.js';

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
  const { nobody: settings, metrics } = config;
  if (!settings) return identity;
  // a watch that must not hold the process (a consul: channel's) keeps its grace on unref'd
  // timers, unless the user gave a scheduler of their own
  const nobody =
    !config.keepsProcessAlive && settings.scheduler === asyncScheduler
      ? { ...settings, scheduler: unrefScheduler }
      : settings;
  const registered: WatchConfig = {
    ...config,
    query: { ...config.query, passing: false },
    onError: undefined,
    onStatus: undefined,
    nobody: undefined,
    failover: undefined,
  };
  const registered$ = needsRegistered(nobody.policy) ? watch(registered) : undefined;
  const { onReport } = nobody;
  if (!metrics.enabled) {
    return nobodyOperator({
      ...nobody,
      registered$,
      onReport: onReport && ((report) => notify(onReport, report)),
    });
  }
  // rxlb.discovery.nobody_mode: this subscription counts in its mode, from start to end
  const service = { 'rxlb.service': config.query.service };
  return (source) =>
    defer(() => {
      let mode: NobodyMode = 'healthy';
      metrics.nobodyMode.add(1, { ...service, 'rxlb.mode': mode });
      const moved = (next: NobodyMode) => {
        metrics.nobodyMode.add(-1, { ...service, 'rxlb.mode': mode });
        metrics.nobodyMode.add(1, { ...service, 'rxlb.mode': next });
        mode = next;
      };
      return source.pipe(
        nobodyOperator({
          ...nobody,
          registered$,
          onReport: (report) => {
            moved(report.mode);
            if (onReport) notify(onReport, report);
          },
        }),
        finalize(() => metrics.nobodyMode.add(-1, { ...service, 'rxlb.mode': mode })),
      );
    });
}
