import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { countOf } from '../../src/grpc/call-outcome.js';

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
