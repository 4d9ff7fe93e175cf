/**
 * How many cases a property test runs: `n` in `npm test`, CI and mutation runs; an eighth of
 * it (at least 10) in `npm run test:fast`, the inner loop, whose setup
 * (test/support/fast-mode.ts) lowers fast-check's default of 100 runs the same way. A
 * property that fails on a rare case is then caught by the next `npm test`, not by every
 * save.
 */
export function runs(n: number): number {
  return process.env.RXLB_TEST_FAST === '1' ? Math.max(10, Math.round(n / 8)) : n;
}
