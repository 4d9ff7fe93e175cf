/**
 * Starts the benchmark's gRPC backends in a child process, so that servers and client do not
 * share an event loop: every row of the macro table then measures the same client work
 * against the same servers (RESULTS.md says why).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { field } from './reflect.js';

const ENTRY = fileURLToPath(new URL('./backend-process.ts', import.meta.url));

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
  const child = fork(ENTRY, [String(count)], {
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
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}
