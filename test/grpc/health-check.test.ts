/**
 * Client-side health checking (gRFC A17) on real servers on loopback, whose health service is
 * nice-grpc-server-health's, as `registerInstance()`'s servers have it. (The timings, against
 * Consul and through a backoff, are in health-check-timing.test.ts.)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { ServerError, Status } from 'nice-grpc';
import { describe, expect, it, vi } from 'vitest';
import { grpcJsUnary } from '../support/grpc-js-client.js';
import { allServing, answers, healthOf, over, useHealthChecks } from '../support/health-checks.js';
import type { HealthServer } from '../support/health-server.js';
import { roundRobinPicker } from '../support/pickers.js';

const { servers, checkedChannel, defer } = useHealthChecks();

describe('client-side health checking (gRFC A17)', () => {
  it('lets calls made before the first answer wait for it, and sends them once the backends answer', async () => {
    const fleet = await servers(2, {
      // every server answers its first Watch 300 ms late
      watch: (n, _request, context) => (n === 1 ? lateServing(300, context.signal) : undefined),
    });
    const { channel, client } = checkedChannel(over(fleet));
    const replies = Promise.all([0, 1, 2, 3].map((i) => client.unary({ text: `${i}` })));
    await vi.waitFor(() => {
      const backends = channel.backends();
      expect(backends.map((b) => `${b.state} ${b.health}`)).toEqual([
        'READY PENDING',
        'READY PENDING',
      ]);
    });
    expect(fleet.map((server) => server.calls)).toEqual([0, 0]);
    // not UNAVAILABLE, without waitForReady: they waited, and went to the first that answered
    const answered = await replies;
    const addresses = fleet.map((server) => server.address);
    for (const { backend } of answered) expect(addresses).toContain(backend);
  });

  it('keeps a server without a health service (UNIMPLEMENTED) serving, and logs it once per channel', async () => {
    const logged: string[] = [];
    grpc.setLogger({ error: (...args: unknown[]) => logged.push(args.join(' ')) });
    defer(() => grpc.setLogger(console));
    const fleet = await servers(2, { health: false });
    const { channel, client, events } = checkedChannel(over(fleet));
    await vi.waitFor(() => {
      expect(Object.values(healthOf(channel))).toEqual(['UNIMPLEMENTED', 'UNIMPLEMENTED']);
    });
    expect(new Set(await answers(client, 4))).toEqual(new Set(fleet.map((s) => s.address)));
    const lines = logged.filter((line) => line.includes('UNIMPLEMENTED'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/health service of "echo" at 127\.0\.0\.1:\d+ is UNIMPLEMENTED/);
    expect(events.map((e) => e.health)).toEqual(['UNIMPLEMENTED', 'UNIMPLEMENTED']);
  });

  it('opens a broken Watch again at once after an answer, and the backend keeps serving meanwhile', async () => {
    const fleet = await servers(1, {
      // the first Watch answers SERVING, then the server fails it
      watch: (n) => (n === 1 ? servingThenBroken() : undefined),
    });
    const [server] = fleet as [HealthServer];
    const { channel, client, events } = checkedChannel(over(fleet));
    await server.watchCount(2);
    await allServing(channel, 1);
    expect(await answers(client, 3)).toEqual([server.address, server.address, server.address]);
    expect(events.map((e) => `${e.previous} -> ${e.health}`)).toEqual(['PENDING -> SERVING']);
  });

  it('keeps a NOT_SERVING backend out while its broken Watch is opened again and not answered', async () => {
    const [sick] = (await servers(1, {
      // its first Watch says NOT_SERVING and breaks; the next one never answers
      watch: (n, _request, context) => (n === 1 ? notServingThenBroken() : silent(context.signal)),
    })) as [HealthServer];
    const [healthy] = (await servers(1)) as [HealthServer];
    const fleet = [sick, healthy];
    const { channel, client } = checkedChannel(over(fleet));
    await sick.watchCount(2);
    await vi.waitFor(() => expect(healthOf(channel)[healthy.address]).toBe('SERVING'));
    expect(healthOf(channel)[sick.address]).toBe('NOT_SERVING');
    expect(new Set(await answers(client, 6))).toEqual(new Set([healthy.address]));
    expect(sick.calls).toBe(0);
  });

  it('fails a call at once when every connected backend is NOT_SERVING, and lets a waitForReady call wait for one', async () => {
    const fleet = await servers(2);
    const { channel, client } = checkedChannel(over(fleet));
    await allServing(channel, 2);
    for (const server of fleet) server.health.setStatus('unhealthy');
    await vi.waitFor(() => {
      expect(Object.values(healthOf(channel))).toEqual(['NOT_SERVING', 'NOT_SERVING']);
    });
    await expect(client.unary({ text: '' })).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      details: expect.stringMatching(
        /^no serving instance of "echo": each of the 2 connected says it is not serving \(127\.0\.0\.1:\d+ NOT_SERVING, 127\.0\.0\.1:\d+ NOT_SERVING\)$/,
      ),
    });
    const metadata = new grpc.Metadata({ waitForReady: true });
    const waiting = grpcJsUnary(channel, { text: '' }, { metadata });
    await sleep(50);
    const [, second] = fleet as [HealthServer, HealthServer];
    second.health.setStatus('healthy');
    expect((await waiting).backend).toBe(second.address);
  });

  it("asks about the service config's healthCheckConfig.serviceName, which turns health checking on", async () => {
    const fleet = await servers(1);
    const [server] = fleet as [HealthServer];
    const { channel, client } = checkedChannel(over(fleet), {
      channelOptions: {
        'grpc.service_config': JSON.stringify({ healthCheckConfig: { serviceName: 'echo.v1' } }),
      },
    });
    // nice-grpc-server-health knows no "echo.v1" yet
    await vi.waitFor(() => expect(healthOf(channel)[server.address]).toBe('SERVICE_UNKNOWN'));
    server.health.setStatus('healthy', 'echo.v1');
    await allServing(channel, 1);
    expect(await answers(client, 1)).toEqual([server.address]);
  });

  it('checks nothing by default, nor with healthCheck: false over a healthCheckConfig', async () => {
    const fleet = await servers(2);
    const plain = checkedChannel(over(fleet), {});
    const off = checkedChannel(over(fleet), {
      healthCheck: false,
      channelOptions: { 'grpc.service_config': JSON.stringify({ healthCheckConfig: {} }) },
    });
    for (const { channel, client } of [plain, off]) {
      await vi.waitFor(() =>
        expect(channel.backends().map((b) => b.state)).toEqual(['READY', 'READY']),
      );
      expect(Object.values(healthOf(channel))).toEqual(['UNCHECKED', 'UNCHECKED']);
      await answers(client, 2);
    }
    expect(fleet.map((server) => server.watches)).toEqual([0, 0]);
  });

  it("ends a backend's Watch when discovery drops it, and every Watch on close()", async () => {
    const fleet = await servers(2);
    const [leaving, staying] = fleet as [HealthServer, HealthServer];
    const picker$ = over(fleet);
    const { channel } = checkedChannel(picker$);
    await allServing(channel, 2);
    expect(fleet.map((server) => server.openWatches)).toEqual([1, 1]);
    picker$.next(roundRobinPicker([staying.address]));
    await vi.waitFor(() => expect(leaving.openWatches).toBe(0));
    expect(staying.openWatches).toBe(1);
    channel.close();
    await vi.waitFor(() => expect(staying.openWatches).toBe(0));
    expect(fleet.map((server) => server.watches)).toEqual([1, 1]);
  });
});

/** Says SERVING `ms` from now, then nothing until cancelled. */
async function* lateServing(ms: number, signal: AbortSignal) {
  await sleep(ms, undefined, { signal }).catch(() => {});
  yield { status: 1 };
  yield* silent(signal);
}

/** Says SERVING, then fails the stream. */
async function* servingThenBroken() {
  yield { status: 1 };
  throw new ServerError(Status.INTERNAL, 'health service broke');
}

/** Says NOT_SERVING, then fails the stream. */
async function* notServingThenBroken() {
  yield { status: 2 };
  throw new ServerError(Status.INTERNAL, 'health service broke');
}

/** Answers nothing until cancelled. */
async function* silent(signal: AbortSignal) {
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  if (signal.aborted) return;
  yield { status: 0 };
}
