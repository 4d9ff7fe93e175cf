/**
 * Conformance with grpc-js's round_robin, part 2: backends that go away and come back under
 * steady traffic, with no retry middleware. Both channels run at the same time on the same
 * backends, so they live through the very same shutdowns and restarts.
 */
import type { Channel } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { BalancedChannelOptions } from '../../../src/grpc/options.js';
import type { EjectionEvent } from '../../../src/grpc/outlier-detection.js';
import { type EchoServer, startEchoServer, startEchoServers } from '../../support/echo-server.js';
import { failures, type Outcome, unary } from './calls.js';
import { conformanceReport, describeBySide } from './report.js';
import { bothSides, openChannel, type SideName } from './sides.js';

const report = conformanceReport('restarts');
let servers: EchoServer[] = [];
const channels: Channel[] = [];
afterEach(() => {
  for (const channel of channels.splice(0)) channel.close();
  for (const server of servers) server.stop();
});

/** An outcome, stamped with when it ended (performance.now()). */
type Stamped = Outcome & { readonly at: number };

/** Keeps `callers` calls in flight on `channel` until `running()` says stop. */
async function traffic(
  channel: Channel,
  callers: number,
  running: () => boolean,
  outcomes: Stamped[] = [],
) {
  const caller = async () => {
    while (running()) {
      const outcome = await unary(channel, { deadlineMs: 5_000 });
      outcomes.push({ ...outcome, at: performance.now() });
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  return outcomes;
}

/** Both sides' channels over the servers, connected (one call each went through). */
async function connectedChannels(
  options: BalancedChannelOptions = {},
): Promise<Record<SideName, Channel>> {
  const addresses = servers.map((server) => server.address);
  const opened = await bothSides(async (side) => {
    const channel = openChannel(side, addresses, options);
    channels.push(channel);
    await unary(channel, { waitForReady: true, deadlineMs: 5_000 });
    return channel;
  });
  return opened;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const failed = (outcomes: readonly Outcome[]) => outcomes.filter((o) => o.code !== status.OK);

/** Replaces server `i` by a new one on the same port once it has shut down gracefully. */
async function restartGracefully(i: number): Promise<void> {
  const old = servers[i] as EchoServer;
  await old.shutdown();
  old.stop();
  servers[i] = await startEchoServer(Number(old.address.split(':')[1]));
}

describe('conformance with grpc-js round_robin: shutdowns and restarts', () => {
  it('fails no call when a backend shuts down gracefully (GOAWAY) under 16 callers', async () => {
    servers = await startEchoServers(3);
    const opened = await connectedChannels();
    let running = true;
    const load = bothSides((side) => traffic(opened[side], 16, () => running));
    await sleep(500);
    await (servers[0] as EchoServer).shutdown();
    await sleep(500);
    running = false;
    const results = await load;
    report({
      scenario: 'one graceful shutdown (GOAWAY) under 16 callers, no retry middleware',
      ...describeBySide(results, failures),
    });
    expect(failed(results.rxlb)).toEqual([]);
  });

  it('fails no call through rolling restarts of every backend under 16 callers', async () => {
    servers = await startEchoServers(3);
    const opened = await connectedChannels();
    let running = true;
    const load = bothSides((side) => traffic(opened[side], 16, () => running));
    // One at a time, the next once the new process serves calls, as a deploy would do it.
    for (let i = 0; i < servers.length; i++) {
      await sleep(200);
      await restartGracefully(i);
      const restarted = servers[i] as EchoServer;
      for (let waited = 0; waited < 10_000 && restarted.received < 20; waited += 20) {
        await sleep(20);
      }
    }
    await sleep(300);
    running = false;
    const results = await load;
    report({
      scenario:
        'rolling restarts of 3 backends (GOAWAY, same port, one at a time) under 16 callers',
      ...describeBySide(results, failures),
    });
    expect(failed(results.rxlb)).toEqual([]);
  });

  it('sends calls to a killed backend within 2 s of it listening again, outlier detection on', async () => {
    servers = await startEchoServers(3);
    // One connection failure ejects (for 30 s), should the calls the kill resets count.
    const ejections: EjectionEvent[] = [];
    const outlierDetection = {
      consecutiveFailures: 1,
      onEjection: (e: EjectionEvent) => ejections.push(e),
    };
    const opened = await connectedChannels({ outlierDetection });
    const victim = servers[1] as EchoServer;
    let running = true;
    const live: Record<SideName, Stamped[]> = { rxlb: [], 'grpc-js': [] };
    const load = bothSides((side) => traffic(opened[side], 16, () => running, live[side]));
    await sleep(300);
    victim.kill();
    // Between two of grpc-js's reconnection attempts (after about 1 s, then 2.6 s ± 20 %).
    await sleep(1_500);
    const port = Number(victim.address.split(':')[1]);
    servers[1] = await startEchoServer(port);
    const listening = performance.now();
    const servedBoth = () =>
      Object.values(live).every((outcomes) =>
        outcomes.some((o) => o.backend === victim.address && o.at > listening),
      );
    // Until both sides had a call served by it, or 10 s pass.
    for (let waited = 0; waited < 10_000 && !servedBoth(); waited += 20) await sleep(20);
    running = false;
    const results = await load;
    const firstServed = (outcomes: readonly Stamped[]) => {
      const first = outcomes.find((o) => o.backend === victim.address && o.at > listening);
      return first === undefined ? Number.POSITIVE_INFINITY : first.at - listening;
    };
    report({
      scenario:
        'backend killed, restarted on the same port: first call it serves after it listens again',
      ...describeBySide(results, (o) => `after ${(firstServed(o) / 1000).toFixed(2)} s`),
    });
    expect(firstServed(results.rxlb)).toBeLessThan(2_000);
    // Both sides reconnect by grpc-js's backoff (1.6 s ± 20 %, independently drawn): within a
    // second of round_robin, rxlb has not fallen a step of backoff behind it.
    expect(firstServed(results.rxlb)).toBeLessThanOrEqual(firstServed(results['grpc-js']) + 1_000);
    // Whether the kill's resets counted (they may arrive after the connection's state says it),
    // an ejection never outlives the reconnection.
    const back = ejections.filter((e) => e.type === 'unejected').map((e) => e.reason);
    expect(back).toEqual(ejections.filter((e) => e.type === 'ejected').map(() => 'reconnected'));
  });
});
