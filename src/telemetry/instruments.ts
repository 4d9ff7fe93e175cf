import type { Attributes, Counter, Histogram, Meter, UpDownCounter } from '@opentelemetry/api';
import { type MeterProviderLike, meterOf } from './meter.js';

/**
 * The names of rxlb's OpenTelemetry metrics: gRPC's own per-attempt metrics (gRFC A66) and
 * subchannel metrics (gRFC A94), as a gRPC channel records them, and rxlb's own. docs/metrics.md's
 * table gives every unit and attribute. Instruments are created once per meter.
 *
 * @example
 * ```ts
 * import { METRICS } from 'rxlb';
 *
 * // e.g. to keep rxlb's metrics in a view of the OpenTelemetry SDK
 * const names = Object.values(METRICS); // ['grpc.client.attempt.started', ...]
 * ```
 */
export const METRICS = Object.freeze({
  attemptStarted: 'grpc.client.attempt.started',
  attemptDuration: 'grpc.client.attempt.duration',
  disconnections: 'grpc.subchannel.disconnections',
  connectionsSucceeded: 'grpc.subchannel.connection_attempts_succeeded',
  connectionsFailed: 'grpc.subchannel.connection_attempts_failed',
  openConnections: 'grpc.subchannel.open_connections',
  backends: 'rxlb.client.backends',
  ejections: 'rxlb.client.ejections',
  noBackend: 'rxlb.client.calls_without_backend',
  retries: 'rxlb.client.retries',
  retriesThrottled: 'rxlb.client.retries_throttled',
  discoveryUpdates: 'rxlb.discovery.updates',
  discoveryFailures: 'rxlb.discovery.failures',
  nobodyMode: 'rxlb.discovery.nobody_mode',
});

/** gRFC A66's buckets for `grpc.client.attempt.duration`, in seconds. */
const DURATION_BUCKETS = [
  0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006,
  0.008, 0.01, 0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25,
  0.3, 0.4, 0.5, 0.65, 0.8, 1, 2, 5, 10, 20, 50, 100,
];

/** The instruments of one meter. */
export interface Instruments {
  /** False when nothing records (no `@opentelemetry/api`): callers skip building attributes. */
  readonly enabled: boolean;
  readonly attemptStarted: Counter;
  readonly attemptDuration: Histogram;
  readonly disconnections: Counter;
  readonly connectionsSucceeded: Counter;
  readonly connectionsFailed: Counter;
  readonly openConnections: UpDownCounter;
  readonly backends: UpDownCounter;
  readonly ejections: Counter;
  readonly noBackend: Counter;
  readonly retries: Counter;
  readonly retriesThrottled: Counter;
  readonly discoveryUpdates: Counter;
  readonly discoveryFailures: Counter;
  readonly nobodyMode: UpDownCounter;
}

function create(meter: Meter): Instruments {
  const counter = (name: string, unit: string, description: string) =>
    meter.createCounter(name, { unit, description });
  const upDown = (name: string, unit: string, description: string) =>
    meter.createUpDownCounter(name, { unit, description });
  return {
    enabled: true,
    attemptStarted: counter(METRICS.attemptStarted, '{attempt}', 'Call attempts started.'),
    attemptDuration: meter.createHistogram(METRICS.attemptDuration, {
      unit: 's',
      description: 'From the start of a call attempt to its end.',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    disconnections: counter(
      METRICS.disconnections,
      '{disconnection}',
      'Connections to a backend that were lost or closed.',
    ),
    connectionsSucceeded: counter(
      METRICS.connectionsSucceeded,
      '{attempt}',
      'Connection attempts to a backend that succeeded.',
    ),
    connectionsFailed: counter(
      METRICS.connectionsFailed,
      '{attempt}',
      'Connection attempts to a backend that failed.',
    ),
    openConnections: upDown(METRICS.openConnections, '{connection}', 'Connections open now.'),
    backends: upDown(METRICS.backends, '{backend}', 'Backends of the current members, by state.'),
    ejections: counter(METRICS.ejections, '{ejection}', 'Backends ejected by outlier detection.'),
    noBackend: counter(
      METRICS.noBackend,
      '{call}',
      'Calls failed because no backend could serve them (none reachable, none healthy, discovery failing).',
    ),
    retries: counter(METRICS.retries, '{retry}', 'Calls retried on another instance.'),
    retriesThrottled: counter(
      METRICS.retriesThrottled,
      '{retry}',
      'Retries on another instance not sent: the retry budget was spent.',
    ),
    discoveryUpdates: counter(
      METRICS.discoveryUpdates,
      '{update}',
      "Consul answers that changed a watch's set.",
    ),
    discoveryFailures: counter(METRICS.discoveryFailures, '{failure}', 'Failed Consul queries.'),
    nobodyMode: upDown(
      METRICS.nobodyMode,
      '{watch}',
      'Watches by what their empty-set policy serves (healthy, kept-last, empty, fallback, panic).',
    ),
  };
}

const byMeter = new WeakMap<Meter, Instruments>();

/** Records nothing: rxlb's instruments when there is no meter (no `@opentelemetry/api`). */
const NOTHING: Counter & Histogram & UpDownCounter = Object.freeze({ add() {}, record() {} });
export const NO_INSTRUMENTS: Instruments = Object.freeze({
  enabled: false,
  attemptStarted: NOTHING,
  attemptDuration: NOTHING,
  disconnections: NOTHING,
  connectionsSucceeded: NOTHING,
  connectionsFailed: NOTHING,
  openConnections: NOTHING,
  backends: NOTHING,
  ejections: NOTHING,
  noBackend: NOTHING,
  retries: NOTHING,
  retriesThrottled: NOTHING,
  discoveryUpdates: NOTHING,
  discoveryFailures: NOTHING,
  nobodyMode: NOTHING,
});

/** rxlb's instruments on `provider`'s meter (default: the global one), created once. */
export function instruments(provider?: MeterProviderLike): Instruments {
  const meter = meterOf(provider);
  if (meter === undefined) return NO_INSTRUMENTS;
  let found = byMeter.get(meter);
  if (found === undefined) {
    found = create(meter);
    byMeter.set(meter, found);
  }
  return found;
}

export type { Attributes };
