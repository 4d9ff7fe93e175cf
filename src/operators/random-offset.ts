/**
 * Where a new picker starts, `Math.floor(random() * period)`, so that many clients do not all
 * hit the same first instance. Shared by the policies that take a `random` option.
 *
 * @param caller The operator, for the `RangeError` a `random` outside `[0, 1)` raises.
 */
export function randomOffset(caller: string, random: () => number, period: number): number {
  const r = random();
  if (!(r >= 0 && r < 1)) {
    throw new RangeError(`${caller}: options.random returned ${r}, expected a number in [0, 1)`);
  }
  return Math.floor(r * period);
}
