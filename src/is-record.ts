/**
 * True for a JSON-like object: not `null`, not an array. A leaf, like `duration.ts`: every
 * room uses it to check options and external data.
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
