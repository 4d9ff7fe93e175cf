import type { RecordedRequest } from '../../src/testing/index.js';

/** The health queries a server received for one service, in order. */
export function healthQueries(
  requests: readonly RecordedRequest[],
  service: string,
): RecordedRequest[] {
  return requests.filter((r) => r.path === `/v1/health/service/${service}`);
}

/** The query parameters of a recorded request. */
export function params(request: RecordedRequest | undefined): URLSearchParams {
  return new URLSearchParams(request?.query ?? '');
}
