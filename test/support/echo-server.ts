import { createServer, type Server as NetServer, type Socket } from 'node:net';
import {
  type handleBidiStreamingCall,
  type handleClientStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  Metadata,
  Server,
  ServerCredentials,
  type ServerErrorResponse,
} from '@grpc/grpc-js';
import { type EchoReply, type EchoRequest, EchoService } from './echo-service.js';

/** A real grpc-js server of {@link EchoService} on 127.0.0.1, port chosen by the OS. */
export interface EchoServer {
  readonly address: string;
  /** Calls that reached a handler so far, of any kind. */
  readonly received: number;
  /** Client connections open right now. */
  readonly connections: number;
  /** Client connections accepted so far. */
  readonly accepted: number;
  /** Calls held right now (see `EchoRequest.hold`). */
  readonly held: number;
  /**
   * How long every unary and server-streaming call waits in the server before it is handled,
   * in ms: a slow backend. Settable at any time; calls already waiting keep their delay.
   * Default 0.
   */
  delayMs: number;
  /**
   * While true, connections are accepted and held without a word of HTTP/2, so that a client
   * stays CONNECTING (grpc-js waits for the server's settings); set false, the held ones are
   * served. Default false.
   */
  holdConnections: boolean;
  /** Lets every call held by `hold: true` finish, and the next ones pass at once. */
  release(): void;
  /**
   * Dies like a killed process: the listener closes and every connection is reset, with no
   * GOAWAY and no status for the calls in flight.
   */
  kill(): void;
  /**
   * Resets every client connection, with no GOAWAY, and goes on listening: a connection lost
   * on the way (a proxy's idle timeout, a network blip), not a server gone.
   */
  drop(): void;
  /**
   * Shuts down gracefully, like grpc-js's `tryShutdown()` (and nice-grpc's `shutdown()`): stops
   * accepting connections and sends GOAWAY; calls in flight go on to the end. Resolves when the
   * last one has ended.
   */
  shutdown(): Promise<void>;
  /** Shuts down and frees the port; safe to call after `kill()` and twice. */
  stop(): void;
}

/**
 * Starts an {@link EchoServer}, on `port` (default: one the OS chooses). The TCP listener is
 * ours and hands its sockets to grpc-js through a connection injector, so that `kill()` can
 * reset them like a crash would.
 */
export async function startEchoServer(port = 0): Promise<EchoServer> {
  const server = new Server();
  const sockets = new Set<Socket>();
  let received = 0;
  let accepted = 0;
  let held = 0;
  let delayMs = 0;
  let released = false;
  let holdConnections = false;
  const parked: Socket[] = [];
  let opened: (() => void) | undefined;
  const gate = new Promise<void>((resolve) => {
    opened = resolve;
  });
  const tcp: NetServer = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (holdConnections) parked.push(socket);
    else injector.injectConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, '127.0.0.1', resolve);
  });
  const address = `127.0.0.1:${(tcp.address() as { port: number }).port}`;

  const reply = (text: string, metadata: Metadata): EchoReply => ({
    text,
    backend: address,
    metadataKeys: Object.keys(metadata.getMap()),
  });
  const served = () => {
    const trailer = new Metadata();
    trailer.set('x-served-by', address);
    return trailer;
  };
  const hold = async (): Promise<void> => {
    held++;
    try {
      if (!released) await gate;
    } finally {
      held--;
    }
  };
  const failure = (request: EchoRequest | undefined): ServerErrorResponse | undefined => {
    if (request?.failWith === undefined || (request.failOn ?? address) !== address) return;
    return Object.assign(new Error(`asked to fail by ${address}`), { code: request.failWith });
  };
  const enter = async (request: EchoRequest): Promise<ServerErrorResponse | undefined> => {
    received++;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (request.hold) await hold();
    return failure(request);
  };

  const unary: handleUnaryCall<EchoRequest, EchoReply> = async (call, callback) => {
    const error = await enter(call.request);
    if (error) callback(error);
    else callback(null, reply(call.request.text, call.metadata), served());
  };
  const serverStream: handleServerStreamingCall<EchoRequest, EchoReply> = async (call) => {
    const error = await enter(call.request);
    if (error) return call.emit('error', error);
    for (let i = 0; i < (call.request.count ?? 1); i++) {
      call.write(reply(`${call.request.text}#${i}`, call.metadata));
      if (i === 0 && call.request.holdAfterFirst) await hold();
    }
    call.end(served());
  };
  const clientStream: handleClientStreamingCall<EchoRequest, EchoReply> = async (
    call,
    callback,
  ) => {
    received++;
    const requests: EchoRequest[] = [];
    for await (const request of call) requests.push(request as EchoRequest);
    const error = failure(requests[0]);
    if (error) callback(error);
    else callback(null, reply(requests.map((r) => r.text).join(','), call.metadata), served());
  };
  // Events, not for-await: ending an async iteration destroys the duplex, writable side too.
  const bidi: handleBidiStreamingCall<EchoRequest, EchoReply> = (call) => {
    received++;
    call.on('data', (request: EchoRequest) => call.write(reply(request.text, call.metadata)));
    call.on('end', () => call.end(served()));
  };
  server.addService(EchoService, { unary, serverStream, clientStream, bidi });
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());

  let stopped = false;
  const release = () => {
    released = true;
    opened?.();
  };
  const drop = () => {
    for (const socket of sockets) socket.resetAndDestroy();
  };
  const kill = () => {
    tcp.close();
    drop();
  };
  return {
    address,
    get received() {
      return received;
    },
    get connections() {
      return sockets.size;
    },
    get accepted() {
      return accepted;
    },
    get held() {
      return held;
    },
    get delayMs() {
      return delayMs;
    },
    set delayMs(ms: number) {
      delayMs = ms;
    },
    get holdConnections() {
      return holdConnections;
    },
    set holdConnections(hold: boolean) {
      holdConnections = hold;
      if (hold) return;
      for (const socket of parked.splice(0))
        if (!socket.destroyed) injector.injectConnection(socket);
    },
    release,
    kill,
    drop,
    shutdown() {
      tcp.close();
      return new Promise<void>((resolve, reject) => {
        server.tryShutdown((error) => (error ? reject(error) : resolve()));
      });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      release();
      kill();
      injector.destroy();
      server.forceShutdown();
    },
  };
}

/** Starts `n` echo servers. */
export function startEchoServers(n: number): Promise<EchoServer[]> {
  return Promise.all(Array.from({ length: n }, () => startEchoServer()));
}
