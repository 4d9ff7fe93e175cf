import {
  CHOICE_DEFAULTS,
  type DatacenterMode,
  readDatacenterList,
  readMinHealthy,
} from '../operators/internal/datacenter-options.js';
import { isRecord, type OptionReader } from '../read-options.js';

/**
 * `consulInstances$`'s `failover` option as an object: the datacenters to fail over to, in
 * order of preference, and how many healthy instances keep a datacenter served.
 *
 * @example
 * ```ts
 * const failover: FailoverOptions = { datacenters: ['dc2', 'dc3'], minHealthy: 2 };
 * consulInstances$('greeter', { failover });
 * ```
 */
export interface FailoverOptions {
  /**
   * Datacenters to serve when home (the `dc` option, else the agent's) has fewer than
   * `minHealthy` healthy instances, in order of preference, each named once. Home may be
   * among them (one list for every datacenter's clients): it is skipped there.
   */
  readonly datacenters: readonly string[];
  /** How many healthy instances keep a datacenter served. Default 1. */
  readonly minHealthy?: number;
}

/** The `failover` option, validated. */
export interface FailoverSettings {
  /** In order of preference; home is not among them when it is the `dc` option. */
  readonly datacenters: readonly string[];
  readonly minHealthy: number;
}

/**
 * One watched datacenter, as {@link FailoverStatus} shows it.
 *
 * @example
 * ```ts
 * const broken = (status: ConsulStatus) =>
 *   status.failover?.datacenters.filter((dc: WatchedDatacenter) => dc.state === 'retrying');
 * ```
 */
export interface WatchedDatacenter {
  /** Its name; undefined for the agent's own when the agent would not tell it. */
  readonly datacenter: string | undefined;
  /** Healthy instances in its latest answer (0 while it never answered); undefined before. */
  readonly healthy: number | undefined;
  /**
   * `'waiting'` for its first answer, `'ok'` after a good one, `'retrying'` while its
   * queries fail (its last answer still counts, nobody if it never had one).
   */
  readonly state: 'waiting' | 'ok' | 'retrying';
}

/**
 * With `failover`: which datacenter is served and why, as `onStatus` reports it.
 *
 * @example
 * ```ts
 * consulInstances$('greeter', {
 *   failover: ['dc2', 'dc3'],
 *   onStatus: ({ failover }) => {
 *     if (failover?.serving?.mode === 'failover') console.warn(`greeter: ${failover.serving.reason}`);
 *   },
 * });
 * ```
 */
export interface FailoverStatus {
  /**
   * The datacenter served, its mode (`home`, `failover`, or `nobody` when no datacenter has
   * anyone healthy) and why, as of the last change of choice; undefined until the first
   * choice (made once home, and every datacenter before the one chosen, has answered).
   */
  readonly serving:
    | {
        readonly datacenter: string | undefined;
        readonly mode: DatacenterMode;
        readonly reason: string;
      }
    | undefined;
  /** Every watched datacenter, home first, in order of preference. */
  readonly datacenters: readonly WatchedDatacenter[];
}

/** The keys of {@link FailoverOptions}. */
const FAILOVER_KEYS = ['datacenters', 'minHealthy'];
/** A Consul datacenter name: letters, digits, `-` and `_`. */
const DATACENTER = /^[A-Za-z0-9_-]+$/;
const isDatacenter = (name: string) => DATACENTER.test(name);
const NAMES = 'datacenter names (letters, digits, "-" and "_")';

/**
 * Reads the `failover` option of `o`: a list of datacenters, or {@link FailoverOptions}.
 * `home` is the `dc` option, dropped from the list when it is in it.
 */
export function readFailover(
  o: OptionReader,
  home: string | undefined,
): FailoverSettings | undefined {
  const value = o.raw('failover');
  if (value === undefined) return undefined;
  let datacenters: readonly string[];
  let minHealthy: number;
  if (isRecord(value)) {
    const f = o.nested('failover', FAILOVER_KEYS) as OptionReader;
    datacenters = readDatacenterList(f, 'datacenters', isDatacenter, NAMES);
    minHealthy = readMinHealthy(f);
  } else {
    if (!Array.isArray(value)) o.fail('failover', `an array of ${NAMES}, or an object`);
    datacenters = readDatacenterList(o, 'failover', isDatacenter, NAMES);
    minHealthy = CHOICE_DEFAULTS.minHealthy;
  }
  return { datacenters: datacenters.filter((dc) => dc !== home), minHealthy };
}
