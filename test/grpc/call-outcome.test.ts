import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { connectionOutcome, countOf, isGrpcResponse } from '../../src/grpc/call-outcome.js';

function metadata(headers: Record<string, string> = {}): Metadata {
  const result = new Metadata();
  for (const [key, value] of Object.entries(headers)) result.set(key, value);
  return result;
}

/** A status as grpc-js makes one up (or normal trailers): empty metadata. */
const local = (code: status) => connectionOutcome(code, metadata());
/** A Trailers-Only status from a gRPC server. */
const trailersOnly = (code: status) =>
  connectionOutcome(code, metadata({ 'content-type': 'application/grpc+proto' }));

describe('connectionOutcome', () => {
  it('is a failure: UNAVAILABLE made up before any gRPC answer (refused, reset, dropped)', () => {
    expect(local(status.UNAVAILABLE)).toBe('failure');
  });

  it("is a failure: a proxy's HTTP 503, whatever its content type", () => {
    const proxy = metadata({ 'content-type': 'text/html' });
    expect(connectionOutcome(status.UNAVAILABLE, proxy)).toBe('failure');
  });

  it('is neutral: UNAVAILABLE a server sent as its whole response', () => {
    expect(trailersOnly(status.UNAVAILABLE)).toBe('neutral');
  });

  it('is a success: any other status a server sent, application errors included', () => {
    expect(local(status.OK)).toBe('success');
    expect(trailersOnly(status.NOT_FOUND)).toBe('success');
    expect(trailersOnly(status.INTERNAL)).toBe('success');
  });

  it('is neutral: cancellations, deadlines (a slow backend), statuses after response headers', () => {
    expect(local(status.CANCELLED)).toBe('neutral');
    expect(local(status.DEADLINE_EXCEEDED)).toBe('neutral');
    expect(local(status.RESOURCE_EXHAUSTED)).toBe('neutral');
    expect(local(status.NOT_FOUND)).toBe('neutral');
  });
});

describe('countOf', () => {
  it("counts a failure of the backend's: UNAVAILABLE, INTERNAL, UNKNOWN, DATA_LOSS", () => {
    const codes = [status.UNAVAILABLE, status.INTERNAL, status.UNKNOWN, status.DATA_LOSS];
    expect(codes.map(countOf)).toEqual(codes.map(() => 'failure'));
  });

  it("counts a success: OK, and the caller's errors, which the backend answered", () => {
    const codes = [
      status.OK,
      status.INVALID_ARGUMENT,
      status.NOT_FOUND,
      status.ALREADY_EXISTS,
      status.PERMISSION_DENIED,
      status.FAILED_PRECONDITION,
      status.ABORTED,
      status.OUT_OF_RANGE,
      status.UNIMPLEMENTED,
      status.UNAUTHENTICATED,
    ];
    expect(codes.map(countOf)).toEqual(codes.map(() => 'success'));
  });

  it("counts neither: cancellations, deadlines and quotas, which may be the caller's", () => {
    const codes = [status.CANCELLED, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED];
    expect(codes.map(countOf)).toEqual(codes.map(() => 'neutral'));
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
