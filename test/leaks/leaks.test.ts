/**
 * Leaks as a tested property: every public object of rxlb that owns a timer, a socket or a
 * stream, once closed (`close()`, `stop()`, `deregister()`, unsubscribing, SIGINT), leaves
 * nothing that keeps a process alive. Each check is a child process whose only work was that
 * object: it must exit by itself, within a grace far shorter than any of rxlb's timers (a
 * blocking query's `wait`, a backoff, an ejection). vitest's own workers are killed at the
 * end of a run, so nothing else would notice. The children run side by side.
 *
 * Three run in `test:fast` too (the channel, the watch, ConsulTestServer); the others say
 * "exits by itself" in their names, which keeps them out of it (vitest.config.ts), for each
 * child costs a second of CPU on start.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';
import { bundled } from '../support/bundle.js';
import { type EchoServer, startEchoServers } from '../support/echo-server.js';

/** From the child's "closed" line to its exit: rxlb's shortest default timer is longer. */
const GRACE_MS = 3_000;
/** From the start to the "closed" line: a TypeScript load and a few calls. */
const WORK_MS = 15_000;

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

interface Run {
  /** The child's first stdout line (what it did), parsed as JSON. */
  readonly result: unknown;
  readonly code: number | null;
  /** From the first line to the exit. */
  readonly exitMs: number;
}

/**
 * Runs `<script> ...args` (bundled: see `bundled()`); `closing(child)`, if given, is called at the
 * first stdout line. Rejects if the child lingers more than {@link GRACE_MS} after that line.
 */
function run(
  script: string,
  args: readonly string[],
  closing?: (child: ReturnType<typeof spawn>) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const name of Object.keys(env)) if (name.startsWith('CONSUL_')) delete env[name];
    const child = spawn(process.execPath, [bundled(script), ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let closedAt: number | undefined;
    let limit = setTimeout(() => fail(`did not finish its work within ${WORK_MS} ms`), WORK_MS);
    const fail = (why: string) => {
      child.kill('SIGKILL');
      reject(new Error(`${script}: ${why}\nstdout: ${stdout}\nstderr: ${stderr}`));
    };
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (closedAt === undefined && stdout.includes('\n')) {
        closedAt = performance.now();
        clearTimeout(limit);
        limit = setTimeout(() => fail(`still running ${GRACE_MS} ms after closing`), GRACE_MS);
        closing?.(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(limit);
      if (closedAt === undefined) {
        reject(new Error(`${script}: exited with ${code} before closing\nstderr: ${stderr}`));
        return;
      }
      const [line = ''] = stdout.split('\n');
      resolve({ result: JSON.parse(line), code, exitMs: performance.now() - closedAt });
    });
  });
}

let consul: ConsulTestServer;
let echo: EchoServer[];

beforeAll(async () => {
  consul = await new ConsulTestServer().start();
  echo = await startEchoServers(2);
  for (const [i, server] of echo.entries()) {
    const port = Number(server.address.split(':').at(-1));
    consul.registerService({ Name: 'echo', ID: `echo-${i}`, Address: '127.0.0.1', Port: port });
  }
});
afterAll(async () => {
  for (const server of echo) server.stop();
  await consul.stop();
});

describe('closed, an object of rxlb leaves nothing that keeps the process alive', () => {
  it.concurrent('a balanced channel, after close(): calls, a retry, an ejection, a sweep', async () => {
    const addresses = echo.map((server) => server.address);
    const { result, code } = await run(fixture('balanced-channel.ts'), addresses);
    expect(code).toBe(0);
    const { backends, ejected } = result as { backends: string[]; ejected: number };
    expect(new Set(backends)).toEqual(new Set(addresses));
    expect(ejected).toBe(1);
  });

  it.concurrent('consulInstances$ (with failover) and a shared watch, unsubscribed', async () => {
    const { result, code } = await run(fixture('consul-watch.ts'), [consul.address, 'echo']);
    expect(code).toBe(0);
    expect(result).toEqual([2, 2, 2]);
  });

  it.concurrent('a consul: channel of plain grpc-js, after close(): its process exits by itself', async () => {
    const { result, code } = await run(fixture('consul-resolver.ts'), [consul.address, 'echo']);
    expect(code).toBe(0);
    expect(echo.map((server) => server.address)).toContain(result);
  });

  it.concurrent('registerInstance(), after deregister() and `await using`: its process exits by itself', async () => {
    const { result, code } = await run(fixture('register-instance.ts'), [
      consul.address,
      'registered',
    ]);
    expect(code).toBe(0);
    expect(result).toBe('registered-127.0.0.1-50061');
  });

  it.concurrent('ConsulTestServer, after stop(): WAN, checks, a blocking query', async () => {
    const { result, code } = await run(fixture('consul-test-server.ts'), []);
    expect(code).toBe(0);
    expect(result).toEqual({ open: 1, outcome: 'cut' });
  });

  it.concurrent('the rxlb command, after SIGINT: its process exits by itself', async () => {
    const args = ['watch', 'echo', '--address', consul.address, '--json'];
    const { result, code } = await run(CLI, args, (child) => child.kill('SIGINT'));
    expect(code).toBe(0);
    expect(result).toMatchObject({ instances: [{}, {}] });
  });
});
