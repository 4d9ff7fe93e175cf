/**
 * The hand-written `grpc.health.v1` messages of the channel's health checks read and write
 * what nice-grpc-server-health's generated code (ts-proto, @bufbuild/protobuf) writes and reads.
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import fc from 'fast-check';
import {
  HealthCheckRequest,
  HealthCheckResponse,
} from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health.js';
import { describe, expect, it } from 'vitest';
import {
  decodeServingStatus,
  encodeHealthCheckRequest,
  type ServingStatus,
} from '../../src/grpc/health-service.js';

const NAMES: readonly ServingStatus[] = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

describe('grpc.health.v1 messages, by hand', () => {
  it('encodes HealthCheckRequest as the generated code does, and it decodes the service back', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (service) => {
        const ours = encodeHealthCheckRequest(service);
        expect(ours).toEqual(Buffer.from(HealthCheckRequest.encode({ service }).finish()));
        expect(HealthCheckRequest.decode(ours).service).toBe(service);
      }),
    );
  });

  it("decodes HealthCheckResponse's status, a number it does not know as UNKNOWN", () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (status) => {
        const bytes = HealthCheckResponse.encode({ status }).finish();
        expect(decodeServingStatus(bytes)).toBe(NAMES[status] ?? 'UNKNOWN');
      }),
    );
  });

  it('skips fields it does not know, of every wire type, and keeps the last status', () => {
    const field = fc.oneof(
      fc.record({ kind: fc.constant('status' as const), value: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('varint' as const), value: fc.bigInt(0n, 2n ** 64n - 1n) }),
      fc.record({ kind: fc.constant('fixed64' as const), value: fc.bigInt(0n, 2n ** 64n - 1n) }),
      fc.record({ kind: fc.constant('bytes' as const), value: fc.uint8Array({ maxLength: 200 }) }),
      fc.record({ kind: fc.constant('fixed32' as const), value: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(field, { maxLength: 8 }), (fields) => {
        const writer = new BinaryWriter();
        let expected: ServingStatus = 'UNKNOWN';
        for (const f of fields) {
          if (f.kind === 'status') {
            writer.uint32(8).int32(f.value);
            expected = NAMES[f.value] ?? 'UNKNOWN';
          } else if (f.kind === 'varint') writer.uint32((2 << 3) | 0).uint64(f.value);
          else if (f.kind === 'fixed64') writer.uint32((3 << 3) | 1).fixed64(f.value);
          else if (f.kind === 'bytes') writer.uint32((4 << 3) | 2).bytes(f.value);
          else writer.uint32((5 << 3) | 5).fixed32(f.value);
        }
        expect(decodeServingStatus(writer.finish())).toBe(expected);
      }),
    );
  });

  it('refuses bytes that are no message: truncated, or of a group', () => {
    expect(() => decodeServingStatus(Uint8Array.of(0x08))).toThrow(/truncated/);
    expect(() => decodeServingStatus(Uint8Array.of(0x12, 0x05, 0x01))).toThrow(/truncated/);
    expect(() => decodeServingStatus(Uint8Array.of(0x0b))).toThrow(/wire type 3/);
    expect(() => decodeServingStatus(Uint8Array.of(...Array(11).fill(0xff)))).toThrow(/varint/);
  });
});

describe('grpc.health.v1 messages, at their edges', () => {
  it('encodes a service name of 128 bytes and more with a length of several bytes, as the generated code does', () => {
    for (const length of [127, 128, 300, 20_000]) {
      const service = 's'.repeat(length);
      const ours = encodeHealthCheckRequest(service);
      expect(ours).toEqual(Buffer.from(HealthCheckRequest.encode({ service }).finish()));
    }
    expect([...encodeHealthCheckRequest('s'.repeat(300)).subarray(0, 3)]).toEqual([
      0x0a, 0xac, 0x02,
    ]);
  });

  it('skips fields of numbers beyond 15 (tags of two bytes) and long ones, and reads the status after them', () => {
    const writer = new BinaryWriter();
    writer.uint32((100 << 3) | 0).uint64(300n);
    writer.uint32((2_000 << 3) | 2).bytes(new Uint8Array(300));
    writer.uint32(8).int32(2);
    expect(decodeServingStatus(writer.finish())).toBe('NOT_SERVING');
  });

  it('refuses a varint of 11 bytes, even one that ends there', () => {
    expect(() => decodeServingStatus(Uint8Array.of(0x08, ...Array(10).fill(0xff), 0x01))).toThrow(
      'HealthCheckResponse: varint longer than 10 bytes',
    );
  });
});
