/**
 * The benchmark's gRPC backends, in a child process so that servers and client do not share an
 * event loop: every row of the macro table then measures the same client work against the
 * same servers (RESULTS.md says why). This file is both ends: `startBackends` forks it, and as
 * the child it runs echo servers on 127.0.0.1 (test/support/echo-server.ts). The child sends
 * `{ addresses }` once they listen, answers `'cpu'` with its `process.cpuUsage()` and
 * `'connections'` with the number of client connections open to its servers, makes a server
 * slow on `{ delay: { index, ms } }` (every call then waits `ms` before it is handled; 0 makes
 * it fast again) and answers `{ delayed: index }`, and exits when its parent disconnects. On
 * `{ healthServers: count }` it starts that many more servers with a health service
 * (nice-grpc-server-health, as `registerInstance()`'s servers have it: test/support/
 * health-server.ts) and answers `{ healthAddresses }`; `{ serving: { index, serving } }` makes
 * the health service of one of those say SERVING or NOT_SERVING, and is answered
 * `{ served: index }`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HealthServer } from '../test/support/health-server.js';
import { field } from './reflect.js';

const SELF = fileURLToPath(import.meta.url);

export interface Backends {
  /** `127.0.0.1:port` of each echo server. */
  readonly addresses: readonly string[];
  /** The child process's id. */
  readonly pid: number;
  /** The child process's CPU time so far. */
  cpuUsage(): Promise<NodeJS.CpuUsage>;
  /** Client connections open to the backends now. */
  connections(): Promise<number>;
  /**
   * Makes the backend at `index` of `addresses` slow: from when this resolves, every call to it
   * waits `ms` in the server before it is handled (0: fast again).
   */
  setDelay(index: number, ms: number): Promise<void>;
  /**
   * `count` more servers, whose health service can be switched (started on the first call, the
   * same ones after): their addresses.
   */
  healthServers(count: number): Promise<readonly string[]>;
  /** Makes the health service of the health server at `index` say SERVING or NOT_SERVING. */
  setServing(index: number, serving: boolean): Promise<void>;
  close(): Promise<void>;
}

function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

/** The child's next message that `read` accepts. */
function nextMessage<T>(
  child: ChildProcess,
  read: (message: unknown) => T | undefined,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      const value = read(message);
      if (value === undefined) return;
      child.off('message', onMessage).off('exit', onExit);
      resolve(value);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`the backend process exited with code ${code}`));
    };
    child.on('message', onMessage).once('exit', onExit);
  });
}

function ask<T>(child: ChildProcess, request: string, read: (message: unknown) => T | undefined) {
  const answer = nextMessage(child, read);
  child.send(request);
  return answer;
}

/**
 * The backend that convergence and memory benchmarks add and remove (the last of the first
 * four), and the ones that stay.
 */
export function spareAndBase(backends: Backends): {
  readonly spare: string;
  readonly base: readonly string[];
} {
  const [spare, ...base] = backends.addresses.slice(0, 4).reverse();
  if (spare === undefined || base.length < 1) throw new Error('need 2 backends or more');
  return { spare, base };
}

/** Starts `count` echo servers in a child process. */
export async function startBackends(count: number): Promise<Backends> {
  const child = fork(SELF, [String(count)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const addresses = await nextMessage(child, (message) => {
    const list = field(message, 'addresses');
    return Array.isArray(list) ? list.filter((a): a is string => typeof a === 'string') : undefined;
  });
  return {
    addresses,
    pid: child.pid ?? -1,
    cpuUsage: () =>
      ask(child, 'cpu', (message) => {
        const user = asNumber(field(field(message, 'cpu'), 'user'));
        const system = asNumber(field(field(message, 'cpu'), 'system'));
        return user === undefined || system === undefined ? undefined : { user, system };
      }),
    connections: () =>
      ask(child, 'connections', (message) => asNumber(field(message, 'connections'))),
    async setDelay(index, ms) {
      const answer = nextMessage(child, (message) =>
        field(message, 'delayed') === index ? true : undefined,
      );
      child.send({ delay: { index, ms } });
      await answer;
    },
    async healthServers(count) {
      const answer = nextMessage(child, (message) => {
        const list = field(message, 'healthAddresses');
        return Array.isArray(list) ? list.filter((a) => typeof a === 'string') : undefined;
      });
      child.send({ healthServers: count });
      return answer;
    },
    async setServing(index, serving) {
      const answer = nextMessage(child, (message) =>
        field(message, 'served') === index ? true : undefined,
      );
      child.send({ serving: { index, serving } });
      await answer;
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}

/** The child: `count` echo servers, answering its parent until it disconnects. */
async function serve(count: number): Promise<void> {
  // Imported here, so that the parent (the client measured) never loads the servers.
  const { startEchoServers } = await import('../test/support/echo-server.js');
  const { startHealthServers } = await import('../test/support/health-server.js');
  const servers = await startEchoServers(count);
  let healthServers: Promise<HealthServer[]> | undefined;
  process.on('message', async (message) => {
    const wanted = field(message, 'healthServers');
    if (typeof wanted === 'number') {
      healthServers ??= startHealthServers(wanted);
      const healthAddresses = (await healthServers).map((server) => server.address);
      process.send?.({ healthAddresses });
    }
    const serving = field(message, 'serving');
    const at = field(serving, 'index');
    if (typeof at === 'number' && healthServers) {
      const server = (await healthServers)[at];
      server?.health.setStatus(field(serving, 'serving') === true ? 'healthy' : 'unhealthy');
      process.send?.({ served: at });
    }
    const delay = field(message, 'delay');
    const index = field(delay, 'index');
    const ms = field(delay, 'ms');
    if (typeof index === 'number' && typeof ms === 'number') {
      const server = servers[index];
      if (server) server.delayMs = ms;
      process.send?.({ delayed: index });
    }
    if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
    if (message === 'connections') {
      process.send?.({ connections: servers.reduce((sum, server) => sum + server.connections, 0) });
    }
  });
  process.on('disconnect', async () => {
    for (const server of servers) server.stop();
    for (const server of (await healthServers) ?? []) server.stop();
    process.exit(0);
  });
  process.send?.({ addresses: servers.map((server) => server.address) });
}

if (process.argv[1] === SELF) await serve(Number(process.argv[2] ?? '3'));
