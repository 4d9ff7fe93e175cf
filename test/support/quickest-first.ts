/**
 * The order of test files in mutation runs (vitest.config.ts's `MUTATE`): the files that
 * failed in the run before first, then the quickest. Stryker stops a mutant's run at its
 * first failing test, so a mutant some test kills is found out before the slow files run;
 * vitest's own order (the slowest first, for a full run's wall time) made every such mutant
 * wait for them. A file failed last when it killed the mutant before, often a neighbour of
 * this one. Durations are vitest's own, from the run before (the first, Stryker's dry run,
 * runs every file whole).
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export default class QuickestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const { cache, config } = this.ctx;
    const last = (spec: TestSpecification) =>
      cache.getFileTestResults(`${spec.project.name}:${relative(config.root, spec.moduleId)}`);
    return files
      .map((spec) => {
        const result = last(spec);
        return { spec, failed: result?.failed ?? false, duration: result?.duration ?? 0 };
      })
      .sort((a, b) => Number(b.failed) - Number(a.failed) || a.duration - b.duration)
      .map(({ spec }) => spec);
  }
}
