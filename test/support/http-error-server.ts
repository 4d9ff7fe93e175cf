import { createServer, type Http2Session } from 'node:http2';

/**
 * A plain HTTP/2 server on 127.0.0.1 that answers every request with an HTTP error and no
 * gRPC content type, like a proxy or sidecar whose backend is gone: its connection is
 * healthy (grpc-js sees it READY), yet every call fails with UNAVAILABLE.
 */
export interface HttpErrorServer {
  readonly address: string;
  /** Requests answered so far. */
  readonly received: number;
  stop(): void;
}

export async function startHttpErrorServer(httpStatus = 503): Promise<HttpErrorServer> {
  const sessions = new Set<Http2Session>();
  let received = 0;
  const server = createServer();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream) => {
    received++;
    stream.respond({ ':status': httpStatus, 'content-type': 'text/plain' }, { endStream: true });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    get received() {
      return received;
    },
    stop() {
      server.close();
      for (const session of sessions) session.destroy();
    },
  };
}
