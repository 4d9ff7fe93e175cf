/**
 * `npm run soak`: the full soak (about a minute), with a report; exits with 1 when a
 * promise of the issue is broken. Options: `--seconds N` (default 50), `--seed N`.
 */
import { parseArgs } from 'node:util';
import { runSoak } from './soak.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '50' }, seed: { type: 'string' } },
});
const durationMs = Number(values.seconds) * 1000;
const result = await runSoak({
  durationMs,
  warmupMs: Math.min(10_000, durationMs / 2),
  ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
});
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const checks = [
  ['no failed call', result.failures === 0],
  ['heap within 10 % after warm-up', result.heapGrowth <= 0.1],
  ['backends = picker at the end', result.backendsMatchPicker],
  ['exits by itself after close()', result.exitedBySelf],
] as const;
console.log(`soak: ${durationMs / 1000} s of churn, seed ${result.seed}
  calls ${result.calls}, failures ${result.failures} ${result.failureSamples.join(' | ')}
  churn ${result.churnOps} registrations and deregistrations, ${result.backendsSeen} backends answered
  heap ${mb(result.heapAfterWarmup)} after warm-up, ${mb(result.heapAtEnd)} at the end (${(100 * result.heapGrowth).toFixed(1)} %)
  picker ${result.pickerSize}, backends ${result.backendCount}
  after close(): ${result.resourcesAfterClose.join(', ') || 'no active resources'}, exited in ${result.exitMs} ms
${checks.map(([name, ok]) => `  ${ok ? 'ok  ' : 'FAIL'} ${name}`).join('\n')}`);
process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
