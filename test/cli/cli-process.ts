/**
 * The `rxlb` command as a child process, run from source (bundled once per test process: see
 * `bundled()`), with stdout read line by line. Every process started here is killed after
 * the test if it still runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { bundled } from '../support/bundle.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface CliProcess {
  /** Complete stdout lines so far. */
  readonly lines: readonly string[];
  /** Everything written to stderr so far. */
  readonly stderr: () => string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

/**
 * Starts `rxlb ...args`. Consul's environment variables are removed, so that only the
 * arguments say where Consul is.
 */
export function startCli(args: readonly string[]): CliProcess {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('CONSUL_')) delete env[name];
  const child = spawn(process.execPath, [bundled(MAIN), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      running.delete(child);
      if (partial !== '') lines.push(partial);
      resolve(code);
    });
  });
  return { lines, stderr: () => stderr, exited, kill: (signal) => child.kill(signal) };
}

/** Runs `rxlb ...args` to its end. */
export async function runCli(args: readonly string[]) {
  const cli = startCli(args);
  const code = await cli.exited;
  return { code, stdout: cli.lines.join('\n'), stderr: cli.stderr() };
}
