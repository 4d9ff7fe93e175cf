import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { xxhash64 } from '../../src/operators/internal/xxhash64.js';
import { runs } from '../support/runs.js';

/** XXH64 as its specification writes it, on BigInts: slow and plain, the reference. */
const MASK = 0xffff_ffff_ffff_ffffn;
const P1 = 0x9e37_79b1_85eb_ca87n;
const P2 = 0xc2b2_ae3d_27d4_eb4fn;
const P3 = 0x1656_67b1_9e37_79f9n;
const P4 = 0x85eb_ca77_c2b2_ae63n;
const P5 = 0x27d4_eb2f_1656_67c5n;

const encoder = new TextEncoder();

/** A byte of `bytes` (all reads here are in bounds). */
const byte = (bytes: Uint8Array, at: number): number => bytes[at] ?? 0;

const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & MASK;

function round(acc: bigint, lane: bigint): bigint {
  return (rotl((acc + lane * P2) & MASK, 31n) * P1) & MASK;
}

function merge(acc: bigint, value: bigint): bigint {
  return ((acc ^ round(0n, value)) * P1 + P4) & MASK;
}

function lane64(bytes: Uint8Array, at: number): bigint {
  const low = byte(bytes, at) | (byte(bytes, at + 1) << 8) | (byte(bytes, at + 2) << 16);
  const lowWord = (low | (byte(bytes, at + 3) << 24)) >>> 0;
  const high = byte(bytes, at + 4) | (byte(bytes, at + 5) << 8) | (byte(bytes, at + 6) << 16);
  const highWord = (high | (byte(bytes, at + 7) << 24)) >>> 0;
  return (BigInt(highWord) << 32n) | BigInt(lowWord);
}

function lane32(bytes: Uint8Array, at: number): bigint {
  const low = byte(bytes, at) | (byte(bytes, at + 1) << 8) | (byte(bytes, at + 2) << 16);
  return BigInt((low | (byte(bytes, at + 3) << 24)) >>> 0);
}

/** XXH64 with seed 0 of `text`'s UTF-8 bytes, an unsigned 64-bit integer. */
function reference(text: string): bigint {
  const bytes = encoder.encode(text);
  const length = bytes.length;
  let at = 0;
  let h: bigint;
  if (length >= 32) {
    let v1 = (P1 + P2) & MASK;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (0n - P1) & MASK;
    for (; at + 32 <= length; at += 32) {
      v1 = round(v1, lane64(bytes, at));
      v2 = round(v2, lane64(bytes, at + 8));
      v3 = round(v3, lane64(bytes, at + 16));
      v4 = round(v4, lane64(bytes, at + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & MASK;
    h = merge(h, v1);
    h = merge(h, v2);
    h = merge(h, v3);
    h = merge(h, v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(length)) & MASK;
  for (; at + 8 <= length; at += 8) {
    h = (rotl(h ^ round(0n, lane64(bytes, at)), 27n) * P1 + P4) & MASK;
  }
  if (at + 4 <= length) {
    h = (rotl(h ^ ((lane32(bytes, at) * P1) & MASK), 23n) * P2 + P3) & MASK;
    at += 4;
  }
  for (; at < length; at++) {
    h = (rotl(h ^ ((BigInt(byte(bytes, at)) * P5) & MASK), 11n) * P1) & MASK;
  }
  h = ((h ^ (h >> 33n)) * P2) & MASK;
  h = ((h ^ (h >> 29n)) * P3) & MASK;
  return h ^ (h >> 32n);
}

// The reference implementation's outputs (Python's xxhash.xxh64, seed 0).
describe('xxhash64()', () => {
  it.each([
    ['', 'ef46db3751d8e999'],
    ['a', 'd24ec4f1a98c6e5b'],
    ['abc', '44bc2cf5ad770999'],
    ['Nobody inspects the spammish repetition', 'fbcea83c8a378bf1'],
    ['10.0.0.1:80_0', '75041381e7371a08'],
    ['x'.repeat(100), '92f0de5a88a3c094'],
    ['é'.repeat(40), 'b1ec6d9d41a61799'],
  ])('hashes %j as XXH64 does', (text, hex) => {
    expect(xxhash64(text).toString(16).padStart(16, '0')).toBe(hex);
  });

  it('hashes any text as the BigInt reference does', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80, unit: 'grapheme' }), (text) => {
        expect(xxhash64(text)).toBe(reference(text));
      }),
      { numRuns: runs(500) },
    );
  });
});
