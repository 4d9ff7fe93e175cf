/**
 * An HTTP proxy on 127.0.0.1 that forwards every request to one upstream (a ConsulTestServer)
 * and records it as it arrived on the wire: method, URL, headers and body. It observes what a
 * client sends without trusting the server's own parsing. Blocking queries pass through; a
 * client that goes away ends the upstream request too.
 */
import { createServer, request as forward, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WireRequest {
  readonly method: string;
  /** Path and query string, as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The whole body, as text ('' when none). */
  readonly body: string;
}

export interface RecordingProxy {
  /** `127.0.0.1:port`, to give a client instead of the upstream's address. */
  readonly address: string;
  /** Every request received so far, complete bodies only, in arrival order. */
  readonly requests: readonly WireRequest[];
  close(): Promise<void>;
}

/** Starts a proxy to `upstream` (`host:port`). */
export async function startRecordingProxy(upstream: string): Promise<RecordingProxy> {
  const [host = '', port = ''] = upstream.split(/:(?=\d+$)/);
  const requests: WireRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: body.toString('utf8'),
      });
      const out = forward(
        { host, port: Number(port), method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      res.on('close', () => out.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${own}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
