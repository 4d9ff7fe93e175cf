/**
 * Sessions and KV locks on ConsulTestServer, driven through the `consul` npm client as a
 * user's code drives them (raw HTTP only for blocking reads): Consul's defaults and refusals,
 * acquire/release with LockIndex and Session, invalidation (destroy, TTL, a critical check)
 * with the release and delete behaviours, and the lock delay.
 */
import type Consul from 'consul';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';
import { type ConsulHttp, consulClient, consulHttp } from './http.js';

let server: ConsulTestServer;
let consul: Consul;
let http: ConsulHttp;

type Session = {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number;
  Behavior: string;
  TTL: string;
  NodeChecks: string[] | null;
  ServiceChecks: unknown;
  CreateIndex: number;
  ModifyIndex: number;
};
type Entry = { Key: string; Value: string | null; LockIndex: number; Session?: string };

beforeEach(async () => {
  server = await new ConsulTestServer({ datacenter: 'dc1', nodeName: 'n1' }).start();
  consul = consulClient(server.address);
  http = consulHttp(server);
});
afterEach(async () => {
  vi.useRealTimers();
  consul.destroy();
  await server.stop();
});

const create = async (options: Parameters<Consul['session']['create']>[0] = {}) =>
  (await consul.session.create(options)).ID;
const entry = async (key: string) => (await consul.kv.get(key)) as Entry | undefined;
const acquire = (key: string, session: string, value = 'v') =>
  consul.kv.set({ key, value, acquire: session });
const release = (key: string, session: string, value = 'v') =>
  consul.kv.set({ key, value, release: session });

/** Polls `read` until `done` holds, for at most 15 s (a busy machine is slow, never that slow). */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('sessions', () => {
  it("creates with Consul's defaults: the agent's node, 15 s lock delay, release, serfHealth", async () => {
    const id = await create();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const info = (await consul.session.info(id)) as unknown as Session;
    expect(info).toEqual({
      ID: id,
      Name: '',
      Node: 'n1',
      LockDelay: 15_000_000_000,
      Behavior: 'release',
      TTL: '',
      NodeChecks: ['serfHealth'],
      ServiceChecks: null,
      CreateIndex: info.CreateIndex,
      ModifyIndex: info.CreateIndex,
    });
    expect(await consul.session.get(id)).toEqual(info);
    expect(await consul.session.list()).toEqual([info]);
    expect(await consul.session.node('n1')).toEqual([info]);
    expect(await consul.session.node('elsewhere')).toEqual([]);
    expect(await consul.session.renew(id)).toEqual([info]);
    await consul.session.destroy(id);
    expect(await consul.session.info(id)).toBeUndefined();
    expect(await consul.session.list()).toEqual([]);
    // destroying a session that is gone is no error, as in Consul
    expect((await http.put(`/v1/session/destroy/${id}`)).json()).toBe(true);
  });

  it('keeps what it is given: name, lock delay (a duration, or a number of seconds), behaviour, TTL, checks', async () => {
    server.registerService({
      Name: 'web',
      ID: 'w1',
      Check: { CheckID: 'c1', TTL: '1m', Status: 'passing' },
    });
    const id = await create({
      name: 'leader',
      lockdelay: '5s',
      behavior: 'delete',
      ttl: '30s',
      checks: ['c1'],
    });
    expect(await consul.session.info(id)).toMatchObject({
      Name: 'leader',
      LockDelay: 5e9,
      Behavior: 'delete',
      TTL: '30s',
      NodeChecks: ['c1'],
      ServiceChecks: null,
    });
    const answer = await http.put('/v1/session/create', { LockDelay: 7, Checks: [] });
    const raw = (await consul.session.info(answer.json<{ ID: string }>().ID)) as unknown as Session;
    expect([raw.LockDelay, raw.NodeChecks]).toEqual([7e9, null]);
  });

  it("refuses what Consul refuses, with Consul's 500 and text", async () => {
    server.registerService({ Name: 'web', ID: 'w1', Check: { CheckID: 'sick', TTL: '1m' } });
    const refusals: [Parameters<Consul['session']['create']>[0], string][] = [
      [{ ttl: '5s' }, "Invalid Session TTL '5000000000', must be between [10s=24h0m0s]"],
      [{ ttl: '25h' }, "Invalid Session TTL '90000000000000', must be between [10s=24h0m0s]"],
      [{ behavior: 'keep' as 'release' }, "Invalid Behavior setting 'keep'"],
      [{ node: 'ghost' }, 'Missing node registration'],
      [{ checks: ['nope'] }, "Missing check 'nope' registration"],
      [{ checks: ['sick'] }, "Check 'sick' is in critical state"],
    ];
    for (const [options, message] of refusals) {
      await expect(consul.session.create(options)).rejects.toMatchObject({
        message,
        statusCode: 500,
      });
    }
    // the bounds themselves are valid
    await create({ ttl: '10s' });
    await create({ ttl: '86400s' });
    expect(await consul.session.list()).toHaveLength(2);
    await expect(
      consul.session.renew('00000000-0000-0000-0000-000000000000'),
    ).rejects.toMatchObject({
      statusCode: 404,
      message: "Session id '00000000-0000-0000-0000-000000000000' not found",
    });
  });

  it('blocks list and info reads on the sessions index', async () => {
    const first = await http.get('/v1/session/list');
    const blocked = http.get(`/v1/session/list?index=${first.index}&wait=10s`);
    const id = await create({ name: 'late' });
    const woken = await blocked;
    expect(woken.index).toBeGreaterThan(first.index);
    expect(woken.json<Session[]>().map((s) => s.ID)).toEqual([id]);

    const info = await http.get(`/v1/session/info/${id}`);
    const gone = http.get(`/v1/session/info/${id}?index=${info.index}&wait=10s`);
    await consul.session.destroy(id);
    expect((await gone).json()).toEqual([]);
  });
});

describe('KV locks', () => {
  it('acquire and release: true/false, LockIndex on each new holder, Session on the entry', async () => {
    const s1 = await create();
    const s2 = await create();
    expect(await acquire('lock', s1, 'one')).toBe(true);
    expect(await entry('lock')).toMatchObject({ Value: 'one', LockIndex: 1, Session: s1 });
    // held by another: false (which this client hands back as undefined), nothing changes
    expect(await acquire('lock', s2, 'two')).toBeFalsy();
    expect(await entry('lock')).toMatchObject({ Value: 'one', Session: s1 });
    // the holder acquiring again updates the value, LockIndex stays
    expect(await acquire('lock', s1, 'again')).toBe(true);
    expect(await entry('lock')).toMatchObject({ Value: 'again', LockIndex: 1, Session: s1 });
    // a plain write keeps the lock
    expect(await consul.kv.set('lock', 'plain')).toBe(true);
    expect(await entry('lock')).toMatchObject({ Value: 'plain', Session: s1 });
    expect(await release('lock', s2)).toBeFalsy();
    expect(await release('lock', s1, 'free')).toBe(true);
    const released = await entry('lock');
    expect(released).toMatchObject({ Value: 'free', LockIndex: 1 });
    expect(released).not.toHaveProperty('Session');
    expect(await acquire('lock', s2)).toBe(true);
    expect(await entry('lock')).toMatchObject({ LockIndex: 2, Session: s2 });
    // an unknown session is refused as Consul refuses it
    const unknown = await http.put(
      '/v1/kv/other?acquire=00000000-0000-0000-0000-000000000000',
      'x',
    );
    expect([unknown.status, unknown.text]).toEqual([
      500,
      'invalid session "00000000-0000-0000-0000-000000000000"',
    ]);
  });

  it('destroying a release session frees its keys (value kept), which then wait out its lock delay', async () => {
    const holder = await create({ lockdelay: '60s' });
    const other = await create();
    await acquire('a', holder, 'kept');
    await consul.session.destroy(holder);
    const freed = await entry('a');
    expect(freed).toMatchObject({ Value: 'kept', LockIndex: 1 });
    expect(freed).not.toHaveProperty('Session');
    // within the lock delay nobody can acquire it
    expect(await acquire('a', other)).toBeFalsy();
    expect((await entry('a'))?.Session).toBeUndefined();

    // a short lock delay runs out
    const brief = await create({ lockdelay: '300ms' });
    await acquire('b', brief);
    await consul.session.destroy(brief);
    const taken = await eventually(
      () => acquire('b', other),
      (ok) => ok === true,
    );
    expect(taken).toBe(true);

    // no lock delay: at once
    const none = await create({ lockdelay: '0s' });
    await acquire('c', none);
    await consul.session.destroy(none);
    expect(await acquire('c', other)).toBe(true);
  });

  it('destroying a delete session deletes its keys; a plain release gives no lock delay', async () => {
    const s = await create({ behavior: 'delete' });
    const other = await create();
    await acquire('gone', s);
    await acquire('kept', s);
    expect(await release('kept', s)).toBe(true);
    await consul.session.destroy(s);
    expect(await entry('gone')).toBeUndefined();
    expect(await entry('kept')).toMatchObject({ Key: 'kept' });
    expect(await acquire('kept', other)).toBe(true);
  });

  it('a check of the session turning critical invalidates it and frees its locks', async () => {
    server.registerService({
      Name: 'web',
      ID: 'w1',
      Check: { CheckID: 'c1', TTL: '1m', Status: 'passing' },
    });
    const s = await create({ checks: ['serfHealth', 'c1'], lockdelay: '0s' });
    await acquire('leader', s);
    server.setCheckStatus('c1', 'critical');
    expect(await consul.session.list()).toEqual([]);
    expect((await entry('leader'))?.Session).toBeUndefined();
  });

  it('locks and checks sessions in /v1/txn', async () => {
    const s = await create();
    const value = Buffer.from('x').toString('base64');
    const locked = await http.put('/v1/txn', [
      { KV: { Verb: 'lock', Key: 't', Value: value, Session: s } },
      { KV: { Verb: 'check-session', Key: 't', Session: s } },
    ]);
    expect(locked.status).toBe(200);
    expect(await entry('t')).toMatchObject({ LockIndex: 1, Session: s });
    const other = await create();
    const refused = await http.put('/v1/txn', [{ KV: { Verb: 'lock', Key: 't', Session: other } }]);
    expect(refused.status).toBe(409);
    expect(refused.json()).toMatchObject({
      Errors: [{ OpIndex: 0, What: 'failed to lock key "t", lock is already held' }],
    });
    const unlocked = await http.put('/v1/txn', [{ KV: { Verb: 'unlock', Key: 't', Session: s } }]);
    expect(unlocked.status).toBe(200);
    expect((await entry('t'))?.Session).toBeUndefined();
  });
});

describe('session TTL (fake clock)', () => {
  it('renew restarts the TTL; Consul invalidates after twice the TTL, and so does the server', async () => {
    const s = await create({ ttl: '10s', lockdelay: '0s' });
    await acquire('ttl-lock', s);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.advanceTimersByTime(19_000);
    expect(await consul.session.info(s)).toMatchObject({ ID: s });
    expect(await consul.session.renew(s)).toMatchObject([{ ID: s, TTL: '10s' }]);
    vi.advanceTimersByTime(19_000);
    expect(await consul.session.info(s)).toMatchObject({ ID: s });
    vi.advanceTimersByTime(1_001);
    expect(await consul.session.info(s)).toBeUndefined();
    expect((await entry('ttl-lock'))?.Session).toBeUndefined();
    await expect(consul.session.renew(s)).rejects.toMatchObject({ statusCode: 404 });
  });
});
