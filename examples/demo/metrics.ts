/**
 * The demo's metrics summary: rxlb's OpenTelemetry instruments, read from an in-memory reader
 * of the SDK when the run ends, as an application's exporter would read them (docs/metrics.md). Nothing here counts on its own: every number is what the library recorded.
 */
import type { Attributes } from '@opentelemetry/api';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import { METRICS } from '../../src/index.js';

/** A reader that collects when asked: the demo reads once, at the end (the tests, at will). */
export class OnDemandReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

type Point = DataPoint<number | Histogram>;

export interface DemoMetrics {
  /** Pass to `consulInstances$`, `createBalancedChannel` and `retryOnAnotherInstance`. */
  readonly meterProvider: MeterProvider;
  /** What the instruments hold now: read before closing the channel. */
  read(): Promise<MetricsSnapshot>;
  shutdown(): Promise<void>;
}

/** A meter provider of the demo's own, and the summary of what it recorded. */
export function demoMetrics(): DemoMetrics {
  const reader = new OnDemandReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    meterProvider,
    read: async () => snapshotOf(await collect(reader)),
    shutdown: () => meterProvider.shutdown(),
  };
}

/** Every data point the reader's instruments hold now, by instrument name. */
export async function collect(reader: MetricReader): Promise<Map<string, Point[]>> {
  const { resourceMetrics } = await reader.collect();
  const byName = new Map<string, Point[]>();
  for (const metric of resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics)) {
    const points = byName.get(metric.descriptor.name) ?? [];
    points.push(...(metric.dataPoints as Point[]));
    byName.set(metric.descriptor.name, points);
  }
  return byName;
}

export interface MetricsSnapshot {
  /** The sum of `name`'s points whose attributes include `where` (a histogram: its count). */
  total(name: string, where?: Attributes): number;
  /** The summary, a line per instrument. */
  readonly lines: readonly string[];
}

/** The sum of `name`'s points whose attributes include `where` (a histogram: its count). */
export function totalOf(
  points: Map<string, Point[]>,
  name: string,
  where: Attributes = {},
): number {
  return (points.get(name) ?? [])
    .filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + (typeof p.value === 'number' ? p.value : p.value.count), 0);
}

function snapshotOf(points: Map<string, Point[]>): MetricsSnapshot {
  const total = (name: string, where?: Attributes) => totalOf(points, name, where);
  /** `name`'s totals by the values of `attribute`, largest first, as `value n, value n`. */
  const by = (name: string, attribute: string): string => {
    const counts = new Map<string, number>();
    for (const p of points.get(name) ?? []) {
      const key = String(p.attributes[attribute] ?? '-');
      const value = typeof p.value === 'number' ? p.value : p.value.count;
      counts.set(key, (counts.get(key) ?? 0) + value);
    }
    const entries = [...counts].filter(([, n]) => n !== 0).sort((a, b) => b[1] - a[1]);
    return entries.length === 0 ? 'none' : entries.map(([k, n]) => `${k} ${n}`).join(', ');
  };
  const durations = (points.get(METRICS.attemptDuration) ?? []).map((p) => p.value as Histogram);
  const count = durations.reduce((n, h) => n + h.count, 0);
  const seconds = durations.reduce((s, h) => s + (h.sum ?? 0), 0);
  const mean = count === 0 ? '-' : `${((seconds / count) * 1_000).toFixed(2)} ms`;
  const row = (label: string, value: string | number) => `  ${label.padEnd(36)} ${value}`;
  const lines = [
    row(METRICS.attemptStarted, total(METRICS.attemptStarted)),
    row(
      METRICS.attemptDuration,
      `${count} ended (${by(METRICS.attemptDuration, 'grpc.status')}), mean ${mean}`,
    ),
    row(METRICS.retries, total(METRICS.retries)),
    row(METRICS.noBackend, by(METRICS.noBackend, 'rxlb.reason')),
    row(
      'grpc.subchannel.connection_attempts',
      `${total(METRICS.connectionsSucceeded)} succeeded, ${total(METRICS.connectionsFailed)} failed`,
    ),
    row(METRICS.disconnections, by(METRICS.disconnections, 'grpc.disconnect_error')),
    row(METRICS.openConnections, `${total(METRICS.openConnections)} now`),
    row(METRICS.backends, `${by(METRICS.backends, 'rxlb.backend.state')} now`),
    row(METRICS.ejections, total(METRICS.ejections)),
    row(METRICS.discoveryUpdates, total(METRICS.discoveryUpdates)),
    row(METRICS.discoveryFailures, by(METRICS.discoveryFailures, 'rxlb.error')),
    row(METRICS.nobodyMode, `${by(METRICS.nobodyMode, 'rxlb.mode')} now`),
  ];
  return { total, lines };
}
