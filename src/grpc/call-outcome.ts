import { type Metadata, type StatusObject, status } from '@grpc/grpc-js';

/**
 * What one ended call says about the connection to its backend, for outlier detection:
 *
 * - `failure`: UNAVAILABLE before the backend answered at all. grpc-js made the status up
 *   because connecting failed, the connection was reset or dropped, the stream was refused
 *   (GOAWAY), or something that is not a gRPC server (a proxy's HTTP 502/503/504) answered.
 * - `success`: a gRPC server answered (response headers, a message, or a Trailers-Only
 *   status) and the call did not end with UNAVAILABLE. An application error such as
 *   NOT_FOUND or INTERNAL counts: the connection works, and ejection is about connections.
 * - `neutral`: all else. UNAVAILABLE after a gRPC answer (a server's own UNAVAILABLE, or a
 *   connection lost mid-stream: grpc-js's statuses do not tell them apart), and statuses
 *   made up for other reasons before any answer: CANCELLED by the caller, DEADLINE_EXCEEDED
 *   (a slow backend is not a broken connection), RESOURCE_EXHAUSTED for a message too large.
 */
export type CallOutcome = 'success' | 'failure' | 'neutral';

/**
 * Whether response metadata (headers, or the status of a Trailers-Only response) was sent
 * by a gRPC server. gRPC over HTTP/2 requires `content-type: application/grpc[+proto|...]`
 * in both; statuses that grpc-js makes up carry empty metadata, and a proxy's own HTTP
 * error has some other content type or none.
 */
export function isGrpcResponse(metadata: Metadata): boolean {
  const [contentType] = metadata.get('content-type');
  return typeof contentType === 'string' && contentType.startsWith('application/grpc');
}

/** The {@link CallOutcome} of a call that ended with `result`; `answered` as above. */
export function callOutcome(result: StatusObject, answered: boolean): CallOutcome {
  const fromServer = answered || isGrpcResponse(result.metadata);
  if (result.code === status.UNAVAILABLE) return fromServer ? 'neutral' : 'failure';
  return fromServer ? 'success' : 'neutral';
}
