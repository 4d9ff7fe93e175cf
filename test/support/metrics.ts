import type { Attributes } from '@opentelemetry/api';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';

/** A reader that collects when asked, as a test wants it. */
class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** A meter provider of its own, and what its instruments hold now. */
export function testMeters() {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  /** Every data point of `name` now, with its attributes and value (a sum, or a histogram). */
  async function points(name: string): Promise<DataPoint<number | Histogram>[]> {
    const { resourceMetrics } = await reader.collect();
    return resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .filter((metric) => metric.descriptor.name === name)
      .flatMap((metric) => metric.dataPoints as DataPoint<number | Histogram>[]);
  }
  /** The sum of `name`'s points whose attributes include `where` (a histogram: its count). */
  async function total(name: string, where: Attributes = {}): Promise<number> {
    let sum = 0;
    for (const point of await points(name)) {
      const matches = Object.entries(where).every(([k, v]) => point.attributes[k] === v);
      if (!matches) continue;
      sum += typeof point.value === 'number' ? point.value : point.value.count;
    }
    return sum;
  }
  return { meterProvider, points, total, shutdown: () => meterProvider.shutdown() };
}
