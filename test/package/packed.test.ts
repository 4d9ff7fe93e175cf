/**
 * The published package, as users get it: `npm pack` of dist/ (built first if stale), then
 * the tarball installed into empty projects (alone; with the lowest peers; as README's
 * quickstart says, where examples/quickstart.ts runs), and rxlb installed from its folder by
 * an app with its own copies of grpc-js and nice-grpc. Slow (three installs: tens of seconds,
 * the quickstart's beside the others), so it packs once, with generous limits, and stays out
 * of `npm run test:fast`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  copyFile,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../../bench/rxlb.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { issue, makeCa } from '../support/tls.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = fileURLToPath(new URL('fixtures/', import.meta.url));
const MINUTES = 60_000;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/** The lowest versions of the peer ranges in package.json, tested here. */
const LOWEST_PEERS = {
  '@grpc/grpc-js': '1.14.0',
  rxjs: '7.8.0',
  'nice-grpc-common': '2.0.0',
  'nice-grpc': '2.1.0',
  'nice-grpc-server-health': '2.0.19',
  '@opentelemetry/api': '1.9.0',
};

/**
 * What a newcomer installs to run examples/quickstart.ts, as README's quickstart says: rxlb,
 * its peers, nice-grpc and nice-grpc-server-health (for `rxlb/testing`), and tsx to run it.
 */
const QUICKSTART_INSTALL = ['@grpc/grpc-js', 'rxjs', 'nice-grpc', 'nice-grpc-server-health', 'tsx'];

/**
 * The metrics SDK an app on Node 20 installs beside the lowest api: 2.x, the last for Node 20,
 * wants api `>=1.9.0 <1.10.0`; rxlb's peer range must let both in.
 */
const NODE_20_SDK = '@opentelemetry/sdk-metrics@2';

let workdir: string;
let tarball: string;
/** The quickstart's app, installed beside the other projects' installs. */
let quickstartApp: Promise<string>;

/**
 * Runs a command to its end (killed after `timeout` ms, if given), with Consul's environment
 * variables removed.
 */
async function exec(file: string, args: string[], cwd: string, { timeout = 0 } = {}) {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('CONSUL_')) delete env[name];
  try {
    const options = { cwd, env, timeout, maxBuffer: 16 * 1024 * 1024 };
    const { stdout, stderr } = await run(file, args, options);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** An empty project in `workdir` with `packages` installed by npm. */
async function project(name: string, packages: string[]): Promise<string> {
  const dir = join(workdir, name);
  await mkdir(dir);
  await writeFile(join(dir, 'package.json'), `{ "name": "${name}", "private": true }\n`);
  const installed = await exec(
    npm,
    ['install', ...packages, '--prefer-offline', '--no-audit', '--no-fund'],
    dir,
  );
  expect(installed.code, installed.stderr).toBe(0);
  return dir;
}

/** Runs a program of fixtures/ from `dir` (where its imports resolve) and parses its output. */
async function runFixture(
  name: string,
  dir: string,
  args: string[] = [],
  nodeOptions: string[] = [],
): Promise<unknown> {
  for (const file of [name, 'common.mjs']) await copyFile(join(FIXTURES, file), join(dir, file));
  const { code, stdout, stderr } = await exec(
    process.execPath,
    [...nodeOptions, name, ...args],
    dir,
  );
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(stdout);
}

const versionIn = async (dir: string, name: string) =>
  (
    JSON.parse(await readFile(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), 'rxlb-packed-'));
  // npm test has just built dist/ (and npm pack's prepare would build it again)
  ensureBuilt(() => {});
  const packed = await exec(npm, ['pack', '--ignore-scripts', '--pack-destination', workdir], ROOT);
  expect(packed.code, packed.stderr).toBe(0);
  const name = (await readdir(workdir)).find((file) => file.endsWith('.tgz'));
  if (!name) throw new Error(`npm pack wrote no tarball in ${workdir}`);
  tarball = join(workdir, name);
  quickstartApp = project('quickstart', [tarball, ...QUICKSTART_INSTALL]);
  // awaited by its tests; until then a failure must not count as unhandled
  quickstartApp.catch(() => {});
}, 3 * MINUTES);

afterAll(async () => {
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

describe('the packed package, installed alone in an empty project', () => {
  let dir: string;
  let consul: ConsulTestServer;

  beforeAll(async () => {
    dir = await project('plain', [tarball]);
    consul = await new ConsulTestServer().start();
  }, 3 * MINUTES);

  afterAll(async () => {
    await consul?.stop();
  });

  it('holds the build, the diagrams, README.md and LICENSE, and no sources', async () => {
    const files = await readdir(join(dir, 'node_modules', 'rxlb'), { recursive: true });
    const tops = new Set(files.map((file) => file.split(/[/\\]/)[0]));
    expect([...tops].sort()).toEqual(['LICENSE', 'README.md', 'dist', 'docs', 'package.json']);
    expect(files).toContain(join('dist', 'index.js'));
    expect(files).toContain(join('docs', 'marbles', 'diff-the-first-emission-adds-everything.svg'));
  });

  it('brings its peers grpc-js, rxjs and nice-grpc-common, not its optional ones', () => {
    const has = (name: string) => existsSync(join(dir, 'node_modules', name, 'package.json'));
    expect({
      consul: has('consul'),
      '@grpc/grpc-js': has('@grpc/grpc-js'),
      rxjs: has('rxjs'),
      'nice-grpc-common': has('nice-grpc-common'),
      'nice-grpc': has('nice-grpc'),
      'nice-grpc-server-health': has('nice-grpc-server-health'),
      '@opentelemetry/api': has('@opentelemetry/api'),
    }).toEqual({
      consul: true,
      '@grpc/grpc-js': true,
      rxjs: true,
      'nice-grpc-common': true,
      'nice-grpc': false,
      'nice-grpc-server-health': false,
      '@opentelemetry/api': false,
    });
  });

  it(
    'loads from the ESM and the CommonJS entry without nice-grpc',
    async () => {
      const esm = "import('rxlb').then((m) => console.log(typeof m.createBalancedChannel))";
      const cjs = "console.log(typeof require('rxlb').registerConsulResolver)";
      expect((await exec(process.execPath, ['-e', esm], dir)).stdout).toBe('function\n');
      expect((await exec(process.execPath, ['-e', cjs], dir)).stdout).toBe('function\n');
    },
    MINUTES,
  );

  it(
    'needs nice-grpc, an optional peer, for rxlb/testing only',
    async () => {
      const testing = "import('rxlb/testing').catch((error) => console.log(error.message))";
      const { stdout } = await exec(process.execPath, ['-e', testing], dir);
      expect(stdout).toMatch(/^Cannot find package 'nice-grpc' imported from /);
    },
    MINUTES,
  );

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
      const { code, stdout, stderr } = await exec(npx, args, dir);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(JSON.parse(stdout)).toMatchObject({
        event: 'current',
        instances: [{ address: '127.0.0.1:50051' }],
      });
    },
    MINUTES,
  );
});

describe("a newcomer's app, installed as README's quickstart says", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await quickstartApp;
    // saved as README says: .mts, since npm install leaves the app's package.json untyped
    await copyFile(join(ROOT, 'examples', 'quickstart.ts'), join(dir, 'quickstart.mts'));
  }, 3 * MINUTES);

  it(
    'runs examples/quickstart.ts with `npx tsx quickstart.mts`: six calls over three servers, exit 0 by itself within 30 s',
    async () => {
      const started = performance.now();
      const { code, stdout, stderr } = await exec(npx, ['--no', 'tsx', 'quickstart.mts'], dir, {
        timeout: 30_000,
      });
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(performance.now() - started).toBeLessThan(30_000);
      const lines = stdout.trim().split('\n');
      expect(lines).toHaveLength(6);
      for (const line of lines) expect(line).toMatch(/^hello you, from [123]$/);
      expect(new Set(lines).size).toBe(3);
    },
    MINUTES,
  );
});

describe('the packed package with the lowest versions of its peers, optional ones included, and the metrics SDK of Node 20', () => {
  let dir: string;

  beforeAll(async () => {
    const peers = Object.entries(LOWEST_PEERS).map(([name, version]) => `${name}@${version}`);
    dir = await project('lowest-peers', [tarball, ...peers, NODE_20_SDK]);
  }, 3 * MINUTES);

  it(
    'runs the pipeline from ConsulTestServer to calls retried on another instance',
    async () => {
      for (const [name, version] of Object.entries(LOWEST_PEERS)) {
        expect(await versionIn(dir, name), name).toBe(version);
      }
      // nice-grpc 2.1.0's server, the app's, calls grpc-js's deprecated Server.start()
      const quiet = ['--no-deprecation'];
      const seen = (await runFixture('pipeline-app.mjs', dir, [], quiet)) as { retried: number };
      expect(seen).toEqual({ calls: 10, failed: 0, servedByGood: 10, retried: seen.retried });
      expect(seen.retried).toBeGreaterThan(0);
    },
    MINUTES,
  );
});

describe('an app with its own copy of grpc-js, that installed rxlb from its folder', () => {
  let dir: string;

  /**
   * The app's node_modules as npm makes it for `npm install <rxlb's folder>`: rxlb a symlink
   * to the folder (whose own node_modules rxlb's imports resolve from), next to the app's own
   * copies of `copied`. Their other dependencies are linked from the folder's.
   */
  async function appWithOwnCopies(copied: readonly string[], linked: readonly string[]) {
    const modules = join(dir, 'node_modules');
    const place = async (name: string, how: 'copy' | 'link') => {
      const to = join(modules, name);
      if (existsSync(to)) return;
      await mkdir(dirname(to), { recursive: true });
      const from = join(ROOT, 'node_modules', name);
      if (how === 'copy') await cp(from, to, { recursive: true });
      else await symlink(from, to, 'junction');
    };
    await mkdir(modules, { recursive: true });
    await symlink(ROOT, join(modules, 'rxlb'), 'junction');
    for (const name of copied) await place(name, 'copy');
    for (const name of linked) await place(name, 'link');
    for (const name of [...copied, ...linked]) {
      const { dependencies = {} } = JSON.parse(
        await readFile(join(modules, name, 'package.json'), 'utf8'),
      ) as { dependencies?: Record<string, string> };
      for (const dependency of [name, ...Object.keys(dependencies)])
        await place(dependency, 'link');
    }
    await writeFile(join(dir, 'package.json'), '{ "name": "own-copies", "private": true }\n');
  }

  beforeAll(async () => {
    dir = join(workdir, 'own-copies');
    await appWithOwnCopies(['@grpc/grpc-js', 'nice-grpc', 'nice-grpc-common'], ['rxjs']);
    const ca = await makeCa();
    const server = await issue(ca, 'server', ['echo']);
    await mkdir(join(dir, 'pem'));
    await writeFile(join(dir, 'pem', 'ca.pem'), ca.cert);
    await writeFile(join(dir, 'pem', 'server-cert.pem'), server.cert);
    await writeFile(join(dir, 'pem', 'server-key.pem'), server.key);
  }, MINUTES);

  it(
    'passes its own TLS credentials, and calls that fail with UNAVAILABLE are retried on another instance',
    async () => {
      const ownGrpcJs = "console.log(require.resolve('@grpc/grpc-js'))";
      const mine = (await exec(process.execPath, ['-e', ownGrpcJs], dir)).stdout;
      const rxlbs = (await exec(process.execPath, ['-e', ownGrpcJs], ROOT)).stdout;
      expect(mine.startsWith(dir)).toBe(true);
      expect(rxlbs.startsWith(ROOT)).toBe(true);

      const seen = (await runFixture('own-grpc-js-app.mjs', dir, [join(dir, 'pem')])) as {
        retried: number;
      };
      expect(seen).toEqual({
        channelOfTheAppsGrpcJs: true,
        calls: 10,
        failed: 0,
        servedByGood: 10,
        retried: seen.retried,
        unretriedIsClientError: true,
        unretriedCode: 'UNAVAILABLE',
      });
      expect(seen.retried).toBeGreaterThan(0);
    },
    MINUTES,
  );
});
