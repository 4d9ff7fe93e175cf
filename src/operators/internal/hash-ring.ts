import type { Instance } from '../../instance.js';
import { xxhash64 } from './xxhash64.js';

/**
 * A hash ring as gRFC A42 (and Envoy) lays it: each member gets entries in proportion to its
 * weight, at the XXH64 of `address_n`, sorted by hash. The 64-bit hashes are kept as two
 * 32-bit halves, so that a lookup compares numbers and allocates nothing.
 */
export interface HashRing {
  /** The high and low 32 bits of each entry's hash, ascending. */
  readonly high: Uint32Array;
  readonly low: Uint32Array;
  /** The member (an index into the members) of each entry. */
  readonly member: Uint32Array;
}

/** The most entries A42 allows a ring. */
export const MAX_RING_SIZE = 8_388_608;

/**
 * Lays the ring of `members`. As in A42, a member's entries are in proportion to its weight
 * and the ring has at least `minRingSize` entries; unlike A42, the entries per unit of weight
 * are a power of two (`k`, the smallest that reaches `minRingSize`, or the largest that stays
 * within `maxRingSize`), and each member gets `ceil(k * weight)` of them, at least one. A
 * member's entries then depend on its own address and weight and on `k` only, and `k` stays
 * the same while the members' total weight stays within a factor of two: a member that
 * leaves or joins moves no other member's keys. (A42 scales the ring to the members' total,
 * so every member's entries change with each change of members: one of ten leaving moves
 * about 11 % of the other members' keys.)
 */
export function layRing(
  members: readonly Instance[],
  minRingSize: number,
  maxRingSize: number,
): HashRing {
  const weights = members.map((m) => (Number.isFinite(m.weight) && m.weight > 0 ? m.weight : 1));
  const total = weights.reduce((sum, w) => sum + w, 0);
  let k = total > 0 ? 2 ** Math.ceil(Math.log2(minRingSize / total)) : 1;
  if (k * total > maxRingSize) k = 2 ** Math.floor(Math.log2(maxRingSize / total));
  const entries: { hash: bigint; member: number }[] = [];
  weights.forEach((weight, i) => {
    const address = members[i]?.address ?? '';
    const count = Math.max(1, Math.ceil(k * weight));
    for (let n = 0; n < count; n++) entries.push({ hash: xxhash64(`${address}_${n}`), member: i });
  });
  entries.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : a.member - b.member));
  const ring = {
    high: new Uint32Array(entries.length),
    low: new Uint32Array(entries.length),
    member: new Uint32Array(entries.length),
  };
  entries.forEach(({ hash, member }, k) => {
    ring.high[k] = Number(hash >> 32n);
    ring.low[k] = Number(hash & 0xffff_ffffn);
    ring.member[k] = member;
  });
  return ring;
}

/**
 * The first entry whose hash is at or after `(high, low)`, wrapping to 0 past the last: a
 * binary search, O(log n). The ring must not be empty.
 */
export function entryAt(ring: HashRing, high: number, low: number): number {
  let from = 0;
  let to = ring.high.length;
  while (from < to) {
    const middle = (from + to) >>> 1;
    const h = ring.high[middle] as number;
    if (h < high || (h === high && (ring.low[middle] as number) < low)) from = middle + 1;
    else to = middle;
  }
  return from < ring.high.length ? from : 0;
}
