import { type Observable, ReplaySubject, share, switchMap } from 'rxjs';
import type { InstanceSet } from '../instance.js';
import { agentDatacenter$ } from './home-datacenter.js';
import type { WatchConfig } from './options.js';

/** The loop of one query: `watchSets`, or the shared loop of `sharedConsulInstances$`. */
export type Watch = (config: WatchConfig) => Observable<InstanceSet>;

/** A watch that translates, and its question of the agent's datacenter, if it asks one. */
export interface TranslatedWatch {
  readonly watch: Watch;
  /**
   * The agent's datacenter, asked once for the loops of the watch (and failover's home name,
   * so that it is not asked twice); undefined without `translateWanAddresses`.
   */
  readonly agent$: Observable<string | undefined> | undefined;
}

/**
 * `watch`, with the `translateWanAddresses` option applied to each loop, as Consul's
 * `translate_wan_addrs` applies to each answer: a loop that asks without `dc` is answered
 * from the agent's own datacenter and keeps LAN addresses; one that asks with `dc` is
 * translated unless `dc` is the agent's datacenter, asked once of `/v1/agent/self` (shared by
 * the loops of the watch). While the agent's datacenter is unknown (that request failing, or
 * refused for a token without `agent:read`), a loop with `dc` is translated: a remote
 * datacenter's LAN addresses are usually unreachable, while the WAN address of a local node
 * usually still routes. A loop is restarted with the right addresses when the name comes.
 */
export function translatedWatch(config: WatchConfig, watch: Watch): TranslatedWatch {
  if (!config.translateWanAddresses) return { watch, agent$: undefined };
  const agent$ = agentDatacenter$(config).pipe(
    share({
      connector: () => new ReplaySubject<string | undefined>(1),
      resetOnComplete: false,
    }),
  );
  const translated: Watch = (loop) => {
    const { dc } = loop.query;
    if (dc === undefined) return watch(loop);
    return agent$.pipe(switchMap((agent) => watch({ ...loop, translateWan: dc !== agent })));
  };
  return { watch: translated, agent$ };
}
