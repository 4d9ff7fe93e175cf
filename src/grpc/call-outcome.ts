import { status } from '@grpc/grpc-js';

/**
 * What one ended call says about the backend that served it, by its status code alone (as
 * gRPC's outlier detection, gRFC A50, and Finagle's failure accrual read it):
 * - `failure`: it failed for the backend's sake: a lost, refused or reset connection, a
 *   refused stream, a proxy's HTTP 502/503/504 (all UNAVAILABLE, made up by grpc-js), or
 *   UNAVAILABLE, INTERNAL, UNKNOWN or DATA_LOSS however it came: a backend that cannot serve.
 * - `success`: OK, or any other status: an application error such as NOT_FOUND,
 *   INVALID_ARGUMENT, FAILED_PRECONDITION or PERMISSION_DENIED is about the caller's request,
 *   and the backend answered it; counting those would let a bad caller eject a good fleet.
 * - `neutral`: CANCELLED (the caller gave up), DEADLINE_EXCEEDED (the caller's deadline:
 *   slowness is the latency estimate's business) and RESOURCE_EXHAUSTED (a quota, often the
 *   caller's).
 *
 * A backend's recent `successes` and `failures`, its failures in a row and outlier
 * detection's counts per interval all read this.
 */
export type CallOutcome = 'success' | 'failure' | 'neutral';

/** The {@link CallOutcome} of a call that ended with `code`. */
export function countOf(code: status): CallOutcome {
  switch (code) {
    case status.UNAVAILABLE:
    case status.INTERNAL:
    case status.UNKNOWN:
    case status.DATA_LOSS:
      return 'failure';
    case status.CANCELLED:
    case status.DEADLINE_EXCEEDED:
    case status.RESOURCE_EXHAUSTED:
      return 'neutral';
    default:
      return 'success';
  }
}
