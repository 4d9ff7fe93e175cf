/**
 * The order vitest runs test files in (vitest.config.ts). Its own order puts the files that
 * failed last first, then the slowest by the last run's durations, and, with no record of a
 * run (a clean clone, as CI is), the largest files first.
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Mutation runs: the files that failed in the run before first, then the quickest. Stryker
 * stops a mutant's run at its first failing test, so a mutant some test kills is found out
 * before the slow files run; vitest's order made every such mutant wait for them. A file
 * that failed last killed the mutant before, often a neighbour of this one. Durations are
 * vitest's, from the run before (the first, Stryker's dry run, runs every file whole).
 */
export class QuickestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const { cache, config } = this.ctx;
    return files
      .map((spec) => {
        const key = `${spec.project.name}:${relative(config.root, spec.moduleId)}`;
        const last = cache.getFileTestResults(key);
        return { spec, failed: last?.failed ?? false, duration: last?.duration ?? 0 };
      })
      .sort((a, b) => Number(b.failed) - Number(a.failed) || a.duration - b.duration)
      .map(({ spec }) => spec);
  }
}

/**
 * `npm test`: the files slow by nature (`patterns`: `dir/**` or a file, from the root) first,
 * each group in vitest's order. On a clean clone vitest knows no durations, and a file of
 * twenty seconds started last made the run's tail.
 */
export function slowFirst(patterns: readonly string[]): typeof BaseSequencer {
  const slow = (file: string) =>
    patterns.some((pattern) =>
      pattern.endsWith('/**') ? file.startsWith(pattern.slice(0, -2)) : file === pattern,
    );
  return class SlowFirst extends BaseSequencer {
    override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
      const sorted = await super.sort(files);
      const isSlow = (spec: TestSpecification) =>
        slow(relative(this.ctx.config.root, spec.moduleId).replaceAll('\\', '/'));
      return [...sorted.filter(isSlow), ...sorted.filter((spec) => !isSlow(spec))];
    }
  };
}
