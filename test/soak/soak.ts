/**
 * The load and churn soak: 20 echo backends registered in a ConsulTestServer, registrations
 * and deregistrations at 50 per second, and a client process (soak-client.ts) calling them
 * through consulInstances$ → diff() → roundRobin() → createBalancedChannel with
 * retryOnAnotherInstance from 16 concurrent callers. Every backend stays up and at least
 * `minRegistered` stay registered, so every call has a healthy backend to go to.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConsulTestServer } from '../../src/testing/index.js';
import { type EchoServer, startEchoServers } from '../support/echo-server.js';
import { seededRandom } from '../support/seeded-random.js';
import type { ClientMessage, ClientResult, FinishMessage, SoakClientConfig } from './protocol.js';

export interface SoakOptions {
  /** How long membership churns, from the client's first picker. */
  readonly durationMs: number;
  /** When the client takes its baseline heap, from its first picker. */
  readonly warmupMs: number;
  readonly backends?: number;
  readonly callers?: number;
  /** Registrations plus deregistrations per second. */
  readonly churnPerSecond?: number;
  /** Churn never leaves fewer instances registered. */
  readonly minRegistered?: number;
  /** Seed of the churn's choices, to replay a run. Default: random. */
  readonly seed?: number;
}

export interface SoakResult extends ClientResult {
  readonly seed: number;
  readonly churnOps: number;
  /** `heapAtEnd / heapAfterWarmup - 1`. */
  readonly heapGrowth: number;
  /** Whether the client exited by itself after `close()`, and how long it took. */
  readonly exitedBySelf: boolean;
  readonly exitMs: number;
}

const CLIENT = fileURLToPath(new URL('./soak-client.ts', import.meta.url));
const SERVICE = 'soak';
const EXIT_LIMIT_MS = 10_000;

function nextMessage(child: ChildProcess, type: ClientMessage['type'], limitMs: number) {
  return new Promise<ClientMessage>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`the soak client sent no "${type}" within ${limitMs} ms`));
    }, limitMs);
    const onMessage = (message: ClientMessage) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
  });
}

/** Resolves with the time the child took to exit, or undefined if it outlived `limitMs`. */
function exitOf(child: ChildProcess, limitMs: number): Promise<number | undefined> {
  const start = Date.now();
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(0);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(undefined);
    }, limitMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(Date.now() - start);
    });
  });
}

function registerBackend(
  consul: ConsulTestServer,
  servers: readonly EchoServer[],
  registered: Set<number>,
  i: number,
): void {
  const [host = '', port = ''] = servers[i]?.address.split(':') ?? [];
  consul.registerService({ Name: SERVICE, ID: `${SERVICE}-${i}`, Address: host, Port: +port });
  registered.add(i);
}

/** Registers and deregisters instances at `perSecond` until `until`; returns the count. */
async function churn(
  consul: ConsulTestServer,
  servers: readonly EchoServer[],
  registered: Set<number>,
  options: { perSecond: number; minRegistered: number; until: number; next: () => number },
): Promise<number> {
  const start = Date.now();
  let done = 0;
  const register = (i: number) => registerBackend(consul, servers, registered, i);
  while (Date.now() < options.until) {
    // Catch up by the clock, so that a busy machine still gets its 50 per second.
    const due = Math.floor(((Date.now() - start) * options.perSecond) / 1000);
    for (; done < due; done++) {
      const i = Math.floor(options.next() * servers.length);
      const remove = registered.has(i) && registered.size > options.minRegistered;
      if (remove) {
        consul.deregisterService(`${SERVICE}-${i}`);
        registered.delete(i);
      } else if (!registered.has(i)) {
        register(i);
      } else {
        done--; // a registered instance we may not remove: choose again
      }
    }
    consul.clearRequests();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  for (let i = 0; i < servers.length; i++) if (!registered.has(i)) register(i);
  return done;
}

/** Runs the soak; resolves with what it measured (it asserts nothing itself). */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
  const consul = await new ConsulTestServer().start();
  const servers = await startEchoServers(options.backends ?? 20);
  const registered = new Set<number>();
  let child: ChildProcess | undefined;
  try {
    for (let i = 0; i < servers.length; i++) registerBackend(consul, servers, registered, i);
    const config: SoakClientConfig = {
      consul: consul.address,
      service: SERVICE,
      callers: options.callers ?? 16,
      warmupMs: options.warmupMs,
    };
    child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', CLIENT, JSON.stringify(config)],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    const exited = new Promise<never>((_, reject) => {
      child?.once('exit', (code) => reject(new Error(`the soak client exited early (${code})`)));
    });
    await Promise.race([nextMessage(child, 'started', 30_000), exited]);
    const churnOps = await churn(consul, servers, registered, {
      perSecond: options.churnPerSecond ?? 50,
      minRegistered: options.minRegistered ?? 5,
      until: Date.now() + options.durationMs,
      next: seededRandom(seed),
    });
    const result = nextMessage(child, 'result', 30_000);
    child.send({ type: 'finish', size: registered.size } satisfies FinishMessage);
    const message = await Promise.race([result, exited]);
    if (message.type !== 'result') throw new Error('unexpected message');
    child.removeAllListeners('exit');
    const exitMs = await exitOf(child, EXIT_LIMIT_MS);
    const { heapAfterWarmup, heapAtEnd } = message.result;
    return {
      ...message.result,
      seed,
      churnOps,
      heapGrowth: heapAtEnd / heapAfterWarmup - 1,
      exitedBySelf: exitMs !== undefined,
      exitMs: exitMs ?? EXIT_LIMIT_MS,
    };
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    for (const server of servers) server.stop();
    await consul.stop();
  }
}
