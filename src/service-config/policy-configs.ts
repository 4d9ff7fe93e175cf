/**
 * The service-config policies rxlb registers with grpc-js, each as gRPC's specs name it and
 * its config reads: which rxlb operator serves it, and how its JSON is checked. A bad config
 * is a `TypeError` naming the policy and the field; grpc-js then skips that config for the
 * next of `loadBalancingConfig` (else pick_first), and rxlb logs the error (see
 * `configClassOf()`).
 *
 * As gRPC's service-config parsers do, a field this file does not know is ignored: a config
 * written for a later version still loads.
 */
import type { OperatorFunction } from 'rxjs';
import type { Update } from '../instance.js';
import { MAX_RING_SIZE } from '../operators/internal/hash-ring.js';
import { leastRequest } from '../operators/least-request.js';
import { peakEwma } from '../operators/peak-ewma.js';
import { ringHash } from '../operators/ring-hash.js';
import { weightedRoundRobin } from '../operators/weighted-round-robin.js';
import type { Picker } from '../picker.js';
import { describe, isRecord, OptionReader, type OptionSource } from '../read-options.js';

/** One policy: its name in service config, its config's reader and the operator it runs. */
export interface PolicySpec {
  /** Its `loadBalancingConfig` key, e.g. `least_request_experimental`. */
  readonly name: string;
  /** Reads a config object (already JSON) into the config as it is kept and printed. */
  readonly parse: (json: unknown) => Readonly<Record<string, unknown>>;
  /** The operator that makes its pickers, from a config `parse` returned. */
  readonly operator: (
    config: Readonly<Record<string, unknown>>,
  ) => OperatorFunction<readonly Update[], Picker>;
}

/** Fields of a service config's policy, as messages name them. */
const FIELDS: OptionSource = {
  noun: 'field',
  spell: (key) => `"${key}"`,
  named: true,
  text: false,
  error: TypeError,
};

/** A reader of a policy's config: unknown fields pass, as gRPC's parsers let them. */
function reader(policy: string, json: unknown): OptionReader {
  const caller = `service config loadBalancingConfig ${policy}`;
  if (json !== undefined && json !== null && !isRecord(json)) {
    throw new TypeError(`${caller}: must be an object, got ${describe(json)}`);
  }
  return OptionReader.of(caller, (json ?? {}) as Record<string, unknown>, FIELDS);
}

/** A48's bound: a larger `choiceCount` is taken as 10. */
const MAX_CHOICE_COUNT = 10;

const LEAST_REQUEST: PolicySpec = {
  name: 'least_request_experimental',
  // gRFC A48: choiceCount defaults to 2; below 2 is invalid; above 10 is taken as 10
  parse(json) {
    const o = reader(this.name, json);
    const count = o.number('choiceCount', { min: 2, max: Number.MAX_SAFE_INTEGER, integer: true });
    return { choiceCount: Math.min(count ?? 2, MAX_CHOICE_COUNT) };
  },
  operator: (config) => leastRequest({ choices: config.choiceCount as number }),
};

const RING_HASH: PolicySpec = {
  name: 'ring_hash_experimental',
  // gRFC A42's ring sizes (1..8M, min ≤ max); A76's requestHashHeader
  parse(json) {
    const o: OptionReader = reader(this.name, json);
    const size = { min: 1, max: MAX_RING_SIZE, integer: true };
    const minRingSize = o.number('minRingSize', size) ?? 1024;
    const maxRingSize = o.number('maxRingSize', size) ?? 4096;
    if (minRingSize > maxRingSize) o.fail('minRingSize', `at most maxRingSize (${maxRingSize})`);
    const header = o.string('requestHashHeader');
    if (header === undefined) {
      // A76 hashes by xDS's config selector without it; rxlb has no xDS to ask
      o.missing('requestHashHeader', 'the request header whose value is the hash key');
    }
    const key = header.toLowerCase(); // header names are case-insensitive
    if (key.endsWith('-bin') || key.startsWith(':')) {
      o.fail('requestHashHeader', 'a text header: not a -bin or a pseudo-header');
    }
    return { minRingSize, maxRingSize, requestHashHeader: key };
  },
  operator: (config) =>
    ringHash({
      key: config.requestHashHeader as string,
      minRingSize: config.minRingSize as number,
      maxRingSize: config.maxRingSize as number,
    }),
};

const PEAK_EWMA: PolicySpec = {
  name: 'rxlb_peak_ewma',
  parse(json) {
    reader(this.name, json);
    return {};
  },
  operator: () => peakEwma(),
};

const WEIGHTED_ROUND_ROBIN: PolicySpec = {
  name: 'rxlb_weighted_round_robin',
  parse(json) {
    reader(this.name, json);
    return {};
  },
  operator: () => weightedRoundRobin(),
};

/** Every policy {@link registerLoadBalancingPolicies} registers, in that order. */
export const POLICIES: readonly PolicySpec[] = [
  LEAST_REQUEST,
  RING_HASH,
  PEAK_EWMA,
  WEIGHTED_ROUND_ROBIN,
];
