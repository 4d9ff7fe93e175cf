/**
 * The whole pipeline, end to end: gRPC servers on loopback register with ConsulTestServer,
 * and a client balances over them through consulInstances$ → diff() → roundRobin() →
 * createBalancedChannel(), with the retry middleware.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ClientError, createClientFactory, Status } from 'nice-grpc';
import { type Observable, ReplaySubject, share } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GreeterDefinition, type HelloReply } from '../../examples/greeter/generated/greeter.js';
import { spawnGreeter } from '../../examples/greeter/spawn.js';
import {
  consulInstances$,
  createBalancedChannel,
  diff,
  type Picker,
  retryOnAnotherInstance,
  roundRobin,
} from '../../src/index.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { startEchoServers } from '../support/echo-server.js';
import { type EchoReply, EchoService } from '../support/echo-service.js';
import { tally } from '../support/fixture.js';
import { registeredGreeters } from '../support/greeters.js';

let consul: ConsulTestServer;
const cleanup: (() => unknown)[] = [];

beforeEach(async () => {
  consul = await new ConsulTestServer().start();
});
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  await consul.stop();
});

/** Greeter servers with gRPC health, registered with Consul by registerInstance(). */
const greeters = (count: number) => registeredGreeters(consul.address, count, cleanup);

/** The pipeline of the README, and a way to see the latest picker it built. */
function pipeline(service: string) {
  let latest: Picker | undefined;
  const picker$: Observable<Picker> = consulInstances$(service, {
    address: consul.address,
    wait: '5s',
  }).pipe(diff(), roundRobin(), share({ connector: () => new ReplaySubject(1) }));
  const watcher = picker$.subscribe((picker) => {
    latest = picker;
  });
  const channel = createBalancedChannel(picker$, { name: service });
  cleanup.push(() => watcher.unsubscribe());
  cleanup.push(() => channel.close());
  const addresses = () => (latest?.instances ?? []).map((instance) => instance.address).sort();
  return { channel, addresses };
}

function greeterClient(service = 'greeter') {
  const { channel, addresses } = pipeline(service);
  const client = createClientFactory()
    .use(retryOnAnotherInstance())
    .create(GreeterDefinition, channel);
  return { client, addresses };
}

const sorted = (values: Iterable<string>) => [...values].sort();

describe('the pipeline, end to end', () => {
  it('spreads 300 calls over 3 healthy backends exactly 100 each', async () => {
    const servers = await greeters(3);
    const { client, addresses } = greeterClient();
    const all = sorted(servers.map((s) => s.greeter.address));
    await vi.waitFor(() => expect(addresses()).toEqual(all));
    const replies: HelloReply[] = [];
    for (let i = 0; i < 300; i++) replies.push(await client.sayHello({ name: `${i}` }));
    expect([...tally(replies).values()]).toEqual([100, 100, 100]);
    expect(sorted(tally(replies).keys())).toEqual(all);
  });

  it('stops sending calls to a backend once it deregisters', async () => {
    const [gone, ...staying] = await greeters(3);
    const { client, addresses } = greeterClient();
    await vi.waitFor(() => expect(addresses()).toHaveLength(3));
    await gone?.registration.deregister();
    await vi.waitFor(() => expect(addresses()).toHaveLength(2));
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) => client.sayHello({ name: `${i}` })),
    );
    expect(sorted(tally(replies).keys())).toEqual(sorted(staying.map((s) => s.greeter.address)));
  });

  it('stops sending calls to a backend whose gRPC health check fails', async () => {
    const [sick, ...well] = await greeters(3);
    const { client, addresses } = greeterClient();
    await vi.waitFor(() => expect(addresses()).toHaveLength(3));
    sick?.greeter.health.setStatus('unhealthy'); // Consul's next check sees NOT_SERVING
    await vi.waitFor(() => expect(addresses()).toHaveLength(2));
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) => client.sayHello({ name: `${i}` })),
    );
    expect(sorted(tally(replies).keys())).toEqual(sorted(well.map((s) => s.greeter.address)));
  });

  it('loses no unary call when a backend process is killed under steady traffic', async () => {
    // real processes: SIGKILL resets their connections, as a crash does
    const processes = await Promise.all([0, 1, 2].map(() => spawnGreeter(consul.address)));
    for (const p of processes) cleanup.push(() => p.kill());
    const { client, addresses } = greeterClient();
    await vi.waitFor(() => expect(addresses()).toHaveLength(3), { timeout: 10_000 });
    const victim = processes[0];
    const errors: unknown[] = [];
    const replies: HelloReply[] = [];
    let calls = 0;
    const worker = async () => {
      for (; calls < 600; calls++) {
        if (calls === 150) void victim?.kill(); // mid-traffic
        await client.sayHello({ name: 'x' }).then(
          (reply) => replies.push(reply),
          (error: unknown) => errors.push(error),
        );
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(errors).toEqual([]);
    expect(replies.filter((reply) => reply.backend === victim?.address).length).toBeGreaterThan(0);
    // Consul's check notices too, and the picker drops the dead backend
    await vi.waitFor(() => expect(addresses()).toHaveLength(2), { timeout: 10_000 });
  });

  it('fails a call at once with UNAVAILABLE naming the service when nobody is registered', async () => {
    const { client, addresses } = greeterClient('nobody');
    // the first (empty) picker has arrived
    await vi.waitFor(() => expect(addresses()).toEqual([]));
    const failure = await client.sayHello({ name: 'x' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ClientError);
    expect(failure).toMatchObject({ code: Status.UNAVAILABLE });
    expect((failure as ClientError).details).toContain('no healthy instance of "nobody"');
  });

  it('carries all four call kinds', async () => {
    const servers = await startEchoServers(2);
    for (const server of servers) {
      server.release();
      cleanup.push(() => server.stop());
      const port = Number(server.address.split(':')[1]);
      consul.registerService({
        Name: 'echo',
        ID: server.address,
        Address: '127.0.0.1',
        Port: port,
      });
    }
    const { channel, addresses } = pipeline('echo');
    await vi.waitFor(() => expect(addresses()).toHaveLength(2));
    const client = createClientFactory().use(retryOnAnotherInstance()).create(EchoService, channel);
    const collect = async (replies: AsyncIterable<EchoReply>) => {
      const texts: string[] = [];
      for await (const reply of replies) texts.push(reply.text);
      return texts;
    };
    async function* requests() {
      yield { text: 'a' };
      yield { text: 'b' };
    }
    expect((await client.unary({ text: 'u' })).text).toBe('u');
    expect(await collect(client.serverStream({ text: 's', count: 3 }))).toEqual([
      's#0',
      's#1',
      's#2',
    ]);
    expect((await client.clientStream(requests())).text).toBe('a,b');
    expect(await collect(client.bidi(requests()))).toEqual(['a', 'b']);
  });

  it('lets a process whose only work was the pipeline exit by itself after close()', async () => {
    const [server] = await startEchoServers(1);
    if (!server) throw new Error('no server');
    server.release();
    cleanup.push(() => server.stop());
    const port = Number(server.address.split(':')[1]);
    consul.registerService({ Name: 'echo', ID: 'e1', Address: '127.0.0.1', Port: port });
    const output = await runChild(consul.address);
    expect(JSON.parse(output)).toEqual([server.address, server.address]);
    // the child's blocking query was closed, not left hanging on the server
    await vi.waitFor(() => expect(consul.activeRequests).toBe(0));
  });
});

const child = fileURLToPath(new URL('./fixtures/pipeline-child.ts', import.meta.url));

function runChild(consulAddress: string, limitMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, consulAddress], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    proc.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`the child did not exit by itself within ${limitMs} ms\n${stderr}`));
    }, limitMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`the child exited with ${code}\n${stderr}`));
    });
  });
}
