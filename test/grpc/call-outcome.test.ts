import { Metadata, type StatusObject, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { callOutcome, isGrpcResponse } from '../../src/grpc/call-outcome.js';

function metadata(headers: Record<string, string> = {}): Metadata {
  const result = new Metadata();
  for (const [key, value] of Object.entries(headers)) result.set(key, value);
  return result;
}

/** A status as grpc-js makes one up: empty metadata. */
const local = (code: status, details = ''): StatusObject => ({
  code,
  details,
  metadata: metadata(),
});
/** A Trailers-Only status from a gRPC server. */
const trailersOnly = (code: status): StatusObject => ({
  code,
  details: '',
  metadata: metadata({ 'content-type': 'application/grpc+proto' }),
});

describe('callOutcome', () => {
  it('is a failure: UNAVAILABLE made up before any gRPC answer (refused, reset, dropped)', () => {
    expect(callOutcome(local(status.UNAVAILABLE, 'read ECONNRESET'), false)).toBe('failure');
  });

  it("is a failure: a proxy's HTTP 503, whatever its content type", () => {
    const proxy = {
      ...local(status.UNAVAILABLE),
      metadata: metadata({ 'content-type': 'text/html' }),
    };
    expect(callOutcome(proxy, false)).toBe('failure');
  });

  it('is neutral: UNAVAILABLE a server sent, or after the server answered', () => {
    expect(callOutcome(trailersOnly(status.UNAVAILABLE), false)).toBe('neutral');
    expect(callOutcome(local(status.UNAVAILABLE, 'Connection dropped'), true)).toBe('neutral');
  });

  it('is a success: any other status a server sent, application errors included', () => {
    expect(callOutcome(local(status.OK), true)).toBe('success');
    expect(callOutcome(trailersOnly(status.NOT_FOUND), false)).toBe('success');
    expect(callOutcome(trailersOnly(status.INTERNAL), false)).toBe('success');
  });

  it('is neutral: cancellations and deadlines before any answer (a slow backend)', () => {
    expect(callOutcome(local(status.CANCELLED), false)).toBe('neutral');
    expect(callOutcome(local(status.DEADLINE_EXCEEDED), false)).toBe('neutral');
    expect(callOutcome(local(status.RESOURCE_EXHAUSTED), false)).toBe('neutral');
  });
});

describe('isGrpcResponse', () => {
  it('is true for any application/grpc content type only', () => {
    expect(isGrpcResponse(metadata({ 'content-type': 'application/grpc' }))).toBe(true);
    expect(isGrpcResponse(metadata({ 'content-type': 'application/grpc+json' }))).toBe(true);
    expect(isGrpcResponse(metadata({ 'content-type': 'text/plain' }))).toBe(false);
    expect(isGrpcResponse(metadata())).toBe(false);
  });
});
