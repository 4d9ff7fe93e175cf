/** Unsubscribing stops everything: the request in flight, the timers, the sockets. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Subscription } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { bundled } from '../support/bundle.js';
import { record } from '../support/observe.js';
import { healthQueries } from '../support/server.js';

const SERVICE = 'greeter';
let server: ConsulTestServer;

beforeEach(async () => {
  server = await new ConsulTestServer().start();
  server.registerService({ Name: SERVICE, ID: 'g1', Port: 50051, Address: '127.0.0.1' });
});
afterEach(() => server.stop());

const child = fileURLToPath(new URL('./fixtures/watch-child.ts', import.meta.url));

/** Runs the child and resolves with its exit code, or rejects if it outlives `limitMs`. */
function runChild(mode: string, limitMs = 15_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [bundled(child), server.address, mode], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child (${mode}) did not exit by itself within ${limitMs} ms\n${stderr}`));
    }, limitMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`child (${mode}) exited with ${code}\n${stderr}`));
      else resolve(code);
    });
  });
}

describe('consulInstances$ teardown', () => {
  it('closes the blocking request in flight on the server side when unsubscribed', async () => {
    const seen = record(consulInstances$(SERVICE, { address: server.address }));
    await vi.waitFor(() => {
      expect(seen.values).toHaveLength(1);
      expect(server.activeRequests).toBe(1); // the blocking query after the first answer
    });
    seen.subscription.unsubscribe();
    await vi.waitFor(() => expect(server.activeRequests).toBe(0));
    const last = healthQueries(server.requests, SERVICE).at(-1);
    expect(last?.outcome).toBe('closed-by-client');
  });

  it('sends nothing more after unsubscribing during a backoff', async () => {
    server.inject({ kind: 'status', status: 500, count: Number.POSITIVE_INFINITY });
    let failures = 0;
    let sent = 0;
    // onError runs just before the backoff sleep: unsubscribing there is "during a backoff"
    const subscription: Subscription = consulInstances$(SERVICE, {
      address: server.address,
      backoff: { initialMs: 50, maxMs: 50 },
      onError: () => {
        failures += 1;
        if (failures === 2) {
          sent = server.requests.length;
          subscription.unsubscribe();
        }
      },
    }).subscribe();
    await vi.waitFor(() => expect(failures).toBe(2));
    // several backoff periods: a surviving timer would have sent a request by now
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(server.requests.length).toBe(sent);
    expect(failures).toBe(2);
  });

  it('lets a process exit by itself after unsubscribing from a blocking query', async () => {
    await expect(runChild('blocking')).resolves.toBe(0);
    await vi.waitFor(() => expect(server.activeRequests).toBe(0));
    expect(healthQueries(server.requests, SERVICE).at(-1)?.outcome).toBe('closed-by-client');
  });

  it('lets a process exit by itself once the last subscriber of a shared watch left', async () => {
    await expect(runChild('shared')).resolves.toBe(0);
    await vi.waitFor(() => expect(server.activeRequests).toBe(0));
    const sent = healthQueries(server.requests, SERVICE);
    expect(sent.filter((q) => !q.query.includes('index=')).length).toBe(1);
  });

  it('lets a process exit by itself after unsubscribing from a failover watch', async () => {
    await expect(runChild('failover')).resolves.toBe(0);
    await vi.waitFor(() => expect(server.activeRequests).toBe(0));
    const queries = healthQueries(server.requests, SERVICE);
    expect(queries.map((q) => q.query)).toContain('passing=true&dc=dc2'); // dc2's loop ran
    const blocking = queries.filter((q) => q.query.includes('index='));
    expect(blocking.map((q) => q.outcome)).toEqual(['closed-by-client']);
  });

  it('lets a process exit by itself after unsubscribing during a backoff', async () => {
    server.inject({ kind: 'status', status: 500, count: Number.POSITIVE_INFINITY });
    await expect(runChild('backoff')).resolves.toBe(0);
  });
});
