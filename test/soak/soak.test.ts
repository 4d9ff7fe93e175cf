import { describe, expect, it } from 'vitest';
import { runSoak } from './soak.js';

// The short form of `npm run soak`: a few seconds of the same churn and load.
describe('load and churn soak (short form of npm run soak)', () => {
  it('fails no call, leaks no heap, ends with backends = picker, and leaves nothing open after close()', async () => {
    const result = await runSoak({ durationMs: 5_000, warmupMs: 2_500 });
    const context = `seed ${result.seed}: ${JSON.stringify(result)}`;
    expect(result.failures, context).toBe(0);
    expect(result.calls, context).toBeGreaterThan(500);
    expect(result.churnOps, context).toBeGreaterThanOrEqual(240);
    expect(result.heapGrowth, context).toBeLessThanOrEqual(0.1);
    expect(result.backendsMatchPicker, context).toBe(true);
    expect([result.pickerSize, result.backendCount], context).toEqual([20, 20]);
    expect(result.resourcesAfterClose, context).toEqual([]);
    expect(result.exitedBySelf, context).toBe(true);
  }, 60_000);
});
