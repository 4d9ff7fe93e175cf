/** ConsulTestServer's KV store and transactions, with the shapes and codes of Consul's KV API. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';
import { type ConsulHttp, consulHttp } from './http.js';

let server: ConsulTestServer;
let http: ConsulHttp;

beforeEach(async () => {
  server = await new ConsulTestServer().start();
  http = consulHttp(server);
});
afterEach(() => server.stop());

type Entry = {
  Key: string;
  Value: string | null;
  Flags: number;
  LockIndex: number;
  CreateIndex: number;
  ModifyIndex: number;
};
const entries = async (path: string) => (await http.get(path)).json<Entry[]>();
const value = (entry: Entry | undefined) =>
  entry?.Value == null ? null : Buffer.from(entry.Value, 'base64').toString();
const txn = (ops: Record<string, unknown>[]) =>
  http.put(
    '/v1/txn',
    ops.map((KV) => ({ KV })),
  );
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('ConsulTestServer KV reads and writes', () => {
  it("stores a value and answers it in Consul's entry shape, base64 and all", async () => {
    const put = await http.put('/v1/kv/config/web/port?flags=42', '8080');
    expect([put.status, put.text]).toEqual([200, 'true']);
    const answer = await http.get('/v1/kv/config/web/port');
    const [entry] = answer.json<Entry[]>();
    expect(entry).toEqual({
      LockIndex: 0,
      Key: 'config/web/port',
      Flags: 42,
      Value: b64('8080'),
      CreateIndex: server.index,
      ModifyIndex: server.index,
    });
    expect(answer.index).toBe(server.index);
    expect(answer.headers.get('x-consul-knownleader')).toBe('true');
  });

  it('answers ?raw with the bytes themselves as text/plain', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251]);
    await http.put('/v1/kv/blob', bytes);
    const response = await fetch(`http://${server.address}/v1/kv/blob?raw`);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(bytes);
  });

  it('stores an empty value as null, and keeps CreateIndex on update', async () => {
    await http.put('/v1/kv/empty');
    const [first] = await entries('/v1/kv/empty');
    expect(first?.Value).toBeNull();
    await http.put('/v1/kv/empty', 'now');
    const [second] = await entries('/v1/kv/empty');
    expect(second?.CreateIndex).toBe(first?.CreateIndex);
    expect(second?.ModifyIndex).toBeGreaterThan(first?.ModifyIndex ?? Infinity);
  });

  it('answers 404 with an index for a missing key, and 400 for no key at all', async () => {
    const missing = await http.get('/v1/kv/nope');
    expect([missing.status, missing.text]).toEqual([404, '']);
    expect(missing.index).toBeGreaterThan(0);
    const none = await http.get('/v1/kv/');
    expect([none.status, none.text]).toEqual([400, 'Missing key name']);
  });

  it('lists a prefix with ?recurse and its keys with ?keys and ?separator', async () => {
    for (const key of ['app/a', 'app/b/c', 'app/b/d', 'other'])
      await http.put(`/v1/kv/${key}`, key);
    expect((await entries('/v1/kv/app/?recurse')).map((e) => [e.Key, value(e)])).toEqual([
      ['app/a', 'app/a'],
      ['app/b/c', 'app/b/c'],
      ['app/b/d', 'app/b/d'],
    ]);
    expect((await http.get('/v1/kv/app/?keys')).json()).toEqual(['app/a', 'app/b/c', 'app/b/d']);
    expect((await http.get('/v1/kv/app/?keys&separator=/')).json()).toEqual(['app/a', 'app/b/']);
    expect((await http.get('/v1/kv/?keys&separator=/')).json()).toEqual(['app/', 'other']);
    expect((await http.get('/v1/kv/none/?keys')).status).toBe(404);
    expect((await http.get('/v1/kv/none/?recurse')).status).toBe(404);
  });

  it('answers the root ?keys of an empty store with [], not 404', async () => {
    expect((await http.get('/v1/kv/?keys')).json()).toEqual([]);
  });

  it('sets with ?cas only when the index matches (0: only when absent)', async () => {
    expect((await http.put('/v1/kv/k?cas=0', 'one')).text).toBe('true');
    expect((await http.put('/v1/kv/k?cas=0', 'two')).text).toBe('false');
    const [entry] = await entries('/v1/kv/k');
    expect((await http.put(`/v1/kv/k?cas=${(entry?.ModifyIndex ?? 0) - 1}`, 'stale')).text).toBe(
      'false',
    );
    expect((await http.put(`/v1/kv/k?cas=${entry?.ModifyIndex}`, 'three')).text).toBe('true');
    expect(value((await entries('/v1/kv/k'))[0])).toBe('three');
  });

  it('deletes a key, a prefix with ?recurse, and with ?cas only at the right index', async () => {
    for (const key of ['a/1', 'a/2', 'b']) await http.put(`/v1/kv/${key}`, 'x');
    expect((await http.del('/v1/kv/a/1')).text).toBe('true');
    expect((await http.get('/v1/kv/a/1')).status).toBe(404);
    expect((await http.del('/v1/kv/a/?recurse')).text).toBe('true');
    expect((await http.get('/v1/kv/?keys')).json()).toEqual(['b']);
    const [b] = await entries('/v1/kv/b');
    expect((await http.del('/v1/kv/b?cas=0')).text).toBe('false');
    expect((await http.del(`/v1/kv/b?cas=${b?.ModifyIndex}`)).text).toBe('true');
    expect((await http.get('/v1/kv/b')).status).toBe(404);
  });

  it('refuses what Consul refuses, with its codes and messages', async () => {
    expect((await http.put('/v1/kv/', 'x')).status).toBe(400);
    const conflict = await http.put('/v1/kv/k?cas=0&release=s1', 'x');
    expect([conflict.status, conflict.text]).toEqual([400, 'Conflicting flags: cas=0&release=s1']);
    const flags = await http.put('/v1/kv/k?flags=abc', 'x');
    expect([flags.status, flags.text]).toEqual([
      500,
      'strconv.ParseUint: parsing "abc": invalid syntax',
    ]);
    const big = await http.put('/v1/kv/k', Buffer.alloc(512 * 1024 + 1));
    expect(big.status).toBe(413);
    expect((await http.del('/v1/kv/')).status).toBe(400);
  });

  it('has no sessions: acquire is refused as an unknown session, release changes nothing', async () => {
    const acquire = await http.put('/v1/kv/lock?acquire=s1', 'me');
    expect([acquire.status, acquire.text]).toEqual([500, 'invalid session "s1"']);
    expect((await http.put('/v1/kv/lock?release=s1', 'me')).text).toBe('false');
    expect((await http.get('/v1/kv/lock')).status).toBe(404);
  });
});

describe('ConsulTestServer KV blocking queries', () => {
  it('blocks a key read until that key changes; other keys do not wake it', async () => {
    await http.put('/v1/kv/watched', 'old');
    const { index } = await http.get('/v1/kv/watched');
    const blocked = http.get(`/v1/kv/watched?index=${index}&wait=1m`);
    await vi.waitFor(() => expect(server.activeRequests).toBe(1));
    await http.put('/v1/kv/other', 'x');
    await http.put('/v1/kv/watched', 'new');
    const answer = await blocked;
    expect(value(answer.json<Entry[]>()[0])).toBe('new');
    expect(answer.index).toBe(server.index);
  });

  it('wakes a prefix read on a deletion under it', async () => {
    await http.put('/v1/kv/app/a', 'x');
    await http.put('/v1/kv/app/b', 'y');
    const { index } = await http.get('/v1/kv/app/?recurse');
    const blocked = http.get(`/v1/kv/app/?recurse&index=${index}&wait=1m`);
    await vi.waitFor(() => expect(server.activeRequests).toBe(1));
    await http.del('/v1/kv/app/a');
    const answer = await blocked;
    expect(answer.index).toBeGreaterThan(index);
    expect(answer.json<Entry[]>().map((e) => e.Key)).toEqual(['app/b']);
  });

  it('wakes a read of a missing key when it is created', async () => {
    const { index, status } = await http.get('/v1/kv/later');
    expect(status).toBe(404);
    const blocked = http.get(`/v1/kv/later?index=${index}&wait=1m`);
    await vi.waitFor(() => expect(server.activeRequests).toBe(1));
    server.registerService({ Name: 'web', Port: 1 }); // a catalog write is not a KV change
    await http.put('/v1/kv/later', 'here');
    expect(value((await blocked).json<Entry[]>()[0])).toBe('here');
  });
});

describe('ConsulTestServer /v1/txn', () => {
  it('applies every KV operation under one index and answers their results', async () => {
    await http.put('/v1/kv/old', 'x');
    const answer = await txn([
      { Verb: 'set', Key: 'a', Value: b64('1'), Flags: 7 },
      { Verb: 'set', Key: 'b', Value: b64('2') },
      { Verb: 'delete', Key: 'old' },
      { Verb: 'get', Key: 'a' },
    ]);
    expect(answer.status).toBe(200);
    const { Results, Errors } = answer.json<{ Results: { KV: Entry }[]; Errors: null }>();
    expect(Errors).toBeNull();
    // set answers no value; get does; delete answers nothing
    expect(Results.map((r) => [r.KV.Key, r.KV.Value])).toEqual([
      ['a', null],
      ['b', null],
      ['a', b64('1')],
    ]);
    expect(new Set(Results.map((r) => r.KV.ModifyIndex))).toEqual(new Set([server.index]));
    expect((await http.get('/v1/kv/old')).status).toBe(404);
  });

  it('rolls everything back and answers 409 with every failure when one operation fails', async () => {
    await http.put('/v1/kv/exists', 'x');
    const before = server.index;
    const answer = await txn([
      { Verb: 'set', Key: 'new', Value: b64('1') },
      { Verb: 'check-not-exists', Key: 'exists' },
      { Verb: 'get', Key: 'missing' },
    ]);
    expect(answer.status).toBe(409);
    expect(answer.json()).toEqual({
      Results: null,
      Errors: [
        { OpIndex: 1, What: 'key "exists" exists' },
        { OpIndex: 2, What: `key "missing" doesn't exist` },
      ],
    });
    expect((await http.get('/v1/kv/new')).status).toBe(404);
    expect(server.index).toBeGreaterThan(before); // like Consul: the attempt is a Raft entry
  });

  it('answers a read-only transaction without writing', async () => {
    await http.put('/v1/kv/app/a', 'x');
    const before = server.index;
    const answer = await txn([
      { Verb: 'get-tree', Key: 'app/' },
      { Verb: 'get-or-empty', Key: 'z' },
    ]);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-consul-knownleader')).toBe('true');
    const { Results } = answer.json<{ Results: { KV: Entry }[] }>();
    expect(Results.map((r) => [r.KV.Key, value(r.KV)])).toEqual([
      ['app/a', 'x'],
      ['z', null],
    ]);
    expect(server.index).toBe(before);
  });

  it('checks indexes and CAS as Consul words it', async () => {
    await http.put('/v1/kv/k', 'x');
    const answer = await txn([
      { Verb: 'check-index', Key: 'k', Index: 1 },
      { Verb: 'cas', Key: 'k', Value: b64('y'), Index: 1 },
      { Verb: 'lock', Key: 'k', Session: 's1' },
      { Verb: 'explode', Key: 'k' },
    ]);
    expect(answer.json<{ Errors: { What: string }[] }>().Errors.map((e) => e.What)).toEqual([
      `failed to check index of key "k", index is ${server.index - 1}, expected 1`,
      'failed to set key "k", index is stale',
      'invalid session "s1"',
      'unknown KV verb "explode"',
    ]);
  });

  it('refuses what it cannot run: node operations, too many operations, a body not a list', async () => {
    const node = await http.put('/v1/txn', [{ Node: { Verb: 'get', Node: { Node: 'n' } } }]);
    expect(node.status).toBe(400);
    const many = await txn(Array.from({ length: 129 }, (_, i) => ({ Verb: 'get', Key: `${i}` })));
    expect([many.status, many.text]).toEqual([
      413,
      'Transaction contains too many operations (129 > 128)',
    ]);
    expect((await http.put('/v1/txn', { KV: {} })).status).toBe(400);
  });
});
