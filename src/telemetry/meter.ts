import { createRequire } from 'node:module';
import type * as Otel from '@opentelemetry/api';
import type { OptionReader } from '../read-options.js';

/**
 * Where rxlb's metrics go: an OpenTelemetry `MeterProvider` (from `@opentelemetry/api`, e.g.
 * the SDK's `MeterProvider`), described by what rxlb calls of it so that rxlb's types do not
 * need `@opentelemetry/api` installed.
 *
 * @example
 * ```ts
 * import { MeterProvider } from '@opentelemetry/sdk-metrics';
 *
 * const meterProvider = new MeterProvider({ readers: [reader] });
 * createBalancedChannel(picker$, { name: 'greeter', meterProvider });
 * ```
 */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): unknown;
}

/** rxlb's instrumentation scope. */
export const SCOPE = 'rxlb';

type OtelApi = typeof Otel;
let api: OtelApi | null | undefined;

/**
 * `@opentelemetry/api`, when the application has it (it is an optional peer of rxlb's), else
 * null: rxlb then records nothing, at no cost and with no error.
 */
function otel(): OtelApi | null {
  if (api === undefined) {
    try {
      api = createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
    } catch {
      api = null;
    }
  }
  return api;
}

/**
 * Where every copy of `@opentelemetry/api` 1.x keeps what the application registered
 * globally (its `internal/global-utils`): a `metrics` entry is the global meter provider.
 * The key names the API's major version: a 2.x API (outside rxlb's peer range) would keep it
 * elsewhere, and rxlb would record nothing through its global provider.
 */
const GLOBAL_API = Symbol.for('opentelemetry.js.api.1');

/**
 * Whether a global meter provider has been registered. Until one is, the global meter is the
 * API's no-op one, so rxlb need not load the API to learn it (about 480 KiB of heap, in a
 * process that does not use it).
 */
function globalProviderRegistered(): boolean {
  const registry = (globalThis as { [GLOBAL_API]?: { metrics?: unknown } })[GLOBAL_API];
  return registry?.metrics !== undefined;
}

/**
 * The meter rxlb records with: `provider`'s, else the global meter provider's, else none
 * without `@opentelemetry/api`. None either for the API's no-op meter (the global one until
 * the application registers a provider): rxlb then skips building what it would record, as
 * without the API.
 */
export function meterOf(provider: MeterProviderLike | undefined): Otel.Meter | undefined {
  if (provider === undefined && !globalProviderRegistered()) return undefined;
  const meter =
    provider !== undefined
      ? (provider.getMeter(SCOPE) as Otel.Meter)
      : otel()?.metrics.getMeter(SCOPE);
  return meter === undefined || meter === otel()?.createNoopMeter?.() ? undefined : meter;
}

/** The `meterProvider` option, checked; shared by every option reader that takes one. */
export function readMeterProvider(o: OptionReader): MeterProviderLike | undefined {
  const provider = o.raw('meterProvider');
  if (provider === undefined) return undefined;
  if (
    typeof provider !== 'object' ||
    provider === null ||
    typeof (provider as Partial<MeterProviderLike>).getMeter !== 'function'
  ) {
    o.fail('meterProvider', 'an OpenTelemetry MeterProvider (with getMeter())');
  }
  return provider as unknown as MeterProviderLike;
}
