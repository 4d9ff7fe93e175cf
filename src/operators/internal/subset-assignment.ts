import type { Address } from '../../instance.js';

/**
 * Deterministic subsetting as Google's SRE book describes it ("Load Balancing in the
 * Datacenter"): the subset a client would get if it had none yet. `subset()` starts from it and
 * moves towards it only as far as its churn rules allow.
 *
 * Clients are numbered (their ordinal); backends are dealt in rounds, each round in its own
 * order (by a hash of the round and the address), one after the other as a single deck: client
 * `i` takes the `size` cards from position `i · size`. When `size` divides the number of
 * backends `N`, that is the book's scheme exactly (rounds of `N / size` clients with disjoint
 * subsets); otherwise a client may straddle two rounds, and takes its cards from the end of
 * one and the start of the next, skipping any it already holds. Every `N` consecutive cards
 * deal each backend once, so over ordinals `0..M-1` every backend serves `floor` or `ceil` of
 * `M · size / N` clients (one more or less where a straddling client skipped a card). The book
 * leaves the `N mod size` backends at the end of each round to no client of that round, which
 * with 100 clients of 10 over 299 backends leaves some backend to a single client.
 *
 * @param ordinal The client's number, a non-negative integer below 2^32.
 * @returns The subset, in dealing order; every address when there are at most `size`.
 */
export function idealSubset(
  ordinal: number,
  addresses: readonly Address[],
  size: number,
): readonly Address[] {
  const count = addresses.length;
  if (count <= size) return roundOrder(0, addresses);
  const first = ordinal * size;
  let round = Math.floor(first / count);
  let deck = roundOrder(round, addresses);
  let position = first % count;
  const dealt = new Set<Address>();
  while (dealt.size < size) {
    if (position === count) {
      deck = roundOrder(++round, addresses);
      position = 0;
    }
    dealt.add(deck[position++] as Address);
  }
  return [...dealt];
}

/** `addresses` in the order of `round`: by a hash of the round and the address. */
export function roundOrder(round: number, addresses: readonly Address[]): Address[] {
  const keyed = addresses.map((address) => ({ address, key: hash32(address, round) }));
  keyed.sort((a, b) => a.key - b.key || (a.address < b.address ? -1 : 1));
  return keyed.map(({ address }) => address);
}

/**
 * A 32-bit hash of `text` seeded with `seed` (a 32-bit integer): FNV-1a over the seed's bytes
 * and the text's UTF-16 units, then MurmurHash3's finalizer, so that nearby seeds and texts
 * spread over the whole range. Stable across processes and versions of Node.
 */
export function hash32(text: string, seed = 0): number {
  let h = 0x811c9dc5;
  for (let shift = 0; shift < 32; shift += 8) {
    h = Math.imul(h ^ ((seed >>> shift) & 0xff), 0x01000193);
  }
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
