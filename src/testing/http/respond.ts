/**
 * Writing a reply as Consul does: `X-Consul-Index` with `X-Consul-KnownLeader` and
 * `X-Consul-LastContact` on reads, JSON or plain-text bodies, and the ACL headers.
 */
import type { ServerResponse } from 'node:http';
import type { Fault } from './faults.js';
import type { MutableRecord } from './request-log.js';
import type { Reply } from './routes.js';

export interface ReplyOptions {
  readonly aclEnabled: boolean;
  /** An `index` fault to apply to the `X-Consul-Index` header, taken only for reads. */
  readonly takeIndexFault: () => Fault | undefined;
}

function consulHeaders(reply: Reply, options: ReplyOptions): Record<string, string> {
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.index !== undefined) {
    headers['X-Consul-Index'] = String(Math.max(1, reply.index));
    headers['X-Consul-KnownLeader'] = 'true';
    headers['X-Consul-LastContact'] = '0';
    const fault = options.takeIndexFault();
    if (fault?.kind === 'index') {
      if (fault.index === null) delete headers['X-Consul-Index'];
      else headers['X-Consul-Index'] = String(fault.index);
    }
  }
  if (reply.consistency) headers['X-Consul-Effective-Consistency'] = reply.consistency;
  if (reply.filteredByAcl) headers['X-Consul-Results-Filtered-By-ACLs'] = 'true';
  if (options.aclEnabled) headers['X-Consul-Default-ACL-Policy'] = 'deny';
  return headers;
}

/** Sends `reply` and records its status. */
export function sendReply(
  res: ServerResponse,
  record: MutableRecord,
  reply: Reply,
  options: ReplyOptions,
): void {
  const headers = consulHeaders(reply, options);
  let body: Buffer;
  let type: string;
  if (reply.text !== undefined) {
    body = Buffer.from(reply.text);
    type = 'text/plain; charset=utf-8';
  } else if (reply.bytes !== undefined) {
    body = reply.bytes;
    type = 'text/plain';
  } else {
    const json = reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
    body = Buffer.from(json);
    type = json === '' ? 'text/plain; charset=utf-8' : 'application/json';
  }
  const status = reply.status ?? 200;
  record.status = status;
  res.writeHead(status, {
    ...headers,
    'Content-Type': type,
    'Content-Length': body.length,
    Vary: 'Accept-Encoding',
  });
  res.end(body);
}
