/** registerInstance() announces a gRPC server to Consul, with a gRPC health check. */
import { hostname } from 'node:os';
import { createServer, type Server } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConsulError } from '../../src/consul/errors.js';
import { consulInstances$ } from '../../src/consul/instances.js';
import {
  type RegisterInstanceOptions,
  registerInstance,
} from '../../src/consul/register-instance.js';
import type { InstanceSet } from '../../src/instance.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { record } from '../support/observe.js';
import { startRecordingProxy } from '../support/recording-proxy.js';

let consul: ConsulTestServer;
let grpc: Server;
let health: HealthState;
let port: number;

beforeEach(async () => {
  consul = await new ConsulTestServer().start();
  grpc = createServer();
  health = HealthState();
  grpc.add(HealthDefinition, HealthServiceImpl(health));
  port = await grpc.listen('127.0.0.1:0');
});
afterEach(async () => {
  grpc.forceShutdown();
  await consul.stop();
});

const options = (extra: Partial<RegisterInstanceOptions> = {}): RegisterInstanceOptions => ({
  name: 'greeter',
  address: '127.0.0.1',
  port,
  consul: { address: consul.address },
  check: { interval: 30 },
  ...extra,
});

async function agentService(id: string): Promise<Record<string, unknown> | undefined> {
  const response = await fetch(`http://${consul.address}/v1/agent/services`);
  return ((await response.json()) as Record<string, Record<string, unknown>>)[id];
}

describe('registerInstance', () => {
  it('registers id, name, address, port, tags, meta and weights', async () => {
    const registration = await registerInstance(
      options({ id: 'g1', tags: ['v2'], meta: { zone: 'a' }, weights: { passing: 5 } }),
    );
    expect(registration).toMatchObject({ id: 'g1', name: 'greeter' });
    expect(await agentService('g1')).toMatchObject({
      Service: 'greeter',
      Address: '127.0.0.1',
      Port: port,
      Tags: ['v2'],
      Meta: { zone: 'a' },
      Weights: { Passing: 5, Warning: 1 },
    });
    await registration.deregister();
  });

  it('sends the agent exactly this registration, every option given', async () => {
    const proxy = await startRecordingProxy(consul.address);
    try {
      const registration = await registerInstance(
        options({
          id: 'g1',
          tags: ['v2', 'eu'],
          meta: { zone: 'a' },
          weights: { passing: 5, warning: 2 },
          consul: { address: proxy.address },
          check: {
            interval: '10s',
            timeout: 2_000,
            deregisterCriticalServiceAfter: '1m',
            service: 'greeter.v1.Greeter',
            tls: true,
          },
        }),
      );
      await registration.deregister();
      const [register, deregister] = proxy.requests;
      expect([register?.method, register?.url]).toEqual(['PUT', '/v1/agent/service/register']);
      expect(JSON.parse(register?.body ?? '')).toEqual({
        Name: 'greeter',
        ID: 'g1',
        Address: '127.0.0.1',
        Port: port,
        Tags: ['v2', 'eu'],
        Meta: { zone: 'a' },
        Weights: { Passing: 5, Warning: 2 },
        Check: {
          CheckID: 'service:g1',
          Name: `gRPC health of greeter at 127.0.0.1:${port}`,
          GRPC: `127.0.0.1:${port}/greeter.v1.Greeter`,
          GRPCUseTLS: true,
          Interval: '10000ms',
          Timeout: '2000ms',
          DeregisterCriticalServiceAfter: '60000ms',
        },
      });
      expect([deregister?.method, deregister?.url]).toEqual([
        'PUT',
        '/v1/agent/service/deregister/g1',
      ]);
    } finally {
      await proxy.close();
    }
  });

  it('sends the defaults when given only a name and a port, and no check with check: false', async () => {
    const proxy = await startRecordingProxy(consul.address);
    try {
      const bodies: unknown[] = [];
      for (const check of [undefined, false] as const) {
        const registration = await registerInstance({
          name: 'greeter',
          port,
          consul: { address: proxy.address },
          ...(check === false && { check }),
        });
        await registration.deregister();
        bodies.push(JSON.parse(proxy.requests.at(-2)?.body ?? ''));
      }
      const id = `greeter-${hostname().replace(/[^A-Za-z0-9._-]+/g, '-')}-${port}`;
      const service = {
        Name: 'greeter',
        ID: id,
        Port: port,
        Tags: [],
        Meta: {},
        Weights: { Passing: 1, Warning: 1 },
      };
      expect(bodies).toEqual([
        {
          ...service,
          Check: {
            CheckID: `service:${id}`,
            Name: `gRPC health of greeter at 127.0.0.1:${port}`,
            GRPC: `127.0.0.1:${port}`,
            GRPCUseTLS: false,
            Interval: '10000ms',
            Timeout: '5000ms',
            DeregisterCriticalServiceAfter: '60000ms',
          },
        },
        service,
      ]);
    } finally {
      await proxy.close();
    }
  });

  it('adds a gRPC health check that Consul runs, so the instance passes and fails with it', async () => {
    // whenNobody: false, so that the empty set the failing check leads to is served at once
    const seen = record(
      consulInstances$('greeter', { address: consul.address, wait: '2s', whenNobody: false }),
    );
    const registration = await registerInstance(options());
    const addresses = (set: InstanceSet | undefined) => [...(set?.keys() ?? [])];
    await vi.waitFor(() => expect(addresses(seen.values.at(-1))).toEqual([`127.0.0.1:${port}`]));
    health.setStatus('unhealthy');
    await vi.waitFor(() => expect(addresses(seen.values.at(-1))).toEqual([]));
    health.setStatus('healthy');
    await vi.waitFor(() => expect(addresses(seen.values.at(-1))).toEqual([`127.0.0.1:${port}`]));
    seen.subscription.unsubscribe();
    await registration.deregister();
  });

  it('names the default id after the service, address and port', async () => {
    const registration = await registerInstance(options({ check: false }));
    expect(registration.id).toBe(`greeter-127.0.0.1-${port}`);
    await registration.deregister();
  });

  it("names it after this machine without an address, not a placeholder 'node'", async () => {
    const { address: _, ...rest } = options({ check: false });
    const registration = await registerInstance(rest);
    const host = hostname().replace(/[^A-Za-z0-9._-]+/g, '-');
    expect(registration.id).toBe(`greeter-${host}-${port}`);
    await registration.deregister();
  });

  it('sends an IPv6 address to Consul bare, and has the check dial it in brackets', async () => {
    const registration = await registerInstance(options({ address: '[::1]', id: 'v6' }));
    expect(await agentService('v6')).toMatchObject({ Address: '::1', Port: port });
    const checks = (await (
      await fetch(`http://${consul.address}/v1/agent/checks`)
    ).json()) as Record<string, { Name: string }>;
    expect(checks['service:v6']?.Name).toContain(`[::1]:${port}`);
    await registration.deregister();
  });

  it('deregisters once, on deregister() or when an `await using` scope ends', async () => {
    {
      await using registration = await registerInstance(options({ id: 'scoped' }));
      expect(await agentService(registration.id)).toBeDefined();
    }
    expect(await agentService('scoped')).toBeUndefined();
    const registration = await registerInstance(options({ id: 'twice' }));
    await Promise.all([registration.deregister(), registration.deregister()]);
    await registration.deregister();
    const deregistrations = consul.requests.filter((r) => r.path.endsWith('/deregister/twice'));
    expect(deregistrations).toHaveLength(1);
  });

  it('deregisters an instance Consul already removed without failing, and fails on other errors', async () => {
    const reaped = await registerInstance(options({ id: 'reaped', check: false }));
    await fetch(`http://${consul.address}/v1/agent/service/deregister/reaped`, { method: 'PUT' });
    await expect(reaped.deregister()).resolves.toBeUndefined();

    const refused = await registerInstance(options({ id: 'refused', check: false }));
    consul.inject({ kind: 'status', status: 500 });
    await expect(refused.deregister()).rejects.toMatchObject({ statusCode: 500 });
  });

  it('sends the ACL token in the X-Consul-Token header only', async () => {
    await consul.stop();
    consul = await new ConsulTestServer({ acl: { tokens: { 'w-token': 'write' } } }).start();
    const registration = await registerInstance(
      options({ consul: { address: consul.address, token: 'w-token' }, check: false }),
    );
    await registration.deregister();
    for (const request of consul.requests) {
      expect(request.headers['x-consul-token']).toBe('w-token');
      expect(request.query).not.toContain('w-token');
    }
  });

  it('rejects with a ConsulError naming the instance when the agent refuses', async () => {
    consul.inject({ kind: 'status', status: 500 });
    const failure = registerInstance(options({ id: 'g9' }));
    await expect(failure).rejects.toBeInstanceOf(ConsulError);
    await expect(failure).rejects.toMatchObject({ code: 'ERR_CONSUL_HTTP', statusCode: 500 });
    await expect(failure).rejects.toThrow(/registration of "g9"/);
  });

  it.each<[string, Partial<RegisterInstanceOptions>, RegExp]>([
    ['an empty name', { name: '' }, /option "name"/],
    ['a port out of range', { port: 70_000 }, /option "port"/],
    ['a malformed address', { address: 'not a host' }, /option "address"/],
    ['tags that are not strings', { tags: [1] as unknown as string[] }, /option "tags"/],
    ['meta that is not an object', { meta: 'zone=a' as never }, /option "meta"/],
    ['meta with a value that is not a string', { meta: { zone: 1 } as never }, /option "meta"/],
    ['a check that is neither an object nor false', { check: true as never }, /option "check"/],
    ['a weight below 1', { weights: { passing: 0 } }, /option "weights.passing"/],
    ['a bad check interval', { check: { interval: 'soon' } }, /option "check.interval"/],
    ['a check service that is not a string', { check: { service: 1 as never } }, /"check.service"/],
    ['a check tls that is not a boolean', { check: { tls: 'yes' as never } }, /"check.tls"/],
    ['an unknown check option', { check: { ttl: '5s' } as never }, /unknown option "check.ttl"/],
    [
      'an unknown weight',
      { weights: { critical: 1 } as never },
      /unknown option "weights.critical"/,
    ],
    ['a zero request timeout', { requestTimeout: 0 }, /option "requestTimeout"/],
    ['a signal that is not an AbortSignal', { signal: {} as never }, /option "signal"/],
    ['a token that is not a string', { consul: { token: 1 as never } }, /option "consul.token"/],
    [
      'an unknown option',
      { colour: 'red' } as Partial<RegisterInstanceOptions>,
      /unknown option "colour"/,
    ],
  ])('throws a TypeError at once for %s', (_, extra, message) => {
    expect(() => registerInstance(options(extra))).toThrow(TypeError);
    expect(() => registerInstance(options(extra))).toThrow(message);
    // and the whole message, as a user reads it (test/consul/__snapshots__/)
    expect(() => registerInstance(options(extra))).toThrowErrorMatchingSnapshot();
  });

  it('names a required option that is missing', () => {
    expect(() => registerInstance({ port: 50051 } as never)).toThrow(
      'registerInstance(): missing option "name" (a non-empty string)',
    );
    expect(() => registerInstance({ name: 'greeter' } as never)).toThrow(
      'registerInstance(): missing option "port" (an integer from 1 to 65535)',
    );
  });

  it('throws a TypeError at once when the options are not an object', () => {
    expect(() => registerInstance(null as never)).toThrow('options must be an object');
    expect(() => registerInstance(undefined as never)).toThrow(
      'registerInstance(): options must be an object',
    );
  });
});
