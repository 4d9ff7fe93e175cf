/** ConsulTestServer runs the TCP, HTTP and gRPC checks it is given, as Consul's agent does. */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { createServer as createGrpcServer, type Server as GrpcServer } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CheckDefinition, ConsulTestServer } from '../../src/testing/index.js';

let consul: ConsulTestServer;
const cleanup: (() => Promise<void> | void)[] = [];

beforeEach(async () => {
  consul = await new ConsulTestServer().start();
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await consul.stop();
});

async function check(): Promise<{ Status: string; Output: string } | undefined> {
  const response = await fetch(`http://${consul.address}/v1/health/service/web`);
  const [entry] = (await response.json()) as { Checks: { Status: string; Output: string }[] }[];
  return entry?.Checks[1];
}

function register(check: CheckDefinition): void {
  consul.registerService({ Name: 'web', ID: 'w1', Port: 1, Check: { CheckID: 'c', ...check } });
}

function listen<T extends HttpServer | TcpServer>(server: T): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

const close = (server: HttpServer | TcpServer) =>
  new Promise<void>((resolve) => server.close(() => resolve()));

describe('ConsulTestServer health checks', () => {
  it('passes a TCP check while the port accepts, and fails it once it stops', async () => {
    const tcp = createTcpServer((socket) => socket.destroy());
    const port = await listen(tcp);
    register({ TCP: `127.0.0.1:${port}`, Interval: '30ms' });
    await vi.waitFor(async () => expect((await check())?.Status).toBe('passing'));
    expect((await check())?.Output).toBe(`TCP connect 127.0.0.1:${port}: Success`);
    await close(tcp);
    await vi.waitFor(async () => expect((await check())?.Status).toBe('critical'));
    expect((await check())?.Output).toMatch(
      new RegExp(`^dial tcp 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );
  });

  it.each(['nope', '127.0.0.1', '127.0.0.1:80x', ':'])(
    'fails a TCP check of %j: not an address',
    async (target) => {
      register({ TCP: target, Interval: '1h', Status: 'passing' });
      await vi.waitFor(async () => expect((await check())?.Status).toBe('critical'));
      expect((await check())?.Output).toBe(`invalid TCP address ${JSON.stringify(target)}`);
    },
  );

  it.each([
    [200, 'passing'],
    [204, 'passing'],
    [299, 'passing'],
    [300, 'critical'],
    [428, 'critical'],
    [429, 'warning'],
    [503, 'critical'],
  ])('maps HTTP %d to %s', async (code, status) => {
    const http = createHttpServer((_, res) => res.writeHead(code).end('body text'));
    cleanup.push(() => close(http));
    const port = await listen(http);
    register({ HTTP: `http://127.0.0.1:${port}/health`, Interval: '1h' });
    // once the check has run (a new check starts critical, whatever the answer will be)
    await vi.waitFor(async () =>
      expect((await check())?.Output).toContain(
        `HTTP GET http://127.0.0.1:${port}/health: ${code}`,
      ),
    );
    expect((await check())?.Status).toBe(status);
  });

  it("says what the server answered, as Consul does, its body cut at Consul's 4 KiB", async () => {
    const http = createHttpServer((req, res) =>
      res.writeHead(200).end(req.url === '/big' ? 'x'.repeat(10_000) : 'fine'),
    );
    cleanup.push(() => close(http));
    const port = await listen(http);
    register({ HTTP: `http://127.0.0.1:${port}/health`, Interval: '1h' });
    await vi.waitFor(async () => expect((await check())?.Status).toBe('passing'));
    expect((await check())?.Output).toBe(
      `HTTP GET http://127.0.0.1:${port}/health: 200 OK Output: fine`,
    );
    consul.deregisterService('w1');
    register({ HTTP: `http://127.0.0.1:${port}/big`, Interval: '1h' });
    await vi.waitFor(async () => expect((await check())?.Status).toBe('passing'));
    expect((await check())?.Output).toBe(
      `HTTP GET http://127.0.0.1:${port}/big: 200 OK Output: ${'x'.repeat(4_096)}`,
    );
  });

  it('fails an HTTP check whose server cannot be reached, saying why', async () => {
    const http = createHttpServer();
    const port = await listen(http);
    await close(http);
    register({
      HTTP: `http://127.0.0.1:${port}/h`,
      Method: 'HEAD',
      Interval: '1h',
      Status: 'passing',
    });
    await vi.waitFor(async () => expect((await check())?.Status).toBe('critical'));
    expect((await check())?.Output).toMatch(
      new RegExp(`^HEAD http://127\\.0\\.0\\.1:${port}/h: .*ECONNREFUSED`),
    );
  });

  it('fails an HTTP check that does not answer within its Timeout', async () => {
    const http = createHttpServer(() => {}); // never answers
    cleanup.push(() => {
      http.closeAllConnections();
      return close(http);
    });
    const port = await listen(http);
    register({
      HTTP: `http://127.0.0.1:${port}/`,
      Interval: '1h',
      Timeout: '50ms',
      Status: 'passing',
    });
    await vi.waitFor(async () => expect((await check())?.Status).toBe('critical'));
    expect((await check())?.Output).toMatch(/timed out/);
  });

  describe('gRPC', () => {
    let grpc: GrpcServer;
    let health: HealthState;
    let port: number;

    beforeEach(async () => {
      grpc = createGrpcServer();
      health = HealthState();
      grpc.add(HealthDefinition, HealthServiceImpl(health));
      port = await grpc.listen('127.0.0.1:0');
    });
    afterEach(() => grpc.forceShutdown());

    it('follows grpc.health.v1: SERVING passes, NOT_SERVING fails', async () => {
      register({ GRPC: `127.0.0.1:${port}`, Interval: '30ms' });
      await vi.waitFor(async () => expect((await check())?.Status).toBe('passing'));
      expect((await check())?.Output).toBe(`gRPC check 127.0.0.1:${port}: success`);
      health.setStatus('unhealthy');
      await vi.waitFor(async () => expect((await check())?.Status).toBe('critical'));
      expect((await check())?.Output).toBe(`gRPC 127.0.0.1:${port} serving status: NOT_SERVING`);
    });

    it('asks about the service named after the slash', async () => {
      health.setStatus('healthy', 'greeter.Greeter');
      health.setStatus('unhealthy');
      register({ GRPC: `127.0.0.1:${port}/greeter.Greeter`, Interval: '1h' });
      await vi.waitFor(async () => expect((await check())?.Status).toBe('passing'));
    });

    it('fails once the server is gone', async () => {
      register({ GRPC: `127.0.0.1:${port}`, Interval: '30ms' });
      await vi.waitFor(async () => expect((await check())?.Status).toBe('passing'));
      grpc.forceShutdown();
      await vi.waitFor(async () => expect((await check())?.Status).toBe('critical'));
    });
  });
});
