import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import type { InlineConfig } from 'vitest/node';
import { QuickestFirst, slowFirst } from './test/support/sequencers.js';

/**
 * The balanced channel is a grpc-js load-balancing policy, written against grpc-js's
 * experimental API: its tests run again against the lowest grpc-js of the declared range
 * (^1.14.0, installed as the `grpc-js-1.14.0` alias), with rxlb's own imports of
 * `@grpc/grpc-js` pointed at it. (Tests that spawn a process run the installed grpc-js.)
 */
const CHANNEL_TESTS = [
  'test/grpc/grpc-js-version.test.ts',
  'test/grpc/balanced-channel.test.ts',
  'test/grpc/retry-on-another-instance.test.ts',
  'test/grpc/conformance/first-calls.test.ts',
  'test/grpc/conformance/restarts.test.ts',
  'test/telemetry/channel-metrics.test.ts',
  'test/grpc/weighted-round-robin.test.ts',
  // inFlight and the latency the channel measures come from how it tracks calls in grpc-js
  'test/grpc/load-aware-policies.test.ts',
  // the health checks' streams go out on each backend's connection (grpc-js's subchannel channel)
  'test/grpc/health-check.test.ts',
  // rxlb's policies registered with grpc-js by name, for plain grpc-js channels
  'test/service-config/policies.test.ts',
];

/** What is slow by nature: child processes, installs, seconds of load. */
const SLOW = [
  'test/soak/**', // the soak: seconds of churn under load
  'test/bench/**', // the benchmark harness
  'test/package/**', // npm pack and installs
  'test/e2e/**', // greeter servers as processes
  'test/grpc/conformance/**', // restarts and backoffs, side by side with grpc-js
  'test/grpc/load-aware-policies.test.ts', // seconds of calls to backends 200 ms slow
  'test/grpc/health-check-timing.test.ts', // Consul and traffic, and a backoff of a second
  'test/grpc/affinity-policies.test.ts', // thousands of keyed calls through real channels
  'test/cli/watch.test.ts', // the rxlb command as a process, per test
  'test/testing/lan.test.ts', // test servers in other processes, and a second of probes
  'test/service-config/**', // hundreds of calls through plain grpc-js channels, per policy
  'test/telemetry/without-otel.test.ts', // a process that cannot load OpenTelemetry
  'test/resolver/grpc-js-1.14.0.test.ts', // the installed grpc-js is enough here
  'test/docs/**', // the README's blocks, compiled: a whole TypeScript program
];

/**
 * Seconds of channel states, idle timeouts and commit delays each: left out of test:fast, to
 * keep it under 15 s, but not out of mutation runs, where they kill what nothing else does.
 */
const SECONDS = [
  'test/grpc/balancer-states.test.ts',
  'test/grpc/retry-exhausted.test.ts',
  'test/grpc/picker-source.test.ts',
  'test/testing/commit-delay.test.ts',
  // and a Node process per script run (no shell, for any OS): a second and a half of CPU
  'test/testing/script-checks.test.ts',
  // backends killed and shut down under steady traffic: two and a half seconds, one of CPU
  'test/grpc/backend-faults.test.ts',
];

/**
 * `npm run test:fast` (`vitest run --mode fast`), the inner loop: the main project (the
 * installed grpc-js only) without what is slow by nature. `npm test` runs everything.
 */
const FAST = {
  projects: [
    {
      extends: true,
      test: {
        name: 'rxlb (fast)',
        include: ['test/**/*.test.ts'],
        // one module load per worker, not per file: a third of the time (npm test isolates)
        isolate: false,
        // worker threads, not processes: 3 % less wall and 6 % less CPU here (6 runs each,
        // paired), nothing the fast selection runs needing a process of its own
        pool: 'threads',
        // the tests mostly wait (on sockets, timers, backoffs): more of them at once than
        // cores. Here, not at the root: `extends: true` loads this file again in mode `test`,
        // whose root setting (npm test's 2) the project then took.
        maxWorkers: 4,
        exclude: [...configDefaults.exclude, ...SLOW, ...SECONDS],
        // an eighth of the cases per property (test/support/runs.ts); npm test runs them all
        env: { RXLB_TEST_FAST: '1' },
        setupFiles: ['test/support/fast-mode.ts'],
      },
    },
  ],
  // transformed modules kept on disk (node_modules/.experimental-vitest-cache/) between runs,
  // as vitest's watch mode keeps them in memory: a rerun skips most of the TypeScript
  // transforms. Keyed by each file's content and the config.
  experimental: { fsModuleCache: true },
  // nor the tests that a child process exits by itself, all named so (test/leaks/ keeps three
  // such checks here, named otherwise: the channel, the watch and ConsulTestServer), nor
  // those of "a fresh process" (a child's start, for what only a fresh process can show), nor
  // those of a backend dying "under (steady) traffic": a second of calls each
  testNamePattern: /^(?!.*(\bexits? by itself|\(a fresh process\)|\bunder (steady )?traffic\b))/,
} satisfies {
  projects: TestProjectInlineConfiguration[];
  experimental: { fsModuleCache: boolean };
  testNamePattern: RegExp;
};

/** RXLB_MUTATE_TESTS, read by {@link MUTATE}. */
const MUTATE_TESTS = process.env.RXLB_MUTATE_TESTS?.split(',');

/**
 * Mutation runs (`npm run mutate`, through vitest.mutate.config.ts): the fast selection as
 * one flat project, for Stryker's vitest runner sets the pool, the workers and the name
 * pattern itself. Only what runs in the test's own process can kill a mutant (a child
 * process loads the sources without Stryker's switch), so the files that only watch child
 * processes stay out too; the few such tests in other files cost a second each.
 */
const MUTATE = {
  // RXLB_MUTATE_TESTS (globs, comma-separated) narrows a run to those test files: for
  // src/testing/, whose code nearly every test reaches, its own tests (test/testing/) only
  include: MUTATE_TESTS ?? ['test/**/*.test.ts'],
  exclude: [
    ...configDefaults.exclude,
    // the service-config policies' calls are slow, but nothing else reaches src/service-config/;
    // a slow file named as it is in RXLB_MUTATE_TESTS runs too (lan.test.ts, for LAN gossip)
    ...SLOW.filter(
      (pattern) => pattern !== 'test/service-config/**' && !MUTATE_TESTS?.includes(pattern),
    ),
    'test/leaks/**',
    'test/grpc/close.test.ts',
  ],
  reporters: ['dot'],
  // one module load per run, as test:fast does: on src/duration.ts, 3 min 31 s instead of
  // 6 min 42 s, with the same outcome for each of its 46 mutants (static ones included).
  // RXLB_MUTATE_ISOLATE=1 loads the sources anew for each test file, as npm test does: the
  // only way a mutant of a module-level constant (a static mutant) is ever seen mutated
  isolate: process.env.RXLB_MUTATE_ISOLATE === '1',
  // the files that failed last, then the quickest: a mutant is killed before the slow ones run
  sequence: { sequencer: QuickestFirst },
} satisfies InlineConfig;

const ALL = {
  projects: [
    { extends: true, test: { name: 'rxlb', include: ['test/**/*.test.ts'] } },
    {
      extends: true,
      test: {
        name: 'grpc-js 1.14.0',
        include: CHANNEL_TESTS,
        // rxlb's imports, and nice-grpc's require(), as a project with that one copy has it
        alias: { '@grpc/grpc-js': 'grpc-js-1.14.0' },
        setupFiles: ['test/support/use-grpc-js-1.14.0.ts'],
        env: { RXLB_GRPC_JS: '1.14.0' },
      },
    },
  ],
  // Three files at once on two cores: most tests wait on sockets, timers and child processes,
  // and none asserts on time tighter than a second (here: 176 s against 195 s with two).
  maxWorkers: 3,
  // the slow files first: with no durations on record (a clean clone), vitest starts the
  // largest files first, and the twenty seconds of the docs' program came last
  sequence: { sequencer: slowFirst([...SLOW, ...SECONDS]) },
} satisfies InlineConfig;

/** rxlb's own name, as examples and the docs' blocks import it: its sources. */
const SELF = {
  rxlb: fileURLToPath(new URL('./src/index.ts', import.meta.url)),
  'rxlb/testing': fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)),
};

export default defineConfig(({ mode }) => ({
  resolve: {
    alias: [
      { find: /^rxlb$/, replacement: SELF.rxlb },
      { find: /^rxlb\/testing$/, replacement: SELF['rxlb/testing'] },
    ],
  },
  test: {
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest.json' },
    ...(mode === 'fast' ? FAST : mode === 'mutate' ? MUTATE : ALL),
  },
}));
