import type { InstanceSet } from '../../instance.js';
import { type OptionReader, readOptions } from '../../read-options.js';

/**
 * One datacenter's latest set of healthy instances, as {@link chooseDatacenter} takes them.
 *
 * @example
 * ```ts
 * const dc2$: Observable<DatacenterSet> = consulInstances$('greeter', { dc: 'dc2' }).pipe(
 *   map((set) => ({ datacenter: 'dc2', set })),
 * );
 * ```
 */
export interface DatacenterSet {
  /** The datacenter the set comes from: one of the operator's `datacenters`. */
  readonly datacenter: string;
  readonly set: InstanceSet;
}

/**
 * What {@link chooseDatacenter} serves, as its choices name it:
 * - `home`: the first datacenter's set;
 * - `failover`: another datacenter's set, because the ones before it have too few healthy;
 * - `nobody`: the first datacenter's empty set, because no datacenter has anyone healthy.
 *
 * @example
 * ```ts
 * chooseDatacenter({
 *   datacenters: ['dc1', 'dc2'],
 *   onChoice: ({ mode, reason }) => mode !== 'home' && alertOps(`greeter: ${reason}`),
 * });
 * ```
 */
export type DatacenterMode = 'home' | 'failover' | 'nobody';

/**
 * Healthy instances of one datacenter, as a {@link DatacenterChoice} counts them.
 *
 * @example
 * ```ts
 * const line = (counts: readonly DatacenterCount[]) =>
 *   counts.map(({ datacenter, healthy }) => `${datacenter}: ${healthy ?? '?'}`).join(', ');
 * ```
 */
export interface DatacenterCount {
  readonly datacenter: string;
  /** Instances in its latest set; undefined before its first. */
  readonly healthy: number | undefined;
}

/**
 * Told each time {@link chooseDatacenter} serves another datacenter, or another mode.
 *
 * @example
 * ```ts
 * const onChoice = ({ datacenter, reason, served }: DatacenterChoice) =>
 *   console.warn(`greeter: ${served.size} instances of ${datacenter}: ${reason}`);
 * ```
 */
export interface DatacenterChoice {
  /** The datacenter whose set is served from now on. */
  readonly datacenter: string;
  readonly mode: DatacenterMode;
  /**
   * Why, in words that stay true while the choice lasts: `"dc1 has nobody healthy: serving
   * dc2"`, `"dc1 and dc2 have fewer than 2 healthy: serving dc3"`.
   */
  readonly reason: string;
  /** Every datacenter in order of preference, with its healthy instances. */
  readonly healthy: readonly DatacenterCount[];
  /** The set served from now on. */
  readonly served: InstanceSet;
}

/**
 * Options of {@link chooseDatacenter}.
 *
 * @example
 * ```ts
 * const options: ChooseDatacenterOptions = { datacenters: ['dc1', 'dc2', 'dc3'], minHealthy: 2 };
 * ```
 */
export interface ChooseDatacenterOptions {
  /**
   * The datacenters in order of preference, each named once: the first is home, served
   * while it has `minHealthy` healthy instances; then the first after it that has.
   */
  readonly datacenters: readonly string[];
  /** How many healthy instances make a datacenter worth serving. Default 1. */
  readonly minHealthy?: number;
  /**
   * Called each time the datacenter or mode served changes, before the set is emitted. What it
   * throws errors the output, as in `tap()`.
   */
  readonly onChoice?: (choice: DatacenterChoice) => void;
}

/** Defaults of {@link ChooseDatacenterOptions}, in one place. */
export const CHOICE_DEFAULTS = Object.freeze({ minHealthy: 1 } as const);

/** The options, validated, with defaults filled in. */
export interface DatacenterConfig {
  readonly datacenters: readonly string[];
  readonly minHealthy: number;
  readonly onChoice: ((choice: DatacenterChoice) => void) | undefined;
}

/**
 * Reads a list of datacenter names at `key` of `o`: a non-empty array of distinct non-empty
 * strings, with a `TypeError` naming the option (and the name given twice).
 */
export function readDatacenterList(
  o: OptionReader,
  key: string,
  isName: (name: string) => boolean = (name) => name.trim() !== '',
  what = 'non-empty strings',
): readonly string[] {
  const value = o.raw(key);
  const list: unknown[] = Array.isArray(value) ? value : [];
  if (list.length === 0 || !list.every((name) => typeof name === 'string' && isName(name))) {
    o.fail(key, `a non-empty array of ${what}`);
  }
  const names = list as string[];
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) o.fail(key, `a list naming each datacenter once ("${twice}" is twice)`);
  return Object.freeze([...names]);
}

/** Reads `minHealthy` at `key` of `o`: an integer >= 1. */
export function readMinHealthy(o: OptionReader, key = 'minHealthy'): number {
  return (
    o.number(key, { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true }) ??
    CHOICE_DEFAULTS.minHealthy
  );
}

/** Validates {@link chooseDatacenter}'s options once, with a `TypeError` naming the bad one. */
export function resolveDatacenterConfig(options: unknown): DatacenterConfig {
  const o = readOptions('chooseDatacenter()', options, ['datacenters', 'minHealthy', 'onChoice']);
  return {
    datacenters: readDatacenterList(o, 'datacenters'),
    minHealthy: readMinHealthy(o),
    onChoice: o.function<(choice: DatacenterChoice) => void>('onChoice'),
  };
}
