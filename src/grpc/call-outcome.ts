import { type Metadata, status } from '@grpc/grpc-js';

/**
 * What one ended call says about the connection to its backend, for outlier detection. The
 * channel sees what grpc-js hands a pick's `onCallEnded`: the status code and the trailing
 * metadata (no response headers), so:
 *
 * - `failure`: UNAVAILABLE whose metadata is not a gRPC server's Trailers-Only response:
 *   grpc-js made the status up because the connection was refused, reset or dropped, or the
 *   stream was refused (GOAWAY); or something that is not a gRPC server answered (a proxy's
 *   HTTP 502/503/504). A server's UNAVAILABLE sent after response headers cannot be told
 *   apart from a dropped connection, and counts too.
 * - `success`: OK, or any other status in a gRPC server's Trailers-Only response (an
 *   application error such as NOT_FOUND: the connection works, and ejection is about
 *   connections).
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

/** The {@link CallOutcome} of a call that ended with `code` and `metadata`. */
export function callOutcome(code: status, metadata: Metadata): CallOutcome {
  if (code === status.OK) return 'success';
  const fromServer = isGrpcResponse(metadata);
  if (code === status.UNAVAILABLE) return fromServer ? 'neutral' : 'failure';
  return fromServer ? 'success' : 'neutral';
}
