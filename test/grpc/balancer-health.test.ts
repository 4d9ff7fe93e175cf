/**
 * What a balanced channel that checks health (gRFC A17) tells its callers when no backend
 * serves: the exact message of a failed call, the channel's state while a connected backend
 * has not answered yet, what it logs, and the picker's view of usable backends.
 */
import * as grpc from '@grpc/grpc-js';
import { ServerError, Status } from 'nice-grpc';
import { BehaviorSubject } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import type { BalancedChannel } from '../../src/grpc/balanced-channel.js';
import { answers, healthOf, over, useHealthChecks } from '../support/health-checks.js';
import type { HealthServer } from '../support/health-server.js';
import { freePort } from '../support/net.js';
import { recordingPicker, roundRobinPicker } from '../support/pickers.js';

const { servers, checkedChannel, defer } = useHealthChecks();

/** Each backend as `<address> <state> <health>`. */
const statesOf = (channel: BalancedChannel) =>
  channel.backends().map((b) => `${b.instance.address} ${b.state} ${b.health}`);

/** Servers whose health service says NOT_SERVING from the start. */
async function notServing(n: number): Promise<HealthServer[]> {
  const fleet = await servers(n);
  for (const server of fleet) server.health.setStatus('unhealthy');
  return fleet;
}

/** Answers nothing until cancelled. */
async function* silent(signal: AbortSignal) {
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
}

describe('a health-checked channel whose backends do not serve', () => {
  it('fails a call naming the 1 connected instance that is not serving, and not the unreachable one', async () => {
    const [sick] = (await notServing(1)) as [HealthServer];
    const dead = `127.0.0.1:${await freePort()}`;
    const { channel, client } = checkedChannel(
      new BehaviorSubject(roundRobinPicker([sick.address, dead])),
    );
    await vi.waitFor(() =>
      expect(statesOf(channel)).toEqual([
        `${sick.address} READY NOT_SERVING`,
        `${dead} TRANSIENT_FAILURE PENDING`,
      ]),
    );
    expect(channel.getConnectivityState(false)).toBe(grpc.connectivityState.TRANSIENT_FAILURE);
    await expect(client.unary({ text: '' })).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      details: `no serving instance of "echo": the 1 connected instance says it is not serving (${sick.address} NOT_SERVING)`,
    });
  });

  it('lists 3 of the connected instances that are not serving and counts the others, and logs no error', async () => {
    const logged: string[] = [];
    grpc.setLogger({ error: (...args: unknown[]) => logged.push(args.join(' ')) });
    defer(() => grpc.setLogger(console));
    const fleet = await notServing(4);
    const [a, b, c, d] = fleet.map((server) => server.address) as [string, string, string, string];
    const { channel, client } = checkedChannel(over(fleet));
    await vi.waitFor(() =>
      expect(Object.values(healthOf(channel))).toEqual(Array(4).fill('NOT_SERVING')),
    );
    await expect(client.unary({ text: '' })).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      details: `no serving instance of "echo": each of the 4 connected says it is not serving (${a} NOT_SERVING, ${b} NOT_SERVING, ${c} NOT_SERVING, 1 more)`,
    });

    // the fourth dies: 3 connected, all listed
    fleet[3]?.stop();
    await vi.waitFor(() => expect(statesOf(channel)[3]).toBe(`${d} TRANSIENT_FAILURE NOT_SERVING`));
    await expect(client.unary({ text: '' })).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      details: `no serving instance of "echo": each of the 3 connected says it is not serving (${a} NOT_SERVING, ${b} NOT_SERVING, ${c} NOT_SERVING)`,
    });
    expect(logged.filter((line) => line.includes('rxlb'))).toEqual([]);
  });

  it('stays CONNECTING while a connected backend awaits its first answer, though another is unreachable', async () => {
    const [quiet] = (await servers(1, {
      watch: (_n, _request, context) => silent(context.signal),
    })) as [HealthServer];
    const dead = `127.0.0.1:${await freePort()}`;
    const { channel } = checkedChannel(
      new BehaviorSubject(roundRobinPicker([quiet.address, dead])),
    );
    await vi.waitFor(() =>
      expect(statesOf(channel)).toEqual([
        `${quiet.address} READY PENDING`,
        `${dead} TRANSIENT_FAILURE PENDING`,
      ]),
    );
    expect(channel.getConnectivityState(false)).toBe(grpc.connectivityState.CONNECTING);
  });

  it("keeps the picker's usable array while a backend out of it changes its answer (NOT_SERVING to SERVICE_UNKNOWN)", async () => {
    const fleet = await servers(3);
    const [a, b, c] = fleet.map((server) => server.address) as [string, string, string];
    const { picker, seen } = recordingPicker([a, b, c]);
    const { channel, client } = checkedChannel(new BehaviorSubject(picker));
    fleet[2]?.health.setStatus('unhealthy');
    await vi.waitFor(() =>
      expect(healthOf(channel)).toEqual({ [a]: 'SERVING', [b]: 'SERVING', [c]: 'NOT_SERVING' }),
    );
    await answers(client, 2);
    const views = seen.length;
    fleet[2]?.health.setStatus('unknown');
    await vi.waitFor(() => expect(healthOf(channel)[c]).toBe('SERVICE_UNKNOWN'));
    expect(new Set(await answers(client, 4))).toEqual(new Set([a, b]));
    expect(seen).toHaveLength(views);
    expect(seen.at(-1)?.map((backend) => backend.instance.address)).toEqual([a, b]);
  });
});

describe('outlier detection on a health-checked channel', () => {
  it('does not count calls that fail after their backend stopped serving: they eject nothing', async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let target = '';
    const fleet = await servers(2, {
      // the calls to `target` wait for release(), then fail as a backend going away would
      beforeUnary: async (_, address) => {
        if (address !== target) return;
        await held;
        throw new ServerError(Status.UNAVAILABLE, 'going away');
      },
    });
    const [sick, well] = fleet as [HealthServer, HealthServer];
    target = sick.address;
    const ejections: string[] = [];
    const { channel, client } = checkedChannel(over(fleet), {
      healthCheck: {},
      outlierDetection: {
        consecutiveFailures: 2,
        maxEjectionPercent: 100,
        onEjection: (event) => ejections.push(`${event.type} ${event.address}`),
      },
    });
    await vi.waitFor(() =>
      expect(healthOf(channel)).toEqual({ [sick.address]: 'SERVING', [well.address]: 'SERVING' }),
    );
    const calls = Array.from({ length: 6 }, () => client.unary({ text: '' }).catch(() => 'failed'));
    await vi.waitFor(() => expect(sick.calls).toBe(3));
    sick.health.setStatus('unhealthy');
    await vi.waitFor(() => expect(healthOf(channel)[sick.address]).toBe('NOT_SERVING'));
    release();
    expect((await Promise.all(calls)).filter((reply) => reply === 'failed')).toHaveLength(3);
    expect(ejections).toEqual([]);
    // the same failures on a serving backend do eject it
    sick.health.setStatus('healthy');
    await vi.waitFor(() => expect(healthOf(channel)[sick.address]).toBe('SERVING'));
    await Promise.all(Array.from({ length: 4 }, () => client.unary({ text: '' }).catch(() => 0)));
    expect(ejections).toEqual([`ejected ${sick.address}`]);
  });
});
