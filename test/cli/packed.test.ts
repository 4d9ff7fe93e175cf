/**
 * The published package, as a user gets it: `npm pack` (which builds), then `npm install` of
 * the tarball into an empty project, then `npx rxlb watch`. Slow (a build and an install:
 * tens of seconds), so it runs once, with generous limits.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MINUTES = 60_000;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

let workdir: string;
let project: string;
let consul: ConsulTestServer;

/** Runs a command to its end, with Consul's environment variables removed. */
async function exec(file: string, args: string[], cwd: string) {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('CONSUL_')) delete env[name];
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), 'rxlb-packed-'));
  const packed = await exec(npm, ['pack', '--pack-destination', workdir], ROOT);
  expect(packed.code, packed.stderr).toBe(0);
  const tarball = (await readdir(workdir)).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack wrote no tarball in ${workdir}`);
  project = join(workdir, 'project');
  await mkdir(project);
  await writeFile(join(project, 'package.json'), '{ "name": "try-rxlb", "private": true }\n');
  const installed = await exec(
    npm,
    ['install', join(workdir, tarball), '--prefer-offline', '--no-audit', '--no-fund'],
    project,
  );
  expect(installed.code, installed.stderr).toBe(0);
  consul = await new ConsulTestServer().start();
}, 5 * MINUTES);

afterAll(async () => {
  await consul?.stop();
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

describe('the packed package, installed in an empty project', () => {
  it(
    'runs `npx rxlb watch greeter --address …`',
    async () => {
      consul.registerService({ Name: 'greeter', ID: 'g1', Address: '127.0.0.1', Port: 50051 });
      const args = [
        '--no',
        'rxlb',
        'watch',
        'greeter',
        '--address',
        consul.address,
        '--once',
        '--json',
      ];
      const { code, stdout, stderr } = await exec(npx, args, project);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(JSON.parse(stdout)).toMatchObject({
        event: 'current',
        instances: [{ address: '127.0.0.1:50051' }],
      });
    },
    MINUTES,
  );

  it(
    'loads registerConsulResolver from both the ESM and the CommonJS entry',
    async () => {
      const esm = "import('rxlb').then((m) => console.log(typeof m.registerConsulResolver))";
      const cjs = "console.log(typeof require('rxlb').registerConsulResolver)";
      expect((await exec(process.execPath, ['-e', esm], project)).stdout).toBe('function\n');
      expect((await exec(process.execPath, ['-e', cjs], project)).stdout).toBe('function\n');
    },
    MINUTES,
  );
});
