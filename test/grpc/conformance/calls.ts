import { createServer, type Socket } from 'node:net';
import { type Channel, Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { type EchoRequest, EchoService } from '../../support/echo-service.js';

/** How one call ended, and when. */
export interface Outcome {
  /** The status code: 0 (OK) or an error. */
  readonly code: status;
  readonly details: string;
  /** The backend that answered, when one did. */
  readonly backend: string | undefined;
  /** From the start of the call to its end. */
  readonly ms: number;
}

export interface CallOptions {
  /** The echo request: `{ text: '' }` unless given (its `failWith` makes a server fail it). */
  readonly request?: EchoRequest;
  readonly deadlineMs?: number;
  readonly waitForReady?: boolean;
  readonly signal?: AbortSignal;
}

/** One unary echo call through a plain grpc-js client over `channel`; never rejects. */
export function unary(channel: Channel, options: CallOptions = {}): Promise<Outcome> {
  const client = new Client('', credentials.createInsecure(), { channelOverride: channel });
  const { path, requestSerialize, responseDeserialize } = EchoService.unary;
  const metadata = new Metadata({ waitForReady: options.waitForReady ?? false });
  const { deadlineMs } = options;
  const callOptions = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
  const start = performance.now();
  return new Promise((resolve) => {
    const call = client.makeUnaryRequest(
      path,
      requestSerialize,
      responseDeserialize,
      options.request ?? { text: '' },
      metadata,
      callOptions,
      (error, reply) => {
        const ms = performance.now() - start;
        if (error) resolve({ code: error.code, details: error.details, backend: undefined, ms });
        else resolve({ code: status.OK, details: '', backend: reply?.backend, ms });
      },
    );
    options.signal?.addEventListener('abort', () => call.cancel(), { once: true });
  });
}

/** `'2 of 40 failed (UNAVAILABLE: ...)'`: the failures among `outcomes`, and the first cause. */
export function failures(outcomes: readonly Outcome[]): string {
  const failed = outcomes.filter((outcome) => outcome.code !== status.OK);
  const first = failed[0];
  const cause = first ? ` (${status[first.code]}: ${first.details.slice(0, 60)})` : '';
  return `${failed.length} of ${outcomes.length} failed${cause}`;
}

/** A TCP server on 127.0.0.1 that accepts connections and never says a word. */
export async function startBlackHole(): Promise<{ address: string; stop(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    stop() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
