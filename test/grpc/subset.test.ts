/**
 * subset() between diff() and a policy of a balanced channel, with real echo servers on
 * loopback, a nice-grpc client with retryOnAnotherInstance, and outlier detection on.
 */
import { createClientFactory } from 'nice-grpc';
import { BehaviorSubject, firstValueFrom, of } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { instance } from '../../marbles/fixtures.js';
import type { BalancedChannel } from '../../src/grpc/balanced-channel.js';
import { retryOnAnotherInstance } from '../../src/grpc/retry-on-another-instance.js';
import type { Instance } from '../../src/instance.js';
import { diff } from '../../src/operators/diff.js';
import { roundRobin } from '../../src/operators/round-robin.js';
import { subset } from '../../src/operators/subset.js';
import { weightedRoundRobin } from '../../src/operators/weighted-round-robin.js';
import { METRICS } from '../../src/telemetry/instruments.js';
import { type EchoReply, EchoService } from '../support/echo-service.js';
import { tally, useEchoServers } from '../support/fixture.js';
import { type HttpErrorServer, startHttpErrorServer } from '../support/http-error-server.js';
import { testMeters } from '../support/metrics.js';
import { allReady } from '../support/ready.js';

const fixture = useEchoServers(6);

/** The addresses subset() keeps of `backends` for `clientId`. */
async function subsetOf(backends: readonly (string | Instance)[], size: number, clientId: number) {
  const batch = await firstValueFrom(of(backends).pipe(diff(), subset({ size, clientId })));
  return batch.map((update) => update.address).sort();
}

function clientOf(channel: BalancedChannel) {
  const client = createClientFactory().use(retryOnAnotherInstance()).create(EchoService, channel);
  return async (n: number) => {
    const replies: EchoReply[] = [];
    for (let i = 0; i < n; i++) replies.push(await client.unary({ text: '' }));
    return replies;
  };
}

const connectedTo = (channel: BalancedChannel) =>
  channel
    .backends()
    .filter((backend) => backend.state === 'READY')
    .map((backend) => backend.instance.address)
    .sort();

describe('createBalancedChannel over subset()', () => {
  it('connects to and calls only the members of its subset', async () => {
    const all = fixture.addresses();
    const members = await subsetOf(all, 3, 0);
    const meters = testMeters();
    const channel = fixture.channel(
      of(all).pipe(diff(), subset({ size: 3, clientId: 0 }), roundRobin()),
      { name: 'echo', meterProvider: meters.meterProvider },
    );
    try {
      await allReady(channel);
      const counts = tally(await clientOf(channel)(30));
      expect([...counts.keys()].sort()).toEqual(members);
      expect([...counts.values()]).toEqual([10, 10, 10]);
      expect(connectedTo(channel)).toEqual(members);
      // counted by the channel (see below): three connections, to the members only
      expect(await meters.total(METRICS.connectionsSucceeded)).toBe(3);
      expect(await meters.total(METRICS.connectionsFailed)).toBe(0);
    } finally {
      await meters.shutdown();
    }
  });

  it('replaces a member that discovery drops by one connection, and keeps the others', async () => {
    const all = fixture.addresses();
    const sets = new BehaviorSubject<readonly string[]>(all);
    // Connections counted by the channel itself: a server's count of accepted connections
    // would also count a stray client of another test file that reconnects to a port the
    // system has since given to this test's server.
    const meters = testMeters();
    const channel = fixture.channel(
      sets.pipe(diff(), subset({ size: 3, clientId: 0 }), roundRobin()),
      { name: 'echo', meterProvider: meters.meterProvider },
    );
    try {
      await allReady(channel);
      const calls = clientOf(channel);
      await calls(30);
      const before = connectedTo(channel);
      const [gone, ...staying] = before;
      sets.next(all.filter((address) => address !== gone));
      await vi.waitFor(() => expect(connectedTo(channel)).toHaveLength(3));
      const after = connectedTo(channel);
      expect(after).toEqual(expect.arrayContaining(staying));
      expect(after).not.toContain(gone);
      const counts = tally(await calls(30));
      expect([...counts.keys()].sort()).toEqual(after);
      expect([...counts.values()]).toEqual([10, 10, 10]);
      // One connection each, ever: three at the start, one to the new member; the members
      // that stayed were not reconnected, and only the one that left was shut down.
      expect(await meters.total(METRICS.connectionsSucceeded)).toBe(4);
      expect(await meters.total(METRICS.disconnections)).toBe(1);
    } finally {
      await meters.shutdown();
    }
  });
});

describe('createBalancedChannel over subset() and weightedRoundRobin(), with outlier detection', () => {
  let broken: HttpErrorServer;
  beforeEach(async () => {
    broken = await startHttpErrorServer(503);
  });
  afterEach(() => broken.stop());

  it('ejects a member of the subset whose calls keep failing, loses no call, and shares the rest by weight', async () => {
    const backends = [
      instance(broken.address, { weight: 2 }),
      ...fixture.addresses().map((address, i) => instance(address, { weight: i + 1 })),
    ];
    let clientId = 0;
    while (!(await subsetOf(backends, 3, clientId)).includes(broken.address)) clientId++;
    const members = await subsetOf(backends, 3, clientId);
    const channel = fixture.channel(
      of(backends).pipe(diff(), subset({ size: 3, clientId }), weightedRoundRobin()),
    );
    await allReady(channel);
    const calls = clientOf(channel);
    expect(await calls(40)).toHaveLength(40);
    expect(broken.received).toBe(5);
    const healthy = members.filter((address) => address !== broken.address);
    const weightOf = (address: string) => backends.find((b) => b.address === address)?.weight ?? 0;
    const total = healthy.reduce((sum, address) => sum + weightOf(address), 0);
    const counts = tally(await calls(total * 4));
    expect(healthy.map((address) => counts.get(address))).toEqual(
      healthy.map((address) => weightOf(address) * 4),
    );
  });
});
