/**
 * Keeps `npm run bench` from rotting: runs every step of the harness in its tiniest
 * configuration and renders the report. Figures from so short a run mean nothing, so nothing
 * here asserts on time.
 */
import { describe, expect, it } from 'vitest';
import { TINY } from '../../bench/config.js';
import { HEALTH_CHANNELS } from '../../bench/health.js';
import { countHeapObjects } from '../../bench/memory.js';
import { POLICIES } from '../../bench/policies.js';
import { renderResults } from '../../bench/report.js';
import { loadRxlb } from '../../bench/rxlb.js';
import { runSuite } from '../../bench/suite.js';
import { evaluateTargets } from '../../bench/targets.js';

describe('the benchmark harness', () => {
  // First, while the heap is small: a heap snapshot of a big one takes seconds.
  it('counts the JavaScript objects alive on the heap', async () => {
    const kept = Array.from({ length: 10_000 }, (_, i) => ({ i }));
    const { count, bytes } = await countHeapObjects();
    expect(count).toBeGreaterThan(kept.length);
    expect(bytes).toBeGreaterThan(kept.length * 16);
  });

  it('runs every benchmark in a tiny configuration and renders RESULTS.md', async () => {
    const results = await runSuite(TINY, await loadRxlb('src'));

    expect(results.micro.length).toBeGreaterThan(20);
    expect(results.macro.map((row) => [row.kind, row.concurrency])).toEqual([
      ['rxlb', 1],
      ['grpc-js', 1],
      ['single', 1],
      ['rxlb', 4],
      ['grpc-js', 4],
      ['single', 4],
    ]);
    expect(results.macro.every((row) => row.callsPerSecond > 0)).toBe(true);
    expect(results.convergence.samples).toHaveLength(4 * TINY.convergence.cycles);
    expect(results.consulLoad.map((load) => load.watches)).toEqual([1, TINY.consulLoad.watches]);
    expect(results.memory.snapshots).toHaveLength(4);
    expect(results.failover.samples).toHaveLength(2 * TINY.failover.cycles);
    expect(results.failover.idle.map((idle) => idle.subscribers)).toEqual([
      1,
      TINY.failover.sharedSubscribers,
    ]);
    expect(results.policies.load.map((row) => [row.policy, row.backends])).toEqual([
      ...POLICIES.map((policy) => [policy.name, 'equal']),
      ...POLICIES.map((policy) => [policy.name, 'one slow']),
    ]);
    expect(results.policies.load.every((row) => row.callsPerSecond > 0)).toBe(true);
    expect(results.policies.turnSlow.map((row) => row.shedMs.length)).toEqual(
      POLICIES.map(() => TINY.policies.turnSlow.runs),
    );
    const { failing, storm } = results.policies.grayFailures;
    expect(failing.map((row) => row.policy)).toEqual([
      ...POLICIES.map((policy) => policy.name),
      expect.stringContaining('outlier_detection'),
    ]);
    expect(failing.every((row) => row.calls > 0)).toBe(true);
    // without a budget every call of the storm takes its 3 attempts
    expect(storm.map((row) => row.attemptsPerCall)).toEqual([expect.any(Number), 3]);

    expect(results.health.map((row) => row.channel)).toEqual(Object.values(HEALTH_CHANNELS));
    expect(results.health.every((row) => row.stoppedMs.length === TINY.health.runs)).toBe(true);

    const targets = evaluateTargets(results);
    const markdown = renderResults(results, targets);
    for (const target of targets) expect(markdown).toContain(target.target);
    expect(markdown).toContain('## Unary calls over 3 backends on loopback');
    expect(markdown).toContain('## Memory and handles');
    expect(results.weightedShares.calls).toBe(TINY.weightedShares.calls);
    expect(results.subsetting.rows.map((row) => row.scheme)).toContain('rxlb subset()');
    expect(markdown).toContain('## Weighted round robin through the channel');
    expect(markdown).toContain('## Subsetting');
    expect(markdown).toContain('## Failover between datacenters');
    expect(markdown).toContain('## Policies over five backends, one of them slow');
    expect(markdown).toContain('## A backend that turns slow mid-run');
    expect(markdown).toContain('## A backend whose health service says NOT_SERVING');
  }, 30_000);
});
