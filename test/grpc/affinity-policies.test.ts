/**
 * ringHash() and zoneAware() as the policies of a real balanced channel over echo servers on
 * loopback: the call's header reaches the picker, and backends that go down are passed over
 * without a failed call.
 */
import { createClient, Metadata } from 'nice-grpc';
import { BehaviorSubject } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { instance } from '../../marbles/fixtures.js';
import type { BalancedChannel } from '../../src/grpc/balanced-channel.js';
import { diff } from '../../src/operators/diff.js';
import { policyOperator } from '../../src/operators/policy-operator.js';
import { ringHash } from '../../src/operators/ring-hash.js';
import { zoneAware } from '../../src/operators/zone-aware.js';
import type { Backends, Call } from '../../src/picker.js';
import { EchoService } from '../support/echo-service.js';
import { type EchoFixture, tally, useEchoServers } from '../support/fixture.js';
import { allReady } from '../support/ready.js';

const USERS = Array.from({ length: 2_000 }, (_, i) => `user-${i}`);

/** Each user's backend, from one call each, 100 at a time. */
async function backendsOf(channel: BalancedChannel, users: readonly string[]) {
  const client = createClient(EchoService, channel);
  const served = new Map<string, string>();
  for (let from = 0; from < users.length; from += 100) {
    const batch = users.slice(from, from + 100);
    const replies = await Promise.all(
      batch.map((user) =>
        client.unary({ text: '' }, { metadata: Metadata({ 'x-user-id': user }) }),
      ),
    );
    replies.forEach(({ backend }, i) => {
      served.set(batch[i] as string, backend);
    });
  }
  return served;
}

async function down(fixture: EchoFixture, channel: BalancedChannel, i: number) {
  const address = fixture.server(i).address;
  fixture.server(i).kill();
  await vi.waitFor(() =>
    expect(channel.backends().find((b) => b.instance.address === address)?.state).not.toBe('READY'),
  );
}

describe('ringHash() on a balanced channel', () => {
  const fixture = useEchoServers(10);

  it("keeps each user on one backend, spreads users evenly, and serves a down backend's users elsewhere", async () => {
    const members = fixture.addresses().map((address) => instance(address));
    const channel = fixture.channel(
      new BehaviorSubject(members).pipe(diff(), ringHash({ key: 'x-user-id' })),
    );
    await allReady(channel);
    const first = await backendsOf(channel, USERS);
    expect(await backendsOf(channel, USERS)).toEqual(first);
    const counts = tally([...first.values()].map((backend) => ({ backend })));
    expect(counts.size).toBe(10);
    expect(Math.max(...counts.values()) / (USERS.length / 10)).toBeLessThanOrEqual(1.4);

    const gone = fixture.server(0).address;
    await down(fixture, channel, 0);
    const after = await backendsOf(channel, USERS); // any failed call would reject here
    for (const user of USERS) {
      const was = first.get(user);
      if (was === gone) expect(after.get(user)).not.toBe(gone);
      else expect(after.get(user)).toBe(was);
    }
  });
});

describe('zoneAware() on a balanced channel', () => {
  const fixture = useEchoServers(6);

  it('keeps calls in zone a while it has anyone, then sends them all to b without a failure', async () => {
    const members = fixture
      .addresses()
      .map((address, i) => instance(address, { meta: { zone: i < 3 ? 'a' : 'b' } }));
    const inA = new Set(members.slice(0, 3).map((m) => m.address));
    const channel = fixture.channel(
      new BehaviorSubject(members).pipe(diff(), zoneAware({ zone: 'a' })),
    );
    await allReady(channel);
    const calls = async () => [...(await backendsOf(channel, USERS.slice(0, 300))).values()];
    const local = (await calls()).filter((backend) => inA.has(backend));
    expect(local.length / 300).toBeGreaterThanOrEqual(0.95);

    for (const i of [0, 1, 2]) await down(fixture, channel, i);
    const elsewhere = await calls();
    expect(elsewhere.filter((backend) => inA.has(backend))).toEqual([]);
    expect(elsewhere).toHaveLength(300);
  });
});

describe('zoneAware() with callers$ on a balanced channel', () => {
  const fixture = useEchoServers(4);

  it('keeps 40 to 60 % of calls in a with 1 member in a, 3 in b and callers 5 in a, 5 in b', async () => {
    const members = fixture
      .addresses()
      .map((address, i) => instance(address, { meta: { zone: i < 1 ? 'a' : 'b' } }));
    const callers = Array.from({ length: 10 }, (_, i) =>
      instance(`10.0.9.${i + 1}:80`, { meta: { zone: i < 5 ? 'a' : 'b' } }),
    );
    const channel = fixture.channel(
      new BehaviorSubject(members).pipe(
        diff(),
        zoneAware({ zone: 'a', callers$: new BehaviorSubject(callers) }),
      ),
    );
    await allReady(channel);
    const served = [...(await backendsOf(channel, USERS.slice(0, 1_000))).values()];
    const share = served.filter((backend) => backend === members[0]?.address).length / 1_000;
    expect(share).toBeGreaterThanOrEqual(0.4);
    expect(share).toBeLessThanOrEqual(0.6);
  });
});

describe('the call a picker is handed on a balanced channel', () => {
  const fixture = useEchoServers(1);

  it('reads the request headers as the call sends them, and no binary one', async () => {
    const seen: (string | undefined)[][] = [];
    const recording = policyOperator('recording()', (members) => ({
      instances: members,
      pick: (backends?: Backends, call?: Call) => {
        seen.push(['x-a', 'x-b-bin', 'x-none'].map((key) => call?.metadata.get(key)));
        return backends?.usable[0]?.instance ?? members[0];
      },
    }));
    const members = fixture.addresses().map((address) => instance(address));
    const channel = fixture.channel(new BehaviorSubject(members).pipe(diff(), recording));
    await allReady(channel);
    const metadata = Metadata({ 'x-a': ['1', '2'], 'x-b-bin': Buffer.from('b') });
    await createClient(EchoService, channel).unary({ text: '' }, { metadata });
    // nice-grpc hands grpc-js several values as one, joined with ', '
    expect(seen).toEqual([['1, 2', undefined, undefined]]);
  });
});
