/**
 * A greeter server: answers SayHello with the address it serves on, implements
 * grpc.health.v1 (nice-grpc-server-health) and registers itself with Consul.
 *
 *   CONSUL_HTTP_ADDR=127.0.0.1:8500 npx tsx examples/greeter/server.ts [port]
 *
 * It prints `listening <host:port>` once registered, and deregisters on SIGINT/SIGTERM.
 */
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
}

/** Starts a greeter with a health service on 127.0.0.1 (port 0: a free one). */
export async function startGreeter(port = 0): Promise<GreeterServer> {
  const server = createServer();
  const health = HealthState();
  let address = '';
  server.add(GreeterDefinition, {
    async sayHello({ name }) {
      return { message: `Hello, ${name}!`, backend: address };
    },
  });
  server.add(HealthDefinition, HealthServiceImpl(health));
  const bound = await server.listen(`127.0.0.1:${port}`);
  address = `127.0.0.1:${bound}`;
  return { address, port: bound, server, health };
}

async function main(): Promise<void> {
  const greeter = await startGreeter(Number(process.argv[2] ?? 0));
  let registration: RegisteredInstance | undefined;
  const stop = async () => {
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
    // fast checks: the demo wants Consul to notice a dead server within a second
    check: { interval: '250ms', timeout: '200ms', deregisterCriticalServiceAfter: '2s' },
  });
  console.log(`listening ${greeter.address}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
