/**
 * Every fault kind: the stream never errors, keeps serving its last set, reports each failed
 * attempt with its number and next delay, and recovers once Consul answers again.
 */
import { config as rxjsConfig, tap } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConsulError } from '../../src/consul/errors.js';
import { consulInstances$ } from '../../src/consul/instances.js';
import type {
  ConsulFailure,
  ConsulInstancesOptions,
  ConsulStatus,
} from '../../src/consul/options.js';
import { discoveryOf } from '../../src/discovery.js';
import { ConsulTestServer, type Fault } from '../../src/testing/index.js';
import { answersOnly, isUnresolved } from '../support/answers.js';
import { freePort } from '../support/net.js';
import { record } from '../support/observe.js';

const SERVICE = 'greeter';
const PATH = `/v1/health/service/${SERVICE}`;
let server: ConsulTestServer;

beforeEach(async () => {
  server = await new ConsulTestServer().start();
  server.registerService({ Name: SERVICE, ID: 'g1', Port: 50051, Address: '127.0.0.1' });
});
afterEach(() => server.stop());

const BACKOFF_MAX_MS = 80;

/**
 * Subscribes with fast timings and records Consul's answers (`values`), failures, statuses,
 * and the errors of the sets emitted as unresolved before the first answer.
 */
function watch(options: ConsulInstancesOptions = {}) {
  const failures: ConsulFailure[] = [];
  const statuses: ConsulStatus[] = [];
  const unresolved: (string | undefined)[] = [];
  const seen = record(
    consulInstances$(SERVICE, {
      address: server.address,
      wait: '100ms',
      backoff: { initialMs: 20, maxMs: BACKOFF_MAX_MS },
      minIntervalMs: 0,
      onError: (f) => failures.push(f),
      onStatus: (s) => statuses.push(s),
      ...options,
    }).pipe(
      tap((set) => {
        if (isUnresolved(set)) unresolved.push(discoveryOf(set)?.unresolved);
      }),
      answersOnly(),
    ),
  );
  return {
    ...seen,
    failures,
    statuses,
    unresolved,
    values: seen.values,
    subscription: seen.subscription,
  };
}

/**
 * The watch recovered within the backoff ceiling: `n` failed attempts in a row, each
 * followed by a wait of at most `backoff.maxMs`, and the very next attempt succeeded. Counted
 * in attempts (each one reports one status), not in wall time, so a busy machine cannot make
 * it flaky.
 */
function expectRecoveredAfter(w: ReturnType<typeof watch>, n: number): void {
  expect(w.error).toBeUndefined();
  expect(w.failures.map((f) => f.attempt)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  for (const f of w.failures) expect(f.nextDelayMs).toBeLessThanOrEqual(BACKOFF_MAX_MS);
  const states = w.statuses.map((s) => s.state);
  const lastFailure = states.lastIndexOf('retrying');
  expect(states.slice(lastFailure - n + 1, lastFailure + 1)).toEqual(Array(n).fill('retrying'));
  expect(states.filter((s) => s === 'retrying')).toHaveLength(n);
  expect(w.statuses[lastFailure + 1]).toMatchObject({ state: 'ok', consecutiveFailures: 0 });
}

const faults: [string, Fault, ConsulError['code'], number | undefined][] = [
  ['a burst of 500s', { kind: 'status', status: 500, count: 3 }, 'ERR_CONSUL_HTTP', 500],
  ['429 Too Many Requests', { kind: 'status', status: 429, count: 3 }, 'ERR_CONSUL_HTTP', 429],
  [
    '403 ACL not found',
    { kind: 'status', status: 403, body: 'ACL not found', count: 2 },
    'ERR_CONSUL_HTTP',
    403,
  ],
  ['malformed JSON', { kind: 'malformed', count: 3 }, 'ERR_CONSUL_BAD_RESPONSE', undefined],
  [
    'a body that is not an array',
    { kind: 'body', body: { error: 'not a list' }, count: 2 },
    'ERR_CONSUL_BAD_RESPONSE',
    undefined,
  ],
  ['dropped connections', { kind: 'drop', count: 3 }, 'ERR_CONSUL_UNREACHABLE', undefined],
];

describe('consulInstances$ under faults', () => {
  it.each(faults)(
    'keeps its last set through %s, reports each attempt, then recovers within the backoff ceiling',
    async (_, fault, code, status) => {
      const w = watch();
      await vi.waitFor(() => expect(w.values).toHaveLength(1));
      server.inject({ ...fault, path: PATH });
      // wake the blocking query: the next answers are the faults, then the new set
      server.registerService({ Name: SERVICE, ID: 'g2', Port: 50052, Address: '127.0.0.1' });
      await vi.waitFor(() => expect(w.values.at(-1)?.size).toBe(2));
      w.subscription.unsubscribe();

      expect(w.values).toHaveLength(2);
      expectRecoveredAfter(w, fault.count ?? 1);
      for (const f of w.failures) {
        expect(f.error).toBeInstanceOf(ConsulError);
        expect(f.error.code).toBe(code);
        expect(f.error.statusCode).toBe(status);
        expect(f.error.message).toContain(`"${SERVICE}"`);
        expect(f.service).toBe(SERVICE);
      }
      const retrying = w.statuses.filter((s) => s.state === 'retrying');
      expect(retrying.every((s) => s.instances === 1 && s.lastError instanceof ConsulError)).toBe(
        true,
      );
      expect(w.statuses.at(-1)).toMatchObject({ consecutiveFailures: 0, instances: 2 });
    },
  );

  it('times out a response that never comes, then recovers within the backoff ceiling', async () => {
    server.inject({ kind: 'hang', path: PATH });
    const w = watch({ wait: '20ms' });
    await vi.waitFor(() => expect(w.values).toHaveLength(1), { timeout: 10_000 });
    w.subscription.unsubscribe();
    expect(w.failures[0]?.error.code).toBe('ERR_CONSUL_TIMEOUT');
    expect(w.failures[0]?.error.message).toMatch(/timed out/);
    expectRecoveredAfter(w, 1);
    expect(server.requests[0]?.outcome).toBe('closed-by-client');
  });

  it('retries while the connection is refused, then serves at the first attempt once Consul is up', async () => {
    const port = await freePort();
    const w = watch({ address: `127.0.0.1:${port}` });
    await vi.waitFor(() => expect(w.failures.length).toBeGreaterThanOrEqual(2));
    expect(w.failures[0]?.error.code).toBe('ERR_CONSUL_UNREACHABLE');
    expect(w.failures[0]?.error.message).toContain(`127.0.0.1:${port}`);
    const late = await new ConsulTestServer({ port }).start();
    try {
      late.registerService({ Name: SERVICE, ID: 'late', Port: 7, Address: '127.0.0.1' });
      await vi.waitFor(() => expect(w.values).toHaveLength(1));
      expect([...(w.values[0]?.keys() ?? [])]).toEqual(['127.0.0.1:7']);
      expectRecoveredAfter(w, w.failures.length);
      expect(late.requests[0]).toMatchObject({ path: PATH, status: 200 });
    } finally {
      w.subscription.unsubscribe();
      await late.stop();
    }
  });

  it('backs off exponentially with jitter, up to the ceiling', async () => {
    server.inject({ kind: 'status', status: 503, count: 6, path: PATH });
    const w = watch({ backoff: { initialMs: 10, maxMs: 40 } });
    await vi.waitFor(() => expect(w.values).toHaveLength(1));
    w.subscription.unsubscribe();
    const ceilings = [10, 20, 40, 40, 40, 40];
    expect(w.failures.map((f) => f.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    w.failures.forEach((f, i) => {
      const ceiling = ceilings[i] ?? 0;
      expect(f.nextDelayMs).toBeGreaterThanOrEqual(ceiling / 2);
      expect(f.nextDelayMs).toBeLessThanOrEqual(ceiling);
    });
  });

  it('draws each delay anew: watches that fail together do not retry together', async () => {
    server.inject({ kind: 'status', status: 503, count: 20, path: PATH });
    const first: number[] = [];
    const watches = Array.from({ length: 20 }, () =>
      consulInstances$(SERVICE, {
        address: server.address,
        backoff: { initialMs: 1_000, maxMs: 1_000 },
        onError: (f) => first.push(f.nextDelayMs),
      }).subscribe(),
    );
    try {
      await vi.waitFor(() => expect(first).toHaveLength(20));
    } finally {
      for (const w of watches) w.unsubscribe();
    }
    // 20 draws from [500, 1000] ms: all within 200 ms of each other has a chance below 1e-6
    expect(Math.max(...first) - Math.min(...first)).toBeGreaterThan(200);
    for (const delay of first) {
      expect(delay).toBeGreaterThanOrEqual(500);
      expect(delay).toBeLessThanOrEqual(1_000);
    }
  });

  it('emits one empty set marked unresolved when the first attempt fails, and errors never', async () => {
    server.inject({ kind: 'status', status: 500, count: 2, path: PATH });
    const w = watch();
    await vi.waitFor(() => expect(w.values).toHaveLength(1));
    w.subscription.unsubscribe();
    expect(w.failures).toHaveLength(2);
    expect(w.unresolved).toEqual([w.failures[0]?.error.message]);
    expect(w.unresolved[0]).toMatch(/health query for "greeter" at .* failed: HTTP 500/);
    expect(w.error).toBeUndefined();
    expect(w.statuses[0]).toMatchObject({
      state: 'retrying',
      instances: 0,
      lastSuccessAt: undefined,
    });
  });

  it("keeps running when an onError callback throws, and hands the error to RxJS's handler", async () => {
    const thrown: unknown[] = [];
    rxjsConfig.onUnhandledError = (error) => thrown.push(error);
    try {
      server.inject({ kind: 'status', status: 500, count: 2, path: PATH });
      const w = watch({
        onError: () => {
          throw new Error('callback bug');
        },
      });
      await vi.waitFor(() => expect(w.values).toHaveLength(1));
      w.subscription.unsubscribe();
      expect(thrown).toHaveLength(2);
      expect((thrown[0] as Error).message).toBe('callback bug');
    } finally {
      rxjsConfig.onUnhandledError = null;
    }
  });
});
