/**
 * Load on Consul: health queries per wait period of idle watches (no change at all), for one
 * watch and for many. `wait` is shortened so that many periods fit in seconds; an idle watch
 * sends one query per `wait` by design, so the count per period carries over to the default
 * wait (5 minutes) and is extrapolated to requests per minute from there.
 */
import type { Subscription } from 'rxjs';
import { WATCH_DEFAULTS } from '../src/consul/options.js';
import { ConsulTestServer } from '../src/testing/index.js';
import { registerAll } from './channels.js';
import type { RxlbApi } from './rxlb.js';
import { sleep } from './stats.js';

export interface ConsulLoadConfig {
  readonly waitMs: number;
  /** How many wait periods to count over. */
  readonly periods: number;
  /** How many watches the second measurement runs. */
  readonly watches: number;
}

export interface ConsulLoadResult {
  readonly watches: number;
  readonly waitMs: number;
  readonly elapsedMs: number;
  /** Health queries Consul received within the window. */
  readonly requests: number;
  /** Queries per wait period, per watch. */
  readonly perWaitPerWatch: number;
  /** All watches together, queries per minute at the measured `waitMs`. */
  readonly perMinuteMeasured: number;
  /** All watches together, queries per minute at the default wait of 5 minutes. */
  readonly perMinuteAtDefaultWait: number;
}

async function measureWatches(
  { consulInstances$ }: RxlbApi,
  watches: number,
  { waitMs, periods }: ConsulLoadConfig,
): Promise<ConsulLoadResult> {
  const consul = await new ConsulTestServer().start();
  const service = 'idle';
  registerAll(consul, service, ['127.0.0.1:50051', '127.0.0.1:50052', '127.0.0.1:50053']);
  const subscriptions: Subscription[] = [];
  try {
    const firstSets: Promise<unknown>[] = [];
    for (let i = 0; i < watches; i++) {
      const watch$ = consulInstances$(service, { address: consul.address, wait: waitMs });
      let first: () => void = () => {};
      firstSets.push(
        new Promise<void>((resolve) => {
          first = resolve;
        }),
      );
      subscriptions.push(watch$.subscribe(() => first()));
    }
    await Promise.all(firstSets);
    const path = `/v1/health/service/${service}`;
    const start = performance.now();
    await sleep(waitMs * periods);
    const elapsedMs = performance.now() - start;
    const requests = consul.requests.filter((r) => r.path === path && r.receivedAt >= start).length;
    const perWaitPerWatch = requests / watches / (elapsedMs / waitMs);
    return {
      watches,
      waitMs,
      elapsedMs,
      requests,
      perWaitPerWatch,
      perMinuteMeasured: (requests / elapsedMs) * 60_000,
      perMinuteAtDefaultWait: perWaitPerWatch * watches * (60_000 / WATCH_DEFAULTS.waitMs),
    };
  } finally {
    for (const subscription of subscriptions) subscription.unsubscribe();
    await consul.stop();
  }
}

/** One idle watch, then `config.watches` idle watches. */
export async function runConsulLoad(
  rxlb: RxlbApi,
  config: ConsulLoadConfig,
): Promise<ConsulLoadResult[]> {
  return [
    await measureWatches(rxlb, 1, config),
    await measureWatches(rxlb, config.watches, config),
  ];
}
