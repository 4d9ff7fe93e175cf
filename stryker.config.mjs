/**
 * StrykerJS for rxlb: `npm run mutate` (scripts/mutate.ts) runs it one folder of src/ at a
 * time, each with its own incremental file, so that a rerun tests only the mutants whose code
 * or covering tests changed. Not part of `npm test` or CI: see test/MUTATION.md.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  // vitest.config.ts in mode `mutate`: the fast selection, without the child-process files
  vitest: { configFile: 'vitest.mutate.config.ts' },
  // vitest strips types without checking them, and a test compares its own source with the
  // README: no `// @ts-nocheck` atop the sandbox's files
  disableTypeChecks: false,
  mutate: ['src/**/*.ts', '!src/index.ts', '!src/testing/index.ts'],
  // each mutant runs only the tests that reached its code
  coverageAnalysis: 'perTest',
  // the machine is shared: one test runner at a time
  concurrency: 1,
  // a mutant can make a schedule or ring huge: give it room to fail by a test, not by the heap
  testRunnerNodeArgs: ['--max-old-space-size=3072'],
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['progress', 'clear-text', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowEmojis: false, logTests: false, reportScoreTable: true },
  // many tests wait on real sockets and timers: a mutant that slows one is not a hang
  timeoutMS: 10_000,
  dryRunTimeoutMinutes: 15,
  ignorePatterns: ['dist', 'reports', '.stryker-tmp'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 85, low: 70, break: null },
};
