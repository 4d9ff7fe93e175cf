/**
 * A draw of a policy's `random` option, checked: a number in `[0, 1)`, as `Math.random`
 * returns. The one check of what every policy's `random` returns.
 *
 * @param caller The operator, for the `RangeError` a value outside `[0, 1)` raises.
 */
export function drawOf(caller: string, random: () => number): number {
  const r = random();
  if (!(r >= 0 && r < 1)) {
    throw new RangeError(`${caller}: options.random returned ${r}, expected a number in [0, 1)`);
  }
  return r;
}

/**
 * Where a new picker starts, `Math.floor(random() * period)`, so that many clients do not all
 * hit the same first instance.
 */
export function randomOffset(caller: string, random: () => number, period: number): number {
  return Math.floor(drawOf(caller, random) * period);
}
