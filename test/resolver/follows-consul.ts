/**
 * What a `consul:` target must do with one grpc-js version: a test file per end of the
 * supported range runs these cases with its grpc-js (and nice-grpc bound to it).
 */
import type { ChannelOptions, Client, ServiceError } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ConsulResolverOptions, registerConsulResolver } from '../../src/index.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { type EchoServer, startEchoServers } from '../support/echo-server.js';
import { type EchoReply, type EchoRequest, EchoService } from '../support/echo-service.js';
import type { GrpcJsUnderTest } from '../support/grpc-js-versions.js';

const SERVICE = 'echo';
const UNAVAILABLE = 14;
const roundRobin: ChannelOptions = {
  'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
};
const waitLong = { timeout: 10_000, interval: 50 };

/**
 * @param under The grpc-js under test.
 * @param grpcOption Whether to pass the module to `registerConsulResolver` (`grpc` option),
 *     or let it register with rxlb's own import of `@grpc/grpc-js`.
 */
export function followsConsul(under: GrpcJsUnderTest, grpcOption: boolean): void {
  const { grpc, nice } = under;
  let consul: ConsulTestServer;
  let servers: EchoServer[];
  const closers: (() => void)[] = [];

  beforeEach(async () => {
    consul = await new ConsulTestServer().start();
    servers = await startEchoServers(2);
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) close();
    for (const server of servers) server.stop();
    await consul.stop();
  });

  const register = (options: ConsulResolverOptions = {}) =>
    registerConsulResolver({
      ...(grpcOption && { grpc }),
      backoff: { initialMs: 10, maxMs: 50 },
      minIntervalMs: 0,
      ...options,
    });
  const target = (query = '') => `consul://${consul.address}/${SERVICE}${query}`;
  const server = (i: number): EchoServer => {
    const found = servers[i];
    if (!found) throw new RangeError(`no echo server #${i}`);
    return found;
  };
  const port = (i: number) => Number(server(i).address.split(':')[1]);
  const registerServer = (i: number, tags: string[] = []) =>
    consul.registerService({
      Name: SERVICE,
      ID: `echo-${i}`,
      Address: '127.0.0.1',
      Port: port(i),
      Tags: tags,
    });

  /** A plain grpc-js client of the target, closed after the test. */
  function grpcJsClient(address: string, options: ChannelOptions = roundRobin) {
    const client: Client = new grpc.Client(address, grpc.credentials.createInsecure(), options);
    closers.push(() => client.close());
    const unary = (request: EchoRequest): Promise<EchoReply> =>
      new Promise((resolve, reject) => {
        const { path, requestSerialize, responseDeserialize } = EchoService.unary;
        client.makeUnaryRequest(
          path,
          requestSerialize,
          responseDeserialize,
          request,
          (error: ServiceError | null, reply?: EchoReply) => {
            if (error) reject(error);
            else if (reply) resolve(reply);
            else reject(new Error('no reply'));
          },
        );
      });
    return { unary };
  }

  /** A nice-grpc client on `createChannel(address)`, closed after the test. */
  function niceClient(address: string, options: ChannelOptions = roundRobin) {
    const channel = nice.createChannel(address, undefined, options);
    closers.push(() => channel.close());
    return nice.createClient(EchoService, channel);
  }

  /** The backends that answered `n` calls in a row. */
  async function backends(call: (request: EchoRequest) => Promise<EchoReply>, n = 6) {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add((await call({ text: `${i}` })).backend);
    return seen;
  }

  describe(`with grpc-js ${under.version}`, () => {
    it.each([
      ['a plain grpc-js client', (address: string) => grpcJsClient(address).unary],
      [
        'a nice-grpc createChannel() client',
        (address: string) => {
          const client = niceClient(address);
          return (request: EchoRequest) => client.unary(request);
        },
      ],
    ])('lets %s follow registrations and deregistrations', async (_, connect) => {
      register();
      registerServer(0);
      const unary = connect(target());
      expect(await backends(unary)).toEqual(new Set([server(0).address]));
      registerServer(1);
      await vi.waitFor(async () => {
        expect(await backends(unary)).toEqual(new Set([server(0).address, server(1).address]));
      }, waitLong);
      consul.deregisterService('echo-0');
      await vi.waitFor(async () => {
        expect(await backends(unary)).toEqual(new Set([server(1).address]));
      }, waitLong);
    });

    it("reaches the service of consul:echo through nice-grpc's createChannel(), which appends :80", async () => {
      register({ address: consul.address });
      registerServer(0, ['v1']);
      registerServer(1, ['v2']);
      // nice-grpc hands grpc-js `consul:echo:80` and `consul:echo?tag=v2:80`
      const all = niceClient(`consul:${SERVICE}`);
      expect(await backends((request) => all.unary(request))).toEqual(
        new Set([server(0).address, server(1).address]),
      );
      const tagged = niceClient(`consul:${SERVICE}?tag=v2`);
      expect(await backends((request) => tagged.unary(request))).toEqual(
        new Set([server(1).address]),
      );
    });

    it('moves pick_first (the default policy) off an instance that deregisters', async () => {
      register();
      registerServer(0);
      const client = niceClient(target(), {});
      expect((await client.unary({ text: 'a' })).backend).toBe(server(0).address);
      registerServer(1);
      consul.deregisterService('echo-0');
      await vi.waitFor(async () => {
        expect((await client.unary({ text: 'b' })).backend).toBe(server(1).address);
      }, waitLong);
    });

    it('asks Consul for the tags of the target', async () => {
      register();
      registerServer(0, ['v1']);
      registerServer(1, ['v2', 'canary']);
      const { unary } = grpcJsClient(target('?tag=v2&tag=canary'));
      expect(await backends(unary)).toEqual(new Set([server(1).address]));
    });

    it('spreads calls with weighted_round_robin from the service config', async () => {
      register();
      registerServer(0);
      registerServer(1);
      const config = { loadBalancingConfig: [{ weighted_round_robin: {} }] };
      const client = niceClient(target(), { 'grpc.service_config': JSON.stringify(config) });
      await vi.waitFor(async () => {
        const seen = await backends((request) => client.unary(request));
        expect(seen).toEqual(new Set([server(0).address, server(1).address]));
      }, waitLong);
    });

    it('retries a failed call on the other instance with a service-config retry policy', async () => {
      register();
      registerServer(0);
      registerServer(1);
      const config = {
        loadBalancingConfig: [{ round_robin: {} }],
        methodConfig: [
          {
            name: [{ service: 'rxlb.test.Echo' }],
            retryPolicy: {
              maxAttempts: 3,
              initialBackoff: '0.01s',
              maxBackoff: '0.05s',
              backoffMultiplier: 2,
              retryableStatusCodes: ['UNAVAILABLE'],
            },
          },
        ],
      };
      const client = niceClient(target(), { 'grpc.service_config': JSON.stringify(config) });
      const failing = server(0).address;
      await vi.waitFor(async () => {
        const seen = await backends((request) =>
          client.unary({ ...request, failWith: UNAVAILABLE, failOn: failing }),
        );
        expect(seen).toEqual(new Set([server(1).address]));
      }, waitLong);
      expect(server(0).received).toBeGreaterThan(0); // calls did go there first, and were retried
    });

    it('fails calls with UNAVAILABLE naming the mistake when the target is bad', async () => {
      register();
      registerServer(0);
      const client = niceClient(target('?colour=blue'));
      await expect(client.unary({ text: 'a' })).rejects.toMatchObject({
        code: UNAVAILABLE,
        details: expect.stringContaining('unknown parameter "colour"'),
      });
    });

    it("fails calls with UNAVAILABLE and Consul's error while Consul has never answered", async () => {
      register();
      registerServer(0);
      consul.inject({ kind: 'status', status: 500, count: Number.POSITIVE_INFINITY });
      const { unary } = grpcJsClient(target());
      await expect(unary({ text: 'a' })).rejects.toMatchObject({
        code: UNAVAILABLE,
        details: expect.stringMatching(/consul:\/\/.*\/echo: health query for "echo" .* HTTP 500/),
      });
      consul.clearFaults();
      await vi.waitFor(async () => {
        expect((await unary({ text: 'b' })).backend).toBe(server(0).address);
      }, waitLong);
    });

    it('keeps calling the instances it has while Consul fails after its first answer', async () => {
      const failures: string[] = [];
      register({ onError: ({ error }) => failures.push(error.code) });
      registerServer(0);
      // blocking queries of 100 ms, so that the next answer comes soon and is dropped
      const { unary } = grpcJsClient(target('?wait=100ms'));
      expect((await unary({ text: 'a' })).backend).toBe(server(0).address);
      consul.inject({ kind: 'drop', count: Number.POSITIVE_INFINITY });
      await vi.waitFor(() => expect(failures.length).toBeGreaterThan(1), waitLong);
      expect((await unary({ text: 'b' })).backend).toBe(server(0).address);
    });

    it('fails calls at once with round_robin when Consul says nobody, and recovers when an instance registers', async () => {
      register({ whenNobody: false });
      registerServer(0);
      const client = niceClient(target());
      expect((await client.unary({ text: 'a' })).backend).toBe(server(0).address);
      consul.deregisterService('echo-0');
      await vi.waitFor(async () => {
        await expect(client.unary({ text: 'b' })).rejects.toMatchObject({
          code: UNAVAILABLE,
          details: `Consul has no healthy instance for consul://${consul.address}/echo`,
        });
      }, waitLong);
      registerServer(1);
      await vi.waitFor(async () => {
        expect((await client.unary({ text: 'c' })).backend).toBe(server(1).address);
      }, waitLong);
    });

    it("keeps pick_first on its connected instance while Consul says nobody (grpc-js's pick_first)", async () => {
      const sets: number[] = [];
      register({ whenNobody: false, onStatus: ({ instances }) => sets.push(instances) });
      registerServer(0);
      const client = niceClient(target(), {});
      expect((await client.unary({ text: 'a' })).backend).toBe(server(0).address);
      consul.deregisterService('echo-0');
      // the status comes with the empty set, whose report (a microtask) reaches grpc-js
      // before waitFor's next timer looks again
      await vi.waitFor(() => expect(sets.at(-1)).toBe(0), waitLong);
      expect((await client.unary({ text: 'b' })).backend).toBe(server(0).address);
    });

    it('stops the watch while the channel is idle, and resolves again on the next call', async () => {
      register();
      registerServer(0);
      const { unary } = grpcJsClient(target(), {
        ...roundRobin,
        'grpc.client_idle_timeout_ms': 1_000,
      });
      await unary({ text: 'a' });
      await vi.waitFor(() => expect(consul.activeRequests).toBe(1), waitLong);
      await vi.waitFor(() => expect(consul.activeRequests).toBe(0), waitLong); // idle
      registerServer(1);
      consul.deregisterService('echo-0');
      expect((await unary({ text: 'b' })).backend).toBe(server(1).address);
    });

    it('stops the Consul watch when the last channel on the target closes', async () => {
      register();
      registerServer(0);
      const first = grpcJsClient(target());
      const second = niceClient(target());
      await first.unary({ text: 'a' });
      await second.unary({ text: 'b' });
      await vi.waitFor(() => expect(consul.activeRequests).toBe(1), waitLong); // one shared watch
      for (const close of closers.splice(0)) close();
      await vi.waitFor(() => expect(consul.activeRequests).toBe(0), waitLong);
    });
  });
}
