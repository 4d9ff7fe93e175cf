import type { Attributes } from '@opentelemetry/api';
import { MeterProvider, type MetricData } from '@opentelemetry/sdk-metrics';
import { collect, OnDemandReader, totalOf } from '../../examples/demo/metrics.js';

/** A meter provider of its own, and what its instruments hold now (the demo's reader). */
export function testMeters() {
  const reader = new OnDemandReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  /** The sum of `name`'s points whose attributes include `where` (a histogram: its count). */
  const total = async (name: string, where: Attributes = {}): Promise<number> =>
    totalOf(await collect(reader), name, where);
  /** `name`'s metric as an exporter reads it: descriptor (unit, ...) and data points. */
  const metric = async (name: string): Promise<MetricData | undefined> => {
    const { resourceMetrics } = await reader.collect();
    return resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .find((m) => m.descriptor.name === name);
  };
  return { meterProvider, total, metric, shutdown: () => meterProvider.shutdown() };
}
