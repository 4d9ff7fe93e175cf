/**
 * ConsulTestServer runs script checks only when enabled, as Consul's enable_script_checks:
 * exit codes map to statuses, output is kept, and runs past their timeout or the server's
 * stop are killed with their process group.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CheckDefinition, ConsulTestServer } from '../../src/testing/index.js';
import { consulHttp } from './http.js';

let server: ConsulTestServer | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await server?.stop();
  server = undefined;
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Node starts slowly on a busy machine: allow it seconds, not vi.waitFor's default second. */
const eventually = <T>(assertion: () => T | Promise<T>) =>
  vi.waitFor(assertion, { timeout: 15_000, interval: 20 });

/** A script check running `code` with this Node, so the test needs no shell. */
const node = (code: string): readonly string[] => [process.execPath, '-e', code];

async function start(enableScriptChecks: boolean): Promise<ConsulTestServer> {
  server = await new ConsulTestServer({ enableScriptChecks }).start();
  return server;
}

async function check(consul: ConsulTestServer) {
  const [entry] = await consulHttp(consul)
    .get('/v1/health/service/job')
    .then((a) => a.json<{ Checks: { Status: string; Output: string; Type: string }[] }[]>());
  return entry?.Checks[1];
}

function register(consul: ConsulTestServer, definition: CheckDefinition): void {
  consul.registerService({ Name: 'job', ID: 'job-1', Check: { CheckID: 'script', ...definition } });
}

/** Whether a process with this pid still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A script that writes its pid to a file, then sleeps until killed. */
async function sleeper(): Promise<{ args: readonly string[]; pid: () => Promise<number> }> {
  const dir = await mkdtemp(join(tmpdir(), 'rxlb-script-'));
  dirs.push(dir);
  const file = join(dir, 'pid');
  const code = `require('fs').writeFileSync(${JSON.stringify(file)}, String(process.pid)); setInterval(() => {}, 1000)`;
  return {
    args: node(code),
    pid: async () => {
      let pid = 0;
      await eventually(async () => {
        pid = Number(await readFile(file, 'utf8'));
        expect(pid).toBeGreaterThan(0);
      });
      return pid;
    },
  };
}

describe('ConsulTestServer script checks, disabled (the default)', () => {
  it("refuses a script check over HTTP with Consul's 500 and message", async () => {
    const consul = await start(false);
    const answer = await consulHttp(consul).put('/v1/agent/service/register', {
      Name: 'job',
      Check: { Args: ['true'], Interval: '10s' },
    });
    expect(answer.status).toBe(500);
    expect(answer.text).toBe(
      "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true",
    );
    const standalone = await consulHttp(consul).put('/v1/agent/check/register', {
      Name: 'job',
      Args: ['true'],
      Interval: '10s',
    });
    expect(standalone.status).toBe(500);
    expect((await consulHttp(consul).get('/v1/agent/services')).json()).toEqual({});
  });

  it('refuses it from the test API with a TypeError naming the option', async () => {
    const consul = await start(false);
    expect(() => register(consul, { Args: ['true'], Interval: '10s' })).toThrow(
      /enableScriptChecks/,
    );
  });
});

describe('ConsulTestServer script checks, enabled', () => {
  it.each([
    [0, 'passing'],
    [1, 'warning'],
    [2, 'critical'],
  ])('maps exit code %d to %s and keeps the output', async (code, status) => {
    const consul = await start(true);
    register(consul, {
      Args: node(`console.log('out'); console.error('err'); process.exit(${code})`),
      Interval: '1h',
    });
    // the initial status is critical: wait for the run's output, not only a status
    await eventually(async () => expect((await check(consul))?.Output).toContain('out'));
    const result = await check(consul);
    expect(result?.Status).toBe(status);
    expect(result?.Type).toBe('script');
    expect(result?.Output).toContain('err');
  });

  it('is critical, with the reason, when the command cannot start', async () => {
    const consul = await start(true);
    register(consul, { Args: ['/nonexistent/rxlb-check'], Interval: '1h', Status: 'passing' });
    await eventually(async () => expect((await check(consul))?.Output).toMatch(/ENOENT/));
    expect((await check(consul))?.Status).toBe('critical');
  });

  it("keeps the last 4 KiB of a long output with Consul's note", async () => {
    const consul = await start(true);
    register(consul, {
      Args: node(`process.stdout.write('x'.repeat(10000) + 'END')`),
      Interval: '1h',
    });
    await eventually(async () => expect((await check(consul))?.Status).toBe('passing'));
    const output = (await check(consul))?.Output ?? '';
    expect(output).toMatch(/^Captured 4096 of 10003 bytes\n\.\.\.\n/);
    expect(output.endsWith('END')).toBe(true);
  });

  it('kills a run that outlives its Timeout, and fails the check with what it wrote', async () => {
    const consul = await start(true);
    register(consul, {
      Args: node('console.log(process.pid); setInterval(() => {}, 1000)'),
      Interval: '1h',
      Timeout: '1s',
      Status: 'passing',
    });
    const timedOut = /^Timed out \(1s\) running check\n\n(\d+)/;
    await eventually(async () => expect((await check(consul))?.Output).toMatch(timedOut));
    expect((await check(consul))?.Status).toBe('critical');
    const pid = Number(timedOut.exec((await check(consul))?.Output ?? '')?.[1]);
    await eventually(() => expect(alive(pid)).toBe(false));
  });

  it('kills a running script when the server stops', async () => {
    const consul = await start(true);
    const script = await sleeper();
    register(consul, { Args: script.args, Interval: '1h', Timeout: '1h' });
    const pid = await script.pid();
    expect(alive(pid)).toBe(true);
    await consul.stop();
    server = undefined;
    await eventually(() => expect(alive(pid)).toBe(false));
  });
});
