/**
 * A greeter server: answers SayHello with the address it serves on, implements
 * grpc.health.v1 (nice-grpc-server-health) and registers itself with Consul.
 *
 *   CONSUL_HTTP_ADDR=127.0.0.1:8500 npx tsx examples/greeter/server.ts [port]
 *
 * It prints `listening <host:port>` once registered, and deregisters on SIGINT/SIGTERM. A line
 * `delay <ms>` on its standard input makes it slow: every SayHello then waits `ms` first
 * (`delay 0`: fast again); `health NOT_SERVING` makes its health service say so (to Consul's
 * check and to clients' Watch streams alike), `health SERVING` well again.
 */
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { createServer, type Server } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import { type RegisteredInstance, registerInstance } from '../../src/index.js';
import { GreeterDefinition } from './generated/greeter.js';

export interface GreeterServer {
  /** `127.0.0.1:port`, the address clients reach and replies name. */
  readonly address: string;
  readonly port: number;
  readonly server: Server;
  readonly health: HealthState;
  /** How long every SayHello waits before it answers, in ms: a slow server. Default 0. */
  delayMs: number;
}

/** Starts a greeter with a health service on 127.0.0.1 (port 0: a free one). */
export async function startGreeter(port = 0): Promise<GreeterServer> {
  const server = createServer();
  const health = HealthState();
  let address = '';
  let delayMs = 0;
  server.add(GreeterDefinition, {
    async sayHello({ name }) {
      if (delayMs > 0) await sleep(delayMs);
      return { message: `Hello, ${name}!`, backend: address };
    },
  });
  server.add(HealthDefinition, HealthServiceImpl(health));
  const bound = await server.listen(`127.0.0.1:${port}`);
  address = `127.0.0.1:${bound}`;
  return {
    address,
    port: bound,
    server,
    health,
    get delayMs() {
      return delayMs;
    },
    set delayMs(ms: number) {
      delayMs = ms;
    },
  };
}

async function main(): Promise<void> {
  const greeter = await startGreeter(Number(process.argv[2] ?? 0));
  let registration: RegisteredInstance | undefined;
  const commands = createInterface({ input: process.stdin });
  commands.on('line', (line) => {
    const delay = /^delay (\d+)$/.exec(line.trim());
    if (delay?.[1]) greeter.delayMs = Number(delay[1]);
    const health = /^health (SERVING|NOT_SERVING)$/.exec(line.trim());
    if (health) greeter.health.setStatus(health[1] === 'SERVING' ? 'healthy' : 'unhealthy');
  });
  const stop = async () => {
    commands.close();
    process.stdin.destroy();
    greeter.health.setStatus('unhealthy');
    await registration?.deregister().catch(() => {});
    await greeter.server.shutdown();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  registration = await registerInstance({
    name: 'greeter',
    address: '127.0.0.1',
    port: greeter.port,
    // fast checks: the demo wants Consul to notice a dead server within a second; one that
    // says NOT_SERVING for a few seconds is not reaped meanwhile
    check: { interval: '250ms', timeout: '200ms', deregisterCriticalServiceAfter: '10s' },
  });
  console.log(`listening ${greeter.address}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
