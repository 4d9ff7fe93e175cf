/**
 * XXH64 (seed 0) of a string's UTF-8 bytes: the stable 64-bit hash that gRPC's ring hash
 * (gRFC A42) and Envoy's hash its ring entries and request keys with, so that a key lands
 * where any other A42 client puts it.
 *
 * Written on 32-bit halves (`hi`, `lo`) rather than BigInts so that hashing a call's key
 * allocates nothing: the text is encoded into a reused buffer, and each 64-bit step leaves its
 * result in `R`.
 */

// The primes, as [high 32 bits, low 32 bits].
const P1H = 0x9e37_79b1;
const P1L = 0x85eb_ca87;
const P2H = 0xc2b2_ae3d;
const P2L = 0x27d4_eb4f;
const P3H = 0x1656_67b1;
const P3L = 0x9e37_79f9;
const P4H = 0x85eb_ca77;
const P4L = 0xc2b2_ae63;
const P5H = 0x27d4_eb2f;
const P5L = 0x1656_67c5;

/**
 * The result of the last 64-bit step, high and low halves. A typed array, not two module
 * variables: V8 would box every value above 2^31 written to one of those.
 */
const R = new Uint32Array(2);

const encoder = new TextEncoder();
let buffer = new Uint8Array(256);

/** `(ah:al) * (bh:bl)` modulo 2^64, into R. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const low = a0 * b0;
  const middle = a1 * b0 + a0 * b1 + (low >>> 16);
  const high = a1 * b1 + Math.floor(middle / 0x1_0000);
  R[1] = Math.imul(al, bl) >>> 0;
  R[0] = (high + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

/** `(ah:al) + (bh:bl)` modulo 2^64, into R. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const low = al + bl;
  R[1] = low >>> 0;
  R[0] = (ah + bh + (low > 0xffff_ffff ? 1 : 0)) >>> 0;
}

/** `(h:l)` rotated left by `r` bits, 0 < r < 32, into R. */
function rotl(h: number, l: number, r: number): void {
  R[0] = ((h << r) | (l >>> (32 - r))) >>> 0;
  R[1] = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** XXH64's round: `rotl(acc + lane * P2, 31) * P1`, into R. */
function round(acch: number, accl: number, laneh: number, lanel: number): void {
  mul(laneh, lanel, P2H, P2L);
  add(acch, accl, R[0] as number, R[1] as number);
  rotl(R[0] as number, R[1] as number, 31);
  mul(R[0] as number, R[1] as number, P1H, P1L);
}

/** The little-endian 32-bit word of `buffer` at `at`. */
function word(at: number): number {
  return (
    ((buffer[at] ?? 0) |
      ((buffer[at + 1] ?? 0) << 8) |
      ((buffer[at + 2] ?? 0) << 16) |
      ((buffer[at + 3] ?? 0) << 24)) >>>
    0
  );
}

/** XXH64 with seed 0 of `text`'s UTF-8 bytes, as its high and low 32 bits in `out`. */
export function xxhash64Into(text: string, out: Uint32Array): void {
  if (buffer.length < text.length * 3) buffer = new Uint8Array(text.length * 3);
  const length = encoder.encodeInto(text, buffer).written;
  let at = 0;
  let h: number;
  let l: number;
  if (length >= 32) {
    add(P1H, P1L, P2H, P2L);
    let v1h = R[0] as number;
    let v1l = R[1] as number;
    let v2h = P2H;
    let v2l = P2L;
    let v3h = 0;
    let v3l = 0;
    add(~P1H >>> 0, ~P1L >>> 0, 0, 1); // -P1
    let v4h = R[0] as number;
    let v4l = R[1] as number;
    for (; at + 32 <= length; at += 32) {
      round(v1h, v1l, word(at + 4), word(at));
      v1h = R[0] as number;
      v1l = R[1] as number;
      round(v2h, v2l, word(at + 12), word(at + 8));
      v2h = R[0] as number;
      v2l = R[1] as number;
      round(v3h, v3l, word(at + 20), word(at + 16));
      v3h = R[0] as number;
      v3l = R[1] as number;
      round(v4h, v4l, word(at + 28), word(at + 24));
      v4h = R[0] as number;
      v4l = R[1] as number;
    }
    rotl(v1h, v1l, 1);
    h = R[0] as number;
    l = R[1] as number;
    rotl(v2h, v2l, 7);
    add(h, l, R[0] as number, R[1] as number);
    h = R[0] as number;
    l = R[1] as number;
    rotl(v3h, v3l, 12);
    add(h, l, R[0] as number, R[1] as number);
    h = R[0] as number;
    l = R[1] as number;
    rotl(v4h, v4l, 18);
    add(h, l, R[0] as number, R[1] as number);
    h = R[0] as number;
    l = R[1] as number;
    for (const [vh, vl] of [
      [v1h, v1l],
      [v2h, v2l],
      [v3h, v3l],
      [v4h, v4l],
    ] as const) {
      // acc = (acc ^ round(0, v)) * P1 + P4
      round(0, 0, vh, vl);
      mul((h ^ (R[0] as number)) >>> 0, (l ^ (R[1] as number)) >>> 0, P1H, P1L);
      add(R[0] as number, R[1] as number, P4H, P4L);
      h = R[0] as number;
      l = R[1] as number;
    }
  } else {
    h = P5H;
    l = P5L;
  }
  add(h, l, 0, length);
  h = R[0] as number;
  l = R[1] as number;
  for (; at + 8 <= length; at += 8) {
    // h = rotl(h ^ round(0, lane), 27) * P1 + P4
    round(0, 0, word(at + 4), word(at));
    rotl((h ^ (R[0] as number)) >>> 0, (l ^ (R[1] as number)) >>> 0, 27);
    mul(R[0] as number, R[1] as number, P1H, P1L);
    add(R[0] as number, R[1] as number, P4H, P4L);
    h = R[0] as number;
    l = R[1] as number;
  }
  if (at + 4 <= length) {
    // h = rotl(h ^ (word * P1), 23) * P2 + P3
    mul(0, word(at), P1H, P1L);
    rotl((h ^ (R[0] as number)) >>> 0, (l ^ (R[1] as number)) >>> 0, 23);
    mul(R[0] as number, R[1] as number, P2H, P2L);
    add(R[0] as number, R[1] as number, P3H, P3L);
    h = R[0] as number;
    l = R[1] as number;
    at += 4;
  }
  for (; at < length; at++) {
    // h = rotl(h ^ (byte * P5), 11) * P1
    mul(0, buffer[at] ?? 0, P5H, P5L);
    rotl((h ^ (R[0] as number)) >>> 0, (l ^ (R[1] as number)) >>> 0, 11);
    mul(R[0] as number, R[1] as number, P1H, P1L);
    h = R[0] as number;
    l = R[1] as number;
  }
  // avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32
  mul(h, (l ^ (h >>> 1)) >>> 0, P2H, P2L);
  h = R[0] as number;
  l = R[1] as number;
  mul((h ^ (h >>> 29)) >>> 0, (l ^ ((l >>> 29) | (h << 3))) >>> 0, P3H, P3L);
  h = R[0] as number;
  l = R[1] as number;
  out[0] = h;
  out[1] = (l ^ h) >>> 0;
}

const scratch = new Uint32Array(2);

/** XXH64 with seed 0 of `text`'s UTF-8 bytes, an unsigned 64-bit integer. */
export function xxhash64(text: string): bigint {
  xxhash64Into(text, scratch);
  return (BigInt(scratch[0] ?? 0) << 32n) | BigInt(scratch[1] ?? 0);
}
