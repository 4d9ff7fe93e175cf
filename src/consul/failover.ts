import { defer, merge, Observable, switchMap } from 'rxjs';
import type { InstanceSet } from '../instance.js';
import { notify } from '../notify.js';
import { datacenterOperator } from '../operators/choose-datacenter.js';
import type { DatacenterSet } from '../operators/internal/datacenter-options.js';
import type { FailoverSettings, FailoverStatus, WatchedDatacenter } from './failover-options.js';
import { homeDatacenter$ } from './home-datacenter.js';
import type { ConsulStatus, WatchConfig } from './options.js';
import type { Watch } from './wan-addresses.js';

export type { Watch } from './wan-addresses.js';

/**
 * How home is called in reasons when the agent would not tell its datacenter's name. No
 * Consul datacenter is named so (names are letters, digits, `-` and `_`), so it cannot
 * collide with a datacenter of the list; statuses show it as `undefined`.
 */
const UNNAMED_HOME = "the agent's datacenter";

/**
 * The sets a watch serves before its `whenNobody` policy: `watch(config)`'s; with `failover`,
 * those of the datacenter chosen by {@link chooseDatacenter} among home's and the failover
 * datacenters', each watched by its own `watch` loop (shared between subscribers when
 * `watch` shares). Home is the `dc` option, else the agent's datacenter (see
 * `homeDatacenter$`); its loop asks without `dc`, as a watch without failover does, and the
 * list loses home when it names it.
 *
 * `onStatus` hears every loop's statuses, each with its `datacenter` and the `failover`
 * summary after the choice that answer made; a loop's statuses wait for its first set, so a
 * subscriber joining shared loops hears them after their replayed sets. `agent$`, the agent's
 * datacenter as `translatedWatch` asks it, names home when `dc` does not, so that it is asked
 * once for both.
 */
export function datacenterSets(
  config: WatchConfig,
  watch: Watch,
  agent$?: Observable<string | undefined>,
): Observable<InstanceSet> {
  const { failover } = config;
  if (!failover) return watch(config);
  const home$ = config.query.dc === undefined && agent$ ? agent$ : homeDatacenter$(config);
  return home$.pipe(switchMap((home) => failoverSets(config, failover, watch, home)));
}

interface Loop {
  readonly label: string;
  healthy: number | undefined;
  state: WatchedDatacenter['state'];
  /** The status that came before this subscription saw the loop's first set. */
  held: ConsulStatus | undefined;
}

function failoverSets(
  config: WatchConfig,
  failover: FailoverSettings,
  watch: Watch,
  home: string | undefined,
): Observable<InstanceSet> {
  return defer(() => {
    const labels = [home ?? UNNAMED_HOME, ...failover.datacenters.filter((dc) => dc !== home)];
    const name = (label: string) => (label === UNNAMED_HOME ? undefined : label);
    const loops: Loop[] = labels.map((label) => ({
      label,
      healthy: undefined,
      state: 'waiting',
      held: undefined,
    }));
    let serving: FailoverStatus['serving'];
    const summary = (): FailoverStatus => ({
      serving,
      datacenters: loops.map(({ label, healthy, state }) => ({
        datacenter: name(label),
        healthy,
        state,
      })),
    });
    const tell = (loop: Loop, status: ConsulStatus) =>
      notify(config.onStatus, { ...status, datacenter: name(loop.label), failover: summary() });

    const sets = (loop: Loop, dc: string | undefined): Observable<DatacenterSet> => {
      const { onError } = config;
      const loopConfig: WatchConfig = {
        ...config,
        query: { ...config.query, dc },
        onError:
          onError && ((failure) => notify(onError, { ...failure, datacenter: name(loop.label) })),
        onStatus: (status) => {
          loop.state = status.state;
          if (loop.healthy === undefined) loop.held = status;
          else tell(loop, status);
        },
        nobody: undefined,
        failover: undefined,
      };
      return new Observable<DatacenterSet>((subscriber) =>
        watch(loopConfig).subscribe({
          next: (set) => {
            loop.healthy = set.size;
            subscriber.next({ datacenter: loop.label, set });
            // after the choice this set made
            const { held } = loop;
            loop.held = undefined;
            if (held) tell(loop, held);
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => subscriber.complete(),
        }),
      );
    };
    // home asks as a watch without failover does (without dc unless given): it shares with it
    const all = loops.map((loop, i) => sets(loop, i === 0 ? config.query.dc : loop.label));
    return merge(...all).pipe(
      datacenterOperator({
        datacenters: labels,
        minHealthy: failover.minHealthy,
        onChoice: ({ datacenter, mode, reason }) => {
          serving = { datacenter: name(datacenter), mode, reason };
        },
      }),
    );
  });
}
