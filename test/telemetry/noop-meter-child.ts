/**
 * Run by noop-meter.test.ts in a fresh process (bundled, its packages left as imports): asks
 * rxlb's instruments once, with no meter provider registered, and says whether they are
 * enabled and how many OpenTelemetry modules were loaded for it.
 */
import { createRequire } from 'node:module';
import { instruments } from '../../src/telemetry/instruments.js';

const enabled = instruments().enabled;
const loaded = Object.keys(createRequire(import.meta.url).cache).filter((path) =>
  path.includes('@opentelemetry'),
).length;
process.stdout.write(JSON.stringify({ enabled, loaded }));
