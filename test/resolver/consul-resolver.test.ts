/**
 * What a channel hears of a `consul:` target: for a bad one, the target and what is wrong with
 * it; for a good one, Consul's sets as endpoints, and nothing once the channel destroyed it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type ConsulResolverClass,
  consulResolverClass,
} from '../../src/resolver/consul-resolver.js';
import type { ResolverTarget } from '../../src/resolver/target.js';
import { ConsulTestServer } from '../../src/testing/index.js';

/** A grpc-js stand-in whose StatusOr is the plain value or error it was built of. */
const grpc = {
  experimental: {
    registerResolver: () => {},
    statusOrFromValue: (value: unknown) => ({ ok: true, value }),
    statusOrFromError: (error: { code: number; details: string }) => ({ ok: false, error }),
  },
};

const Resolver: ConsulResolverClass = consulResolverClass(grpc, {}, 'registerConsulResolver()');

/** The details of the error the resolver reports for `target` when the channel resolves. */
async function failure(target: ResolverTarget): Promise<string> {
  const reports: unknown[] = [];
  const resolver = new Resolver(target, (result) => reports.push(result) > 0, {});
  resolver.updateResolution();
  await vi.waitFor(() => expect(reports).toHaveLength(1));
  resolver.destroy();
  const [report] = reports as { ok: boolean; error: { code: number; details: string } }[];
  expect(report?.ok).toBe(false);
  expect(report?.error.code).toBe(14); // UNAVAILABLE
  return report?.error.details ?? '';
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('a bad consul: target', () => {
  it("names the target and its port, not the watch's API, for a port out of range", async () => {
    const details = await failure({
      scheme: 'consul',
      authority: '127.0.0.1:99999',
      path: 'greeter',
    });
    expect(details).toBe(
      `bad target consul://127.0.0.1:99999/greeter: the authority must be Consul's host:port, with a port from 1 to 65535, got "127.0.0.1:99999"`,
    );
    expect(details).not.toContain('sharedConsulInstances$');
  });

  it('suggests the parameter an unknown one is a slip of', async () => {
    const details = await failure({ scheme: 'consul', path: 'greeter?tags=v2' });
    expect(details).toBe(
      'bad target consul:greeter: unknown parameter "tags" (did you mean "tag"?)',
    );
  });

  it('names registerConsulResolver(), the API the user called, for a bad variable', async () => {
    vi.stubEnv('CONSUL_HTTP_SSL', 'maybe');
    const details = await failure({ scheme: 'consul', path: 'greeter' });
    expect(details).toBe(
      'bad target consul:greeter: registerConsulResolver(): CONSUL_HTTP_SSL must be true or false, got "maybe"',
    );
  });
});

describe('a consul: target, resolved', () => {
  let consul: ConsulTestServer;
  afterEach(() => consul?.stop());

  /** A resolver of `greeter` at the test server, and every report it made so far. */
  async function resolving() {
    consul = await new ConsulTestServer().start();
    const Watching = consulResolverClass(
      grpc,
      { backoff: { initialMs: 10, maxMs: 10 }, minIntervalMs: 0 },
      'registerConsulResolver()',
    );
    const reports: { ok: boolean; value?: unknown; error?: { details: string } }[] = [];
    const target = { scheme: 'consul', authority: consul.address, path: 'greeter?wait=50ms' };
    const resolver = new Watching(target, (result) => reports.push(result as never) > 0, {});
    return { resolver, reports };
  }
  const register = (id: string, port: number) =>
    consul.registerService({ Name: 'greeter', ID: id, Address: '127.0.0.1', Port: port });

  it('reports each set as endpoints, nothing more, and nothing while Consul fails after its first answer', async () => {
    const { resolver, reports } = await resolving();
    register('g1', 50051);
    resolver.updateResolution();
    await vi.waitFor(() => expect(reports).toHaveLength(1));
    register('g2', 50052);
    await vi.waitFor(() => expect(reports).toHaveLength(2));
    // grpc-js keeps the endpoints it has, as rxlb keeps its last set: no error reaches it
    consul.inject({ kind: 'status', status: 500, count: 5 });
    await vi.waitFor(() => expect(consul.requests.filter((r) => r.status === 500)).toHaveLength(3));
    resolver.destroy();
    expect(reports).toEqual([
      { ok: true, value: [{ addresses: [{ host: '127.0.0.1', port: 50051 }] }] },
      {
        ok: true,
        value: [
          { addresses: [{ host: '127.0.0.1', port: 50051 }] },
          { addresses: [{ host: '127.0.0.1', port: 50052 }] },
        ],
      },
    ]);
  });

  it('reports nothing once destroyed, not even what it had queued before', async () => {
    const reports: unknown[] = [];
    const resolver = new Resolver(
      { scheme: 'consul', path: 'greeter?colour=blue' },
      (result) => reports.push(result) > 0,
      {},
    );
    resolver.updateResolution(); // the bad target's report waits for a microtask
    resolver.destroy();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(reports).toEqual([]);
  });

  it('hides user info of the authority in the target it names', async () => {
    const details = await failure({
      scheme: 'consul',
      authority: 'user:s3cr3t@127.0.0.1:8500',
      path: 'greeter',
    });
    expect(details).toMatch(/^bad target consul:\/\/…\/greeter: /);
    expect(details).not.toContain('s3cr3t');
  });

  it('needs grpc-js 1.14.0 or later, and says so, naming the target', () => {
    // grpc-js before 1.14.0 passes an object of callbacks, not a function
    const listener = { onSuccessfulResolution: () => {}, onError: () => {} };
    expect(
      () => new Resolver({ scheme: 'consul', path: 'greeter' }, listener as never, {}),
    ).toThrow(
      new TypeError(
        "rxlb's consul resolver needs @grpc/grpc-js 1.14.0 or later (target consul:greeter)",
      ),
    );
  });
});
