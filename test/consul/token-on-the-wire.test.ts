/**
 * Secrets as a tested property: over a whole run that touches every kind of request rxlb
 * sends to Consul (a registration and its deregistration, a watch with failover, which asks
 * `/v1/agent/self` and watches another datacenter, a watch whose token comes from
 * `CONSUL_HTTP_TOKEN`, a `consul:` target), every request carries the ACL token in the
 * `X-Consul-Token` header, and nowhere else: not in its URL, its body or another header. The
 * requests are read off the wire by a proxy in front of the test server.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import { registerInstance } from '../../src/consul/register-instance.js';
import { consulResolverClass } from '../../src/resolver/consul-resolver.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { record } from '../support/observe.js';
import {
  type RecordingProxy,
  startRecordingProxy,
  type WireRequest,
} from '../support/recording-proxy.js';

const TOKEN = 's3cr3t-e1b2-47c9-9a0d';
const SERVICE = 'greeter';
const acl = { tokens: { [TOKEN]: 'write' as const } };

let dc1: ConsulTestServer;
let dc2: ConsulTestServer;
let proxy: RecordingProxy;
let requests: readonly WireRequest[] = [];

beforeAll(async () => {
  dc1 = await new ConsulTestServer({ datacenter: 'dc1', acl }).start();
  dc2 = await new ConsulTestServer({ datacenter: 'dc2', acl, wanJoin: dc1 }).start();
  dc2.registerService({ Name: SERVICE, ID: 'g2', Address: '127.0.0.1', Port: 50052 });
  proxy = await startRecordingProxy(dc1.address);
  const consul = { address: proxy.address, token: TOKEN };

  const registered = await registerInstance({
    name: SERVICE,
    port: 50051,
    address: '127.0.0.1',
    consul,
  });

  // a watch with failover: /v1/agent/self for home's name, a loop per datacenter
  const failover = record(consulInstances$(SERVICE, { ...consul, failover: ['dc2'] }));
  // a watch whose token comes from the environment
  vi.stubEnv('CONSUL_HTTP_TOKEN', TOKEN);
  const fromEnv = record(consulInstances$(SERVICE, { address: proxy.address }));
  vi.unstubAllEnvs();
  // a consul: target, resolved as grpc-js would
  const Resolver = consulResolverClass(grpc, { token: TOKEN }, 'registerConsulResolver()');
  const resolutions: unknown[] = [];
  const resolver = new Resolver(
    { scheme: 'consul', authority: proxy.address, path: SERVICE },
    (result) => resolutions.push(result) > 0,
    {},
  );
  resolver.updateResolution();

  const blocking = (dc: string | null) =>
    proxy.requests.filter((r) => {
      const query = new URL(r.url, 'http://consul').searchParams;
      return query.has('index') && query.get('dc') === dc;
    });
  await vi.waitFor(
    () => {
      expect(failover.values.length).toBeGreaterThan(0);
      expect(fromEnv.values.length).toBeGreaterThan(0);
      expect(resolutions.length).toBeGreaterThan(0);
      // the blocking queries after the first answers, home's and dc2's
      expect(blocking(null).length).toBeGreaterThanOrEqual(3);
      expect(blocking('dc2').length).toBeGreaterThanOrEqual(1);
    },
    { timeout: 10_000, interval: 20 },
  );
  failover.subscription.unsubscribe();
  fromEnv.subscription.unsubscribe();
  resolver.destroy();
  await registered.deregister();
  requests = [...proxy.requests];
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await proxy?.close();
  await dc2?.stop();
  await dc1?.stop();
});

describe('the ACL token, over every request of a run', () => {
  it('was sent by every kind of request rxlb makes (an empty list proves nothing)', () => {
    const kinds = new Set(
      requests.map((r) => {
        const url = new URL(r.url, 'http://consul');
        const blocking = url.searchParams.has('index') ? ' (blocking)' : '';
        const dc = url.searchParams.has('dc') ? ` dc=${url.searchParams.get('dc')}` : '';
        return `${r.method} ${url.pathname.replace(/\/[^/]+$/, '/:id')}${dc}${blocking}`;
      }),
    );
    expect([...kinds].sort()).toEqual(
      [
        'GET /v1/agent/:id', // /v1/agent/self
        'GET /v1/health/service/:id',
        'GET /v1/health/service/:id (blocking)',
        'GET /v1/health/service/:id dc=dc2',
        'GET /v1/health/service/:id dc=dc2 (blocking)',
        'PUT /v1/agent/service/:id', // register
        'PUT /v1/agent/service/deregister/:id',
      ].sort(),
    );
  });

  it('is in the X-Consul-Token header of each of them', () => {
    expect(requests.length).toBeGreaterThan(0);
    const without = requests.filter((r) => r.headers['x-consul-token'] !== TOKEN);
    expect(without.map((r) => `${r.method} ${r.url}`)).toEqual([]);
  });

  it('is in no URL, no body and no other header', () => {
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) {
      const { 'x-consul-token': _, ...others } = r.headers;
      const elsewhere = [decodeURIComponent(r.url), r.body, JSON.stringify(others)];
      expect(elsewhere.join('\n'), `${r.method} ${r.url}`).not.toContain(TOKEN);
    }
    // the registration did have a body: the check is not vacuous
    expect(requests.some((r) => r.body.includes('"Name":"greeter"'))).toBe(true);
  });
});
