/** What a channel hears of a bad `consul:` target: the target, and what is wrong with it. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type ConsulResolverClass,
  consulResolverClass,
} from '../../src/resolver/consul-resolver.js';
import type { ResolverTarget } from '../../src/resolver/target.js';

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
