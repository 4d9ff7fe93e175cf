/** registerConsulResolver() checks its options once, at registration. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { metrics } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerConsulResolver } from '../../src/index.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { bundled } from '../support/bundle.js';
import { type EchoServer, startEchoServer } from '../support/echo-server.js';
import { freePort } from '../support/net.js';

describe('registerConsulResolver options', () => {
  it('rejects a query option, pointing at the target', () => {
    expect(() => registerConsulResolver({ tags: ['v2'] } as never)).toThrow(
      /registerConsulResolver\(\): unknown option "tags" \(what to ask Consul goes in the target: consul:\/\/\/greeter\?tag=v2/,
    );
  });

  it('suggests the option an unknown one is a slip of', () => {
    expect(() => registerConsulResolver({ adress: '127.0.0.1:8500' } as never)).toThrow(
      'registerConsulResolver(): unknown option "adress" (did you mean "address"?)',
    );
  });

  it('rejects a grpc option that is not a grpc-js module of 1.14.0 or later', () => {
    const before114 = { experimental: { registerResolver: () => {} } };
    expect(() => registerConsulResolver({ grpc: before114 as never })).toThrow(
      /option "grpc" must be the @grpc\/grpc-js module, 1\.14\.0 or later/,
    );
  });

  it('rejects a grpc option that is an object of another kind', () => {
    expect(() => registerConsulResolver({ grpc: {} as never })).toThrow(
      /option "grpc" must be the @grpc\/grpc-js module, 1\.14\.0 or later/,
    );
  });

  it('takes every option it documents', () => {
    const registered: string[] = [];
    const grpcStandIn = {
      experimental: {
        registerResolver: (scheme: string) => registered.push(scheme),
        statusOrFromValue: () => ({}),
        statusOrFromError: () => ({}),
      },
    };
    registerConsulResolver({
      grpc: grpcStandIn,
      address: '127.0.0.1:8500',
      token: 'a-token',
      tls: { rejectUnauthorized: true },
      backoff: { initialMs: 100, maxMs: 1_000 },
      minIntervalMs: 10,
      whenNobody: { policy: 'fail-fast' },
      onError: () => {},
      onStatus: () => {},
      meterProvider: metrics.getMeterProvider(),
    });
    expect(registered).toEqual(['consul']);
  });

  it('rejects a bad watch option, naming it', () => {
    expect(() => registerConsulResolver({ backoff: { initialMs: -1 } })).toThrow(
      /registerConsulResolver\(\): option "backoff.initialMs"/,
    );
    expect(() => registerConsulResolver({ whenNobody: { policy: 'never' } as never })).toThrow(
      /registerConsulResolver\(\): .*whenNobody/,
    );
  });

  it('takes the connection from the address option for a target without authority', async () => {
    const consul = await new ConsulTestServer().start();
    const server = await startEchoServer();
    const port = Number(server.address.split(':')[1]);
    consul.registerService({ Name: 'echo', ID: 'echo-1', Address: '127.0.0.1', Port: port });
    registerConsulResolver({ grpc, address: consul.address });
    const channel = new grpc.Channel('consul:///echo', grpc.credentials.createInsecure(), {});
    try {
      channel.getConnectivityState(true);
      await new Promise<void>((resolve, reject) => {
        const deadline = Date.now() + 10_000;
        const watch = (state: grpc.connectivityState) => {
          if (state === grpc.connectivityState.READY) return resolve();
          channel.watchConnectivityState(state, deadline, (error) =>
            error ? reject(error) : watch(channel.getConnectivityState(true)),
          );
        };
        watch(channel.getConnectivityState(true));
      });
      expect(consul.requests.some((r) => r.path === '/v1/health/service/echo')).toBe(true);
    } finally {
      channel.close();
      server.stop();
      await consul.stop();
    }
  });
});

/** Runs a child of fixtures/; resolves with its exit code and output, or fails if it lingers. */
function runChild(
  script: string,
  args: readonly string[],
  onOutput: (output: string) => void = () => {},
): Promise<{ code: number | null; output: string }> {
  const child = fileURLToPath(new URL(`./fixtures/${script}`, import.meta.url));
  const proc = spawn(process.execPath, [bundled(child), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const heard = (chunk: Buffer) => {
    output += chunk.toString();
    onOutput(output);
  };
  proc.stdout.on('data', heard);
  proc.stderr.on('data', heard);
  return new Promise((resolve, reject) => {
    const lingering = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`the child did not exit by itself; it printed ${JSON.stringify(output)}`));
    }, 15_000);
    proc.on('exit', (code) => {
      clearTimeout(lingering);
      resolve({ code, output });
    });
  });
}

describe('a consul: channel', () => {
  let consul: ConsulTestServer;
  let server: EchoServer;
  beforeEach(async () => {
    consul = await new ConsulTestServer().start();
    server = await startEchoServer();
    const port = Number(server.address.split(':')[1]);
    consul.registerService({ Name: 'echo', ID: 'echo-1', Address: '127.0.0.1', Port: port });
  });
  afterEach(async () => {
    server.stop();
    await consul.stop();
  });

  it('lets a process whose only work was the channel exit by itself after close()', async () => {
    const { code, output } = await runChild('close-child.ts', [consul.address]);
    expect({ code, output }).toEqual({ code: 0, output: server.address });
  });

  // grpc-js's own resolvers unref their timers: a dns: or ipv4: channel left open lets the
  // process exit after its last call, and so must the Consul watch (its held query too)
  it('left open, lets the process exit by itself after its last call, with Consul up', async () => {
    const { code, output } = await runChild('open-child.ts', [consul.address, 'up']);
    expect({ code, output }).toEqual({ code: 0, output: server.address });
  });

  it('left open, lets the process exit by itself with Consul gone', async () => {
    const nobodyThere = `127.0.0.1:${await freePort()}`;
    const { code, output } = await runChild('open-child.ts', [nobodyThere, 'gone']);
    expect({ code, output }).toEqual({ code: 0, output: 'UNAVAILABLE' });
  });

  it('left open, lets the process exit by itself while keeping the last set for a grace', async () => {
    let deregistered = false;
    const { code, output } = await runChild('open-child.ts', [consul.address, 'nobody'], (out) => {
      if (deregistered || !out.includes('called')) return;
      deregistered = true;
      consul.deregisterService('echo-1');
    });
    expect({ code, output }).toEqual({ code: 0, output: 'called\nkept-last' });
  });
});
