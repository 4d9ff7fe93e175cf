/**
 * LAN membership between ConsulTestServers, in this process and in another one, through the
 * `consul` npm client's agent.join, agent.members and agent.forceLeave (raw HTTP for
 * `?prune`): both sides list each other alive, user events reach every member, a member that
 * dies is seen failed, force-leave makes it left, and the refusals of a join.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type Consul from 'consul';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';
import { bundled } from '../support/bundle.js';
import { consulClient, consulHttp } from './http.js';

type Member = { Name: string; Status: number; Tags: Record<string, string> };

const CHILD = fileURLToPath(new URL('../support/consul-lan-child.ts', import.meta.url));
/** A member is seen failed after a missed probe (a probe a second); generous for a busy host. */
const WITHIN_MS = 15_000;
/** Child processes start slowly on a busy machine. */
const TEST_TIMEOUT_MS = 60_000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(nodeName: string, datacenter = 'dc1'): Promise<ConsulTestServer> {
  const server = await new ConsulTestServer({ nodeName, datacenter }).start();
  cleanups.push(() => server.stop());
  return server;
}

function client(address: string): Consul {
  const consul = consulClient(address);
  cleanups.push(() => consul.destroy());
  return consul;
}

/** A test server in a child process; killed (if still running) when the test ends. */
async function startChild(
  nodeName: string,
): Promise<{ address: string; proc: ChildProcess; exited: Promise<number | null> }> {
  const proc = spawn(process.execPath, [bundled(CHILD), nodeName], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => resolve(code)),
  );
  cleanups.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    proc.once('exit', () => reject(new Error('the child exited before listening')));
  });
  lines.close();
  return { address: (JSON.parse(first) as { address: string }).address, proc, exited };
}

async function members(address: string): Promise<Member[]> {
  const answer = await fetch(`http://${address}/v1/agent/members`);
  return (await answer.json()) as Member[];
}

const statusOf = (list: readonly Member[], name: string) =>
  list.find((m) => m.Name === name)?.Status;

/** Polls `read` until `done` holds, for at most {@link WITHIN_MS}. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + WITHIN_MS;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('LAN join, members and force-leave', () => {
  it(
    'across processes: both list each other alive, events reach the other, a killed member turns failed, then left',
    async () => {
      const parent = await start('parent');
      const consul = client(parent.address);
      const child = await startChild('child');

      await consul.agent.join(child.address);
      expect(await consul.agent.members()).toMatchObject([
        { Name: 'parent', Status: 1 },
        { Name: 'child', Status: 1, Tags: { dc: 'dc1', role: 'consul' } },
      ]);
      expect(statusOf(await members(child.address), 'parent')).toBe(1);

      // a user event fired on one member reaches the other over gossip
      const fired = await consul.event.fire('deploy', 'v2');
      const seen = await eventually(
        async () =>
          (await (await fetch(`http://${child.address}/v1/event/list`)).json()) as { ID: string }[],
        (list) => list.length > 0,
      );
      expect(seen.map((e) => e.ID)).toEqual([fired.ID]);

      child.proc.kill('SIGKILL');
      await child.exited;
      const failed = await eventually(
        async () => (await consul.agent.members()) as Member[],
        (list) => statusOf(list, 'child') === 4,
      );
      expect(statusOf(failed, 'child')).toBe(4);

      await consul.agent.forceLeave('child');
      expect(statusOf((await consul.agent.members()) as Member[], 'child')).toBe(3);
      const pruned = await consulHttp(parent).put('/v1/agent/force-leave/child?prune');
      expect(pruned.status).toBe(200);
      expect(((await consul.agent.members()) as Member[]).map((m) => m.Name)).toEqual(['parent']);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a child server that stops exits by itself (nothing left running) and is then seen failed',
    async () => {
      const parent = await start('parent');
      const consul = client(parent.address);
      const child = await startChild('quitter');
      // this time the child is the one joined, by the parent's address
      await fetch(`http://${child.address}/v1/agent/join/${parent.address}`, { method: 'PUT' });
      expect(statusOf((await consul.agent.members()) as Member[], 'quitter')).toBe(1);
      // leave it a TTL session, a lock and two blocking queries to end
      const base = `http://${child.address}/v1`;
      const created = await fetch(`${base}/session/create`, {
        method: 'PUT',
        body: JSON.stringify({ TTL: '60s' }),
      });
      const { ID } = (await created.json()) as { ID: string };
      await fetch(`${base}/kv/lock?acquire=${ID}`, { method: 'PUT', body: 'me' });
      const blocked = [
        `${base}/event/list?index=1&wait=10m`,
        `${base}/session/list?index=99&wait=10m`,
      ].map((url) =>
        fetch(url)
          .then((r) => r.text())
          .catch(() => 'cut'),
      );
      child.proc.stdin?.end();
      await Promise.all(blocked);
      const lingering = setTimeout(() => child.proc.kill('SIGKILL'), WITHIN_MS);
      const code = await child.exited;
      clearTimeout(lingering);
      expect(code).toBe(0);
      const seen = await eventually(
        async () => (await consul.agent.members()) as Member[],
        (list) => statusOf(list, 'quitter') === 4,
      );
      expect(statusOf(seen, 'quitter')).toBe(4);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'in one process: members spread through a common member; an alive member refutes force-leave',
    async () => {
      const a = await start('a');
      const b = await start('b');
      const c = await start('c');
      await client(a.address).agent.join(b.address);
      await client(c.address).agent.join(b.address);
      // a learns c from b's answers to its probes
      const seen = await eventually(
        () => members(a.address),
        (list) => statusOf(list, 'c') === 1,
      );
      expect(seen.map((m) => [m.Name, m.Status])).toEqual([
        ['a', 1],
        ['b', 1],
        ['c', 1],
      ]);
      await client(a.address).agent.forceLeave('b');
      expect(statusOf(await members(a.address), 'b')).toBe(1);
      // a name nobody knows is answered with 200
      await client(a.address).agent.forceLeave('nobody');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses a join as Consul does: another datacenter, an address nobody answers; its own address is a no-op',
    async () => {
      const a = await start('a');
      const other = await start('o', 'dc2');
      const http = consulHttp(a);
      const wrong = await http.put(`/v1/agent/join/${other.address}`);
      expect([wrong.status, wrong.text]).toEqual([
        500,
        `1 error occurred:\n\t* Failed to join ${other.address}: Member 'o' part of wrong datacenter 'dc2'\n\n`,
      ]);
      const gone = await new ConsulTestServer().start();
      const address = gone.address;
      await gone.stop();
      const refused = await http.put(`/v1/agent/join/${address}`);
      expect([refused.status, refused.text]).toEqual([
        500,
        `1 error occurred:\n\t* Failed to join ${address}: dial tcp ${address}: connect: connection refused\n\n`,
      ]);
      expect((await http.put(`/v1/agent/join/${a.address}`)).status).toBe(200);
      expect((await members(a.address)).map((m) => m.Name)).toEqual(['a']);
      expect((await members(other.address)).map((m) => m.Name)).toEqual(['o']);
    },
    TEST_TIMEOUT_MS,
  );
});
