/** The ACL token travels in the X-Consul-Token header and nowhere else. */
import { firstValueFrom } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import type { ConsulFailure, ConsulStatus } from '../../src/consul/options.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { record } from '../support/observe.js';

const SERVICE = 'greeter';
const TOKEN = 'b1gs3cr3t-7f0e-4c1d';
let server: ConsulTestServer;

beforeEach(async () => {
  server = await new ConsulTestServer({ acl: { tokens: { [TOKEN]: 'read' } } }).start();
  server.registerService({ Name: SERVICE, ID: 'g1', Port: 50051, Address: '127.0.0.1' });
});
afterEach(() => {
  vi.unstubAllEnvs();
  return server.stop();
});

describe('consulInstances$ and the ACL token', () => {
  it('sends the token only in the X-Consul-Token header', async () => {
    const set = await firstValueFrom(
      consulInstances$(SERVICE, { address: server.address, token: TOKEN }),
    );
    expect(set.size).toBe(1);
    expect(server.requests.length).toBeGreaterThan(0);
    for (const request of server.requests) {
      expect(request.headers['x-consul-token']).toBe(TOKEN);
      expect(request.headers.authorization).toBeUndefined();
      expect(decodeURIComponent(`${request.path}?${request.query}`)).not.toContain(TOKEN);
    }
  });

  it('reads the token from CONSUL_HTTP_TOKEN', async () => {
    vi.stubEnv('CONSUL_HTTP_TOKEN', TOKEN);
    await firstValueFrom(consulInstances$(SERVICE, { address: server.address }));
    expect(server.requests.at(-1)?.headers['x-consul-token']).toBe(TOKEN);
  });

  it('reports a rejected token as a 403 failure that does not contain the token', async () => {
    const failures: ConsulFailure[] = [];
    const statuses: ConsulStatus[] = [];
    const wrong = `${TOKEN}-revoked`;
    const seen = record(
      consulInstances$(SERVICE, {
        address: server.address,
        token: wrong,
        backoff: { initialMs: 10, maxMs: 10 },
        onError: (f) => failures.push(f),
        onStatus: (s) => statuses.push(s),
      }),
    );
    await vi.waitFor(() => expect(failures.length).toBeGreaterThanOrEqual(2));
    seen.subscription.unsubscribe();
    expect(seen.error).toBeUndefined();
    expect(failures[0]?.error).toMatchObject({ code: 'ERR_CONSUL_HTTP', statusCode: 403 });
    expect(failures[0]?.error.message).toMatch(/403 ACL not found/);
    const everything = [
      ...failures.map((f) => `${f.error.message} ${f.error.stack} ${String(f.error.cause)}`),
      JSON.stringify(statuses.map((s) => ({ ...s, lastError: s.lastError?.message }))),
    ].join('\n');
    expect(everything).not.toContain(TOKEN);
  });
});
