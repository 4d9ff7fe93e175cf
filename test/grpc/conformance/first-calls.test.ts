/**
 * Conformance with grpc-js's round_robin, part 1: calls made while backends are not (yet)
 * connected. Each scenario runs rxlb's channel and grpc-js's round_robin on the same backends
 * at the same time, and asserts that rxlb does at least as well.
 */
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { type EchoServer, startEchoServer, startEchoServers } from '../../support/echo-server.js';
import { freePort } from '../../support/net.js';
import { failures, type Outcome, startBlackHole, unary } from './calls.js';
import { conformanceReport, describeBySide } from './report.js';
import { bothSides, openChannel } from './sides.js';

const report = conformanceReport('first-calls');
const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

async function servers(n: number): Promise<EchoServer[]> {
  const started = await startEchoServers(n);
  for (const server of started) stops.push(() => server.stop());
  return started;
}

async function blackHole(): Promise<string> {
  const hole = await startBlackHole();
  stops.push(() => hole.stop());
  return hole.address;
}

/** The first call of each of `n` new channels over `addresses` (rotated per channel). */
async function firstCalls(
  side: Parameters<typeof openChannel>[0],
  addresses: readonly string[],
  n: number,
  deadlineMs: number,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % addresses.length;
    const channel = openChannel(side, [...addresses.slice(k), ...addresses.slice(0, k)]);
    try {
      outcomes.push(await unary(channel, { deadlineMs }));
    } finally {
      channel.close();
    }
  }
  return outcomes;
}

const failed = (outcomes: readonly Outcome[]) => outcomes.filter((o) => o.code !== status.OK);
const slowest = (outcomes: readonly Outcome[]) => Math.max(...outcomes.map((o) => o.ms));

describe('conformance with grpc-js round_robin: first calls', () => {
  it('serves the first call of every new channel when one of its 2 backends is a dead port', async () => {
    const [live] = await servers(1);
    const dead = `127.0.0.1:${await freePort()}`;
    const results = await bothSides((side) =>
      firstCalls(side, [live?.address ?? '', dead], 40, 5_000),
    );
    report({
      scenario: 'new channel, 2 listed backends, one port dead: first call of 40 channels',
      ...describeBySide(results, failures),
    });
    expect(failed(results.rxlb)).toEqual([]);
  });

  it('serves the first call within a 1 s deadline when one of 3 backends accepts TCP and never answers', async () => {
    const live = await servers(2);
    const hole = await blackHole();
    const addresses = [...live.map((server) => server.address), hole];
    const results = await bothSides((side) => firstCalls(side, addresses, 30, 1_000));
    report({
      scenario:
        'new channel, 2 healthy + 1 that accepts TCP and never answers: first call, 1 s deadline, 30 channels',
      ...describeBySide(results, (o) => `${failures(o)}, slowest ${slowest(o).toFixed(0)} ms`),
    });
    expect(failed(results.rxlb)).toEqual([]);
  });

  it('serves every waitForReady call once one backend comes back, all having been down', async () => {
    const ports = [await freePort(), await freePort()];
    const addresses = ports.map((port) => `127.0.0.1:${port}`);
    const back = new Promise<EchoServer>((resolve, reject) => {
      setTimeout(() => {
        startEchoServer(ports[0]).then((server) => {
          stops.push(() => server.stop());
          resolve(server);
        }, reject);
      }, 1_500);
    });
    const results = await bothSides(async (side) => {
      const channel = openChannel(side, addresses);
      try {
        const calls = Array.from({ length: 10 }, () =>
          unary(channel, { waitForReady: true, deadlineMs: 8_000 }),
        );
        return await Promise.all(calls);
      } finally {
        channel.close();
      }
    });
    await back;
    report({
      scenario: 'all backends down, 10 waitForReady calls, one backend back after 1.5 s',
      ...describeBySide(
        results,
        (o) => `${10 - failed(o).length} of 10 OK, the last at ${(slowest(o) / 1000).toFixed(1)} s`,
      ),
    });
    expect(failed(results.rxlb)).toEqual([]);
  });

  it('ends a waitForReady call at its deadline while every backend is down', async () => {
    const addresses = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    const results = await bothSides(async (side) => {
      const channel = openChannel(side, addresses);
      try {
        return await unary(channel, { waitForReady: true, deadlineMs: 300 });
      } finally {
        channel.close();
      }
    });
    expect(results.rxlb.code).toBe(status.DEADLINE_EXCEEDED);
    expect(results['grpc-js'].code).toBe(status.DEADLINE_EXCEEDED);
  });

  it('holds a call in the channel while its only backend is connecting, until the deadline', async () => {
    const hole = await blackHole();
    const results = await bothSides(async (side) => {
      const channel = openChannel(side, [hole]);
      try {
        return await unary(channel, { deadlineMs: 300 });
      } finally {
        channel.close();
      }
    });
    expect(results.rxlb.code).toBe(status.DEADLINE_EXCEEDED);
    expect(results['grpc-js'].code).toBe(status.DEADLINE_EXCEEDED);
  });

  it('cancels a call that waits in the channel; it never reaches the backend that comes up after', async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const channels = {
      rxlb: openChannel('rxlb', [address]),
      'grpc-js': openChannel('grpc-js', [address]),
    };
    stops.push(() => {
      for (const channel of Object.values(channels)) channel.close();
    });
    const abort = new AbortController();
    const cancelled = bothSides((side) =>
      unary(channels[side], { waitForReady: true, signal: abort.signal }),
    );
    setTimeout(() => abort.abort(), 100);
    const results = await cancelled;
    expect(results.rxlb.code).toBe(status.CANCELLED);
    expect(results['grpc-js'].code).toBe(status.CANCELLED);

    const server = await startEchoServer(port);
    stops.push(() => server.stop());
    const later = await bothSides((side) =>
      unary(channels[side], { waitForReady: true, deadlineMs: 8_000 }),
    );
    expect([later.rxlb.code, later['grpc-js'].code]).toEqual([status.OK, status.OK]);
    expect(server.received).toBe(2);
  });
});
