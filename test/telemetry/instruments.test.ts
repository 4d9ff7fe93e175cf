/**
 * rxlb's instruments as an exporter and a dashboard see them: each one's kind, unit and
 * description, the same as docs/metrics.md's table says; and the meterProvider option.
 */
import { readFileSync } from 'node:fs';
import { DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import { createBalancedChannel } from '../../src/grpc/balanced-channel.js';
import { instruments, METRICS } from '../../src/telemetry/instruments.js';
import { testMeters } from '../support/metrics.js';

/** The instrument a metric comes from, as docs/metrics.md names it. */
function kindOf(metric: MetricData | undefined): string | undefined {
  if (metric?.dataPointType === DataPointType.HISTOGRAM) return 'histogram';
  if (metric?.dataPointType !== DataPointType.SUM) return undefined;
  return metric.isMonotonic ? 'counter' : 'up-down counter';
}

/** docs/metrics.md's table: name → [instrument, unit]. */
function documented(): Map<string, [string, string]> {
  const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  const rows = new Map<string, [string, string]>();
  for (const line of doc.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const name = /^`([a-z_.]+)`$/.exec(cells[1] ?? '')?.[1];
    const kind = /^(.+), `(.+)`$/.exec(cells[2] ?? '');
    if (name === undefined || !kind) continue;
    rows.set(name, [kind[1] ?? '', kind[2] ?? '']);
  }
  return rows;
}

describe("rxlb's instruments", () => {
  it('have the kind and unit docs/metrics.md gives each of them, and a description', async () => {
    const meters = testMeters();
    const recorded = instruments(meters.meterProvider);
    // one value each, so that the reader reports every instrument
    for (const [key, instrument] of Object.entries(recorded)) {
      if (key === 'enabled') continue;
      if ('record' in instrument) instrument.record(1);
      else instrument.add(1);
    }
    const docs = documented();
    expect([...docs.keys()].sort()).toEqual(Object.values(METRICS).sort());
    const described = await Promise.all(
      Object.values(METRICS).map(async (name) => {
        const metric = await meters.metric(name);
        const { unit, description } = metric?.descriptor ?? {};
        return [name, kindOf(metric), unit, description];
      }),
    );
    expect(described.map((row) => row.slice(0, 3))).toEqual(
      Object.values(METRICS).map((name) => [name, ...(docs.get(name) ?? [])]),
    );
    // the descriptions an exporter sends, whole (test/telemetry/__snapshots__/)
    expect(Object.fromEntries(described.map(([name, , , text]) => [name, text]))).toMatchSnapshot();
    await meters.shutdown();
  });

  it('are created once per meter provider', () => {
    const meters = testMeters();
    expect(instruments(meters.meterProvider)).toBe(instruments(meters.meterProvider));
    expect(instruments(testMeters().meterProvider)).not.toBe(instruments(meters.meterProvider));
  });

  it.each([null, 'otel', {}, { getMeter: 'yes' }])(
    'refuses a meterProvider that is not one (%j), naming the option',
    (meterProvider) => {
      const message =
        'option "meterProvider" must be an OpenTelemetry MeterProvider (with getMeter())';
      expect(() =>
        createBalancedChannel(of(), { name: 'x', meterProvider: meterProvider as never }),
      ).toThrow(`createBalancedChannel(): ${message}`);
      expect(() => consulInstances$('greeter', { meterProvider: meterProvider as never })).toThrow(
        `consulInstances$(): ${message}`,
      );
    },
  );
});
