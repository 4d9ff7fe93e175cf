import { type GreeterServer, startGreeter } from '../../examples/greeter/server.js';
import { type RegisteredInstance, registerInstance } from '../../src/index.js';

export interface RegisteredGreeter {
  readonly greeter: GreeterServer;
  readonly registration: RegisteredInstance;
}

/**
 * `count` greeter servers on loopback, each registered by registerInstance() with the agent at
 * `consulAddress` with a fast gRPC health check (25 ms); their shutdown and deregistration are
 * pushed onto `cleanup`, to run after the test.
 */
export async function registeredGreeters(
  consulAddress: string,
  count: number,
  cleanup: (() => unknown)[],
): Promise<RegisteredGreeter[]> {
  const servers: RegisteredGreeter[] = [];
  for (let i = 0; i < count; i++) {
    const greeter = await startGreeter();
    const registration = await registerInstance({
      name: 'greeter',
      address: '127.0.0.1',
      port: greeter.port,
      consul: { address: consulAddress },
      check: { interval: 25, timeout: 500, deregisterCriticalServiceAfter: '1m' },
    });
    cleanup.push(() => greeter.server.forceShutdown());
    cleanup.push(() => registration.deregister().catch(() => {}));
    servers.push({ greeter, registration });
  }
  return servers;
}
