import { type CallContext, createServer, type Server } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import type {
  HealthCheckRequest,
  HealthCheckResponse,
} from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health.js';
import { type EchoReply, type EchoRequest, EchoService } from './echo-service.js';

/**
 * How the `n`th Watch call (from 1) is answered, in place of nice-grpc-server-health's: a
 * stream that breaks, one that never answers.
 */
export type WatchOverride = (
  n: number,
  request: HealthCheckRequest,
  context: CallContext,
) => AsyncIterable<HealthCheckResponse> | undefined;

/**
 * A nice-grpc server on 127.0.0.1 with {@link EchoService}'s unary method and, unless
 * `health: false`, `grpc.health.v1` from nice-grpc-server-health, as `registerInstance()`'s
 * servers have it, with counts of what reached it.
 */
export interface HealthServer {
  readonly address: string;
  readonly port: number;
  /** What its health service says (the whole server: service `''`). */
  readonly health: HealthState;
  /** Unary calls that reached it so far. */
  readonly calls: number;
  /** Watch calls that reached it so far, and those open now. */
  readonly watches: number;
  readonly openWatches: number;
  /** Resolves when its `n`th Watch call has come. */
  watchCount(n: number): Promise<void>;
  stop(): void;
}

export interface HealthServerOptions {
  /** Serve grpc.health.v1. Default true; without it, a Watch ends UNIMPLEMENTED. */
  readonly health?: boolean;
  /** Answers some Watch calls otherwise; `undefined` from it: the usual answer. */
  readonly watch?: WatchOverride;
  /**
   * Runs before a unary call is answered, with the server's address: it can hold the call
   * (return a promise) or fail it (throw a `ServerError`).
   */
  readonly beforeUnary?: (request: EchoRequest, address: string) => Promise<void> | undefined;
}

export async function startHealthServer(options: HealthServerOptions = {}): Promise<HealthServer> {
  const server: Server = createServer();
  const health = HealthState();
  let address = '';
  let calls = 0;
  let watches = 0;
  let openWatches = 0;
  const waiters = new Set<{ n: number; resolve: () => void }>();
  server.add(
    { unary: EchoService.unary },
    {
      async unary(request: EchoRequest): Promise<EchoReply> {
        calls++;
        await options.beforeUnary?.(request, address);
        return { text: request.text, backend: address, metadataKeys: [] };
      },
    },
  );
  if (options.health !== false) {
    const standard = HealthServiceImpl(health);
    server.add(HealthDefinition, {
      check: standard.check,
      async *watch(request, context) {
        const n = ++watches;
        openWatches++;
        for (const waiter of [...waiters]) {
          if (waiter.n > n) continue;
          waiters.delete(waiter);
          waiter.resolve();
        }
        try {
          yield* options.watch?.(n, request, context) ?? standard.watch(request, context);
        } finally {
          openWatches--;
        }
      },
    });
  }
  const port = await server.listen('127.0.0.1:0');
  address = `127.0.0.1:${port}`;
  return {
    address,
    port,
    health,
    get calls() {
      return calls;
    },
    get watches() {
      return watches;
    },
    get openWatches() {
      return openWatches;
    },
    watchCount(n) {
      if (watches >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.add({ n, resolve }));
    },
    stop: () => server.forceShutdown(),
  };
}

/** Starts `n` {@link HealthServer}s. */
export function startHealthServers(
  n: number,
  options?: HealthServerOptions,
): Promise<HealthServer[]> {
  return Promise.all(Array.from({ length: n }, () => startHealthServer(options)));
}
