/**
 * The ACL token travels in the X-Consul-Token header and nowhere else: not in a URL, an
 * error (message, cause chain, stack, as deep as a logger would print it), a status report,
 * or anything written to the console, stdout or stderr, for every kind of failure.
 */
import { inspect } from 'node:util';
import { firstValueFrom } from 'rxjs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ConsulConnectionOptions } from '../../src/consul/connection.js';
import { ConsulError } from '../../src/consul/errors.js';
import { consulInstances$ } from '../../src/consul/instances.js';
import type { ConsulFailure, ConsulStatus } from '../../src/consul/options.js';
import { registerInstance } from '../../src/consul/register-instance.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { freePort } from '../support/net.js';
import { record } from '../support/observe.js';
import { issue, makeCa, type Pem } from '../support/tls.js';

const SERVICE = 'greeter';
const TOKEN = 'b1gs3cr3t-7f0e-4c1d-a9e2';
let serverPem: Pem;
const servers: ConsulTestServer[] = [];

beforeAll(async () => {
  serverPem = await issue(await makeCa(), 'server');
});
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function start(options: ConstructorParameters<typeof ConsulTestServer>[0] = {}) {
  const server = await new ConsulTestServer(options).start();
  servers.push(server);
  return server;
}

/** Where the failure happens, and the connection options that reach it with the token. */
interface Scenario {
  readonly consul: ConsulConnectionOptions;
  /** The server that received the requests, when one did. */
  readonly server: ConsulTestServer | undefined;
  readonly code: ConsulError['code'];
}

const scenarios: [string, () => Promise<Scenario>][] = [
  [
    '403 for an unknown token',
    async () => {
      const server = await start({ acl: { tokens: { 'another-token': 'write' } } });
      return { consul: { address: server.address }, server, code: 'ERR_CONSUL_HTTP' };
    },
  ],
  [
    '500 whose body echoes the token',
    async () => {
      const server = await start();
      server.inject({ kind: 'status', status: 500, body: `bad token ${TOKEN}`, count: 99 });
      return { consul: { address: server.address }, server, code: 'ERR_CONSUL_HTTP' };
    },
  ],
  [
    'a refused connection',
    async () => ({
      consul: { address: `127.0.0.1:${await freePort()}` },
      server: undefined,
      code: 'ERR_CONSUL_UNREACHABLE',
    }),
  ],
  [
    'a timeout',
    async () => {
      const server = await start();
      server.inject({ kind: 'hang', count: 99 });
      return { consul: { address: server.address }, server, code: 'ERR_CONSUL_TIMEOUT' };
    },
  ],
  [
    'a TLS failure',
    async () => {
      const server = await start({ tls: serverPem });
      return { consul: { address: server.address }, server, code: 'ERR_CONSUL_TLS' };
    },
  ],
];

/** Records every console call and every write to stdout and stderr. */
function captureOutput(): () => string {
  const written: unknown[][] = [];
  const keep = (...args: unknown[]) => {
    written.push(args);
  };
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    vi.spyOn(console, method).mockImplementation(keep);
  }
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((...args: unknown[]) => {
      keep(...args);
      return true;
    });
  }
  return () => written.map((args) => inspect(args, { depth: null })).join('\n');
}

/** An error as a logger that prints everything would print it. */
function printed(error: unknown): string {
  return [
    inspect(error, { depth: null, showHidden: true }),
    error instanceof Error ? `${error.message}\n${error.stack}` : '',
    JSON.stringify(error),
  ].join('\n');
}

function expectTokenSentOnlyInHeader(server: ConsulTestServer | undefined): void {
  for (const request of server?.requests ?? []) {
    expect(request.headers['x-consul-token']).toBe(TOKEN);
    expect(decodeURIComponent(`${request.path}?${request.query}`)).not.toContain(TOKEN);
  }
}

describe.each(scenarios)('the ACL token, on %s', (_, scenario) => {
  it('stays out of consulInstances$ failures, statuses and output', async () => {
    const { consul, server, code } = await scenario();
    const output = captureOutput();
    const failures: ConsulFailure[] = [];
    const statuses: ConsulStatus[] = [];
    const seen = record(
      consulInstances$(SERVICE, {
        ...consul,
        token: TOKEN,
        wait: '10ms',
        backoff: { initialMs: 5, maxMs: 10 },
        onError: (f) => failures.push(f),
        onStatus: (s) => statuses.push(s),
      }),
    );
    await vi.waitFor(() => expect(failures.length).toBeGreaterThanOrEqual(1), { timeout: 10_000 });
    seen.subscription.unsubscribe();

    expect(failures[0]?.error.code).toBe(code);
    expectTokenSentOnlyInHeader(server);
    const everything = [
      ...failures.map((f) => printed(f.error)),
      inspect(statuses, { depth: null, showHidden: true }),
      JSON.stringify(statuses),
      output(),
    ].join('\n');
    expect(everything).not.toContain(TOKEN);
    expect(output()).toBe(''); // rxlb writes nothing itself
  });

  it('stays out of registerInstance errors and output', async () => {
    const { consul, server, code } = await scenario();
    const output = captureOutput();
    const failure = await registerInstance({
      name: SERVICE,
      port: 50051,
      check: false,
      consul: { ...consul, token: TOKEN },
      requestTimeout: 200,
    }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ConsulError);
    expect((failure as ConsulError).code).toBe(code);
    expectTokenSentOnlyInHeader(server);
    expect(`${printed(failure)}\n${output()}`).not.toContain(TOKEN);
    expect(output()).toBe('');
  });
});

describe('the ACL token, when all goes well', () => {
  it('stays out of statuses and output, and is sent in the header', async () => {
    const server = await start({ acl: { tokens: { [TOKEN]: 'read' } } });
    server.registerService({ Name: SERVICE, ID: 'g1', Port: 50051, Address: '127.0.0.1' });
    const output = captureOutput();
    const statuses: ConsulStatus[] = [];
    const set = await firstValueFrom(
      consulInstances$(SERVICE, {
        address: server.address,
        token: TOKEN,
        onStatus: (s) => statuses.push(s),
      }),
    );
    expect(set.size).toBe(1);
    expectTokenSentOnlyInHeader(server);
    expect(inspect(statuses, { depth: null, showHidden: true })).not.toContain(TOKEN);
    expect(output()).toBe('');
  });
});
