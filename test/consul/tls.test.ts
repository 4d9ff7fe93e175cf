/** HTTPS to Consul: the CA that signs its certificate, and client certificates (mutual TLS). */
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import type { ConsulFailure, ConsulInstancesOptions } from '../../src/consul/options.js';
import { ConsulTestServer, type ConsulTestServerTls } from '../../src/testing/index.js';
import { record } from '../support/observe.js';
import { issue, makeCa, type Pem, pemFiles } from '../support/tls.js';

const SERVICE = 'greeter';
let ca: Pem;
let serverPem: Pem;
let clientPem: Pem;
let strangerCa: Pem;
let files: ReturnType<typeof pemFiles>;
let server: ConsulTestServer | undefined;

beforeAll(async () => {
  [ca, strangerCa] = await Promise.all([makeCa(), makeCa('a CA nobody trusts')]);
  [serverPem, clientPem] = await Promise.all([issue(ca, 'server'), issue(ca, 'client')]);
  files = pemFiles({ ca: ca.cert, cert: clientPem.cert, key: clientPem.key });
});
afterAll(() => files.remove());
afterEach(async () => {
  vi.unstubAllEnvs();
  await server?.stop();
  server = undefined;
});

async function startHttps(extra: Partial<ConsulTestServerTls> = {}): Promise<ConsulTestServer> {
  server = await new ConsulTestServer({ tls: { ...serverPem, ...extra } }).start();
  server.registerService({ Name: SERVICE, ID: 'g1', Port: 50051, Address: '127.0.0.1' });
  return server;
}

const firstSet = (options: ConsulInstancesOptions) =>
  firstValueFrom(consulInstances$(SERVICE, options)).then((set) => [...set.keys()]);

/** Subscribes until two attempts failed; returns the failures and what the stream did. */
async function failingAttempts(options: ConsulInstancesOptions) {
  const failures: ConsulFailure[] = [];
  const seen = record(
    consulInstances$(SERVICE, {
      backoff: { initialMs: 10, maxMs: 20 },
      onError: (f) => failures.push(f),
      ...options,
    }),
  );
  await vi.waitFor(() => expect(failures.length).toBeGreaterThanOrEqual(2));
  seen.subscription.unsubscribe();
  return { failures, values: seen.values, error: seen.error };
}

describe('consulInstances$ over HTTPS', () => {
  it('serves https:// in the test server address', async () => {
    expect((await startHttps()).address).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('refuses a certificate signed by an unknown CA with ERR_CONSUL_TLS, and keeps retrying', async () => {
    const { address } = await startHttps();
    const { failures, values, error } = await failingAttempts({
      address,
      tls: { ca: strangerCa.cert },
    });
    expect(error).toBeUndefined();
    // Only the empty set that says it could not ask (see consulInstances$).
    expect(values.map((set) => set.size)).toEqual([0]);
    for (const { error: e } of failures) {
      expect(e.code).toBe('ERR_CONSUL_TLS');
      expect(e.message).toContain(`health query for "${SERVICE}" at ${address} failed TLS`);
    }
    expect(failures.map((f) => f.attempt)).toEqual(failures.map((_, i) => i + 1));
  });

  it("refuses a certificate that Node's default CAs do not know", async () => {
    const { address } = await startHttps();
    const { failures } = await failingAttempts({ address });
    expect(failures[0]?.error.code).toBe('ERR_CONSUL_TLS');
  });

  it('trusts the CA given in tls.ca', async () => {
    const { address } = await startHttps();
    expect(await firstSet({ address, tls: { ca: ca.cert } })).toEqual(['127.0.0.1:50051']);
  });

  it('trusts the CA read from CONSUL_CACERT', async () => {
    const { address } = await startHttps();
    vi.stubEnv('CONSUL_CACERT', files.paths.ca ?? '');
    expect(await firstSet({ address })).toEqual(['127.0.0.1:50051']);
  });
});

describe('consulInstances$ with mutual TLS', () => {
  it('presents the client certificate given in tls.cert and tls.key', async () => {
    const { address } = await startHttps({ ca: ca.cert, requestCert: true });
    const tls = { ca: ca.cert, cert: clientPem.cert, key: clientPem.key };
    expect(await firstSet({ address, tls })).toEqual(['127.0.0.1:50051']);
  });

  it('presents the client certificate read from CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY', async () => {
    const { address } = await startHttps({ ca: ca.cert, requestCert: true });
    vi.stubEnv('CONSUL_CACERT', files.paths.ca ?? '');
    vi.stubEnv('CONSUL_CLIENT_CERT', files.paths.cert ?? '');
    vi.stubEnv('CONSUL_CLIENT_KEY', files.paths.key ?? '');
    expect(await firstSet({ address })).toEqual(['127.0.0.1:50051']);
  });

  it('is refused without a client certificate, with ERR_CONSUL_TLS', async () => {
    const { address } = await startHttps({ ca: ca.cert, requestCert: true });
    const { failures, error } = await failingAttempts({ address, tls: { ca: ca.cert } });
    expect(error).toBeUndefined();
    expect(failures[0]?.error.code).toBe('ERR_CONSUL_TLS');
    expect(server?.requests).toHaveLength(0);
  });

  it('is refused with a client certificate that another CA signed', async () => {
    const { address } = await startHttps({ ca: ca.cert, requestCert: true });
    const stranger = await issue(strangerCa, 'client');
    const tls = { ca: ca.cert, cert: stranger.cert, key: stranger.key };
    const { failures, error } = await failingAttempts({ address, tls });
    expect(error).toBeUndefined();
    // Consul (Go) refuses in the handshake with a TLS alert; Node's HTTPS server, which the
    // test server is, checks the certificate after the handshake and resets the connection.
    expect(['ERR_CONSUL_TLS', 'ERR_CONSUL_UNREACHABLE']).toContain(failures[0]?.error.code);
    expect(server?.requests).toHaveLength(0);
  });
});

describe('ConsulTestServer tls option', () => {
  it.each([
    [{ cert: 'x' }, /"tls.key"/],
    [{ key: 'x', cert: '' }, /"tls.cert"/],
    [{ key: 'x', cert: 'y', requestCert: 'yes' }, /"tls.requestCert"/],
  ])('rejects %j with a TypeError naming the option', (tls, message) => {
    expect(() => new ConsulTestServer({ tls: tls as never })).toThrow(message);
  });
});
