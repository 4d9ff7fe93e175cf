import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundled } from '../support/bundle.js';
import { useEchoServers } from '../support/fixture.js';
import { startHealthServers } from '../support/health-server.js';

const fixture = useEchoServers(2);
const child = fileURLToPath(new URL('../support/close-child.ts', import.meta.url));

/** Runs the child; resolves with its exit code and output, or fails if it lingers. */
function run(args: readonly string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [bundled(child), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const lingering = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`the child did not exit by itself; it printed ${JSON.stringify(stdout)}`));
    }, 15_000);
    proc.on('exit', (code) => {
      clearTimeout(lingering);
      resolve({ code, stdout });
    });
  });
}

describe('createBalancedChannel: close()', () => {
  it('leaves nothing behind: a process whose only work was the channel exits by itself', async () => {
    const [a, b] = fixture.addresses();
    const { code, stdout } = await run(fixture.addresses());
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([a, b, a, a]);
  });

  it('ends the health checks too: a process whose channel watched its backends health exits by itself', async () => {
    const servers = await startHealthServers(2);
    try {
      const [a, b] = servers.map((server) => server.address);
      const { code, stdout } = await run(['--health', ...servers.map((s) => s.address)]);
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual([a, b]);
      expect(servers.map((server) => server.watches)).toEqual([1, 1]);
      expect(servers.map((server) => server.openWatches)).toEqual([0, 0]);
    } finally {
      for (const server of servers) server.stop();
    }
  });
});
