import { type Metadata, status } from '@grpc/grpc-js';

/**
 * What one ended call says about the backend that served it. The channel sees what grpc-js
 * hands a pick's `onCallEnded`: the status code and the trailing metadata (no response
 * headers). Two readings of it, each for its own measurement:
 *
 * {@link countOf}, for a backend's recent successes and failures:
 * - `failure`: it failed for the backend's sake: a lost, refused or reset connection, a
 *   refused stream (all UNAVAILABLE, made up by grpc-js), or UNAVAILABLE, INTERNAL, UNKNOWN or
 *   DATA_LOSS however it came.
 * - `success`: OK, or any other status a server sent: an application error such as NOT_FOUND
 *   or INVALID_ARGUMENT is the caller's, and the backend answered.
 * - `neutral`: CANCELLED (the caller gave up), DEADLINE_EXCEEDED (the caller's deadline:
 *   slowness is the latency estimate's business) and RESOURCE_EXHAUSTED (a quota, often the
 *   caller's).
 *
 * {@link connectionOutcome}, for outlier detection's consecutive failures:
 * - `failure`: UNAVAILABLE whose metadata is not a gRPC server's Trailers-Only response:
 *   grpc-js made the status up because the connection was refused, reset or dropped, or the
 *   stream was refused (GOAWAY); or something that is not a gRPC server answered (a proxy's
 *   HTTP 502/503/504). A server's UNAVAILABLE sent after response headers cannot be told
 *   apart from a dropped connection, and counts too.
 * - `success`: OK, or any other status in a gRPC server's Trailers-Only response (the
 *   connection works).
 * - `neutral`: all else: a server's Trailers-Only UNAVAILABLE, cancellations, deadlines (a
 *   slow backend is not a broken connection), statuses after response headers.
 */
export type CallOutcome = 'success' | 'failure' | 'neutral';

/**
 * Whether response metadata (the status of a Trailers-Only response) was sent by a gRPC
 * server. gRPC over HTTP/2 requires `content-type: application/grpc[+proto|...]` there;
 * statuses that grpc-js makes up carry empty metadata, and a proxy's own HTTP error has some
 * other content type or none.
 */
export function isGrpcResponse(metadata: Metadata): boolean {
  const [contentType] = metadata.get('content-type');
  return typeof contentType === 'string' && contentType.startsWith('application/grpc');
}

/** The {@link CallOutcome} of a call, for outlier detection's consecutive failures. */
export function connectionOutcome(code: status, metadata: Metadata): CallOutcome {
  if (code === status.OK) return 'success';
  const fromServer = isGrpcResponse(metadata);
  if (code === status.UNAVAILABLE) return fromServer ? 'neutral' : 'failure';
  return fromServer ? 'success' : 'neutral';
}

/** The {@link CallOutcome} of a call, for a backend's recent successes and failures. */
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
