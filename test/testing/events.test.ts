/**
 * User events on ConsulTestServer through the `consul` npm client (raw HTTP for the index
 * header and blocking): the fire answer, the list with Lamport times and the name filter,
 * the node/service/tag filters, Consul's refusals, and the event index Consul derives from the
 * last event's ID (not monotonic), with its blocking.
 */
import type Consul from 'consul';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';
import { type ConsulHttp, consulClient, consulHttp } from './http.js';

let server: ConsulTestServer;
let consul: Consul;
let http: ConsulHttp;

type Event = { ID: string; Name: string; Payload: string | null; LTime: number; Version: number };

beforeEach(async () => {
  server = await new ConsulTestServer({ datacenter: 'dc1', nodeName: 'n1' }).start();
  consul = consulClient(server.address);
  http = consulHttp(server);
});
afterEach(async () => {
  consul.destroy();
  await server.stop();
});

/** Consul's `uuidToUint64`, written out independently: the two 64-bit halves XORed. */
function uuidToUint64(id: string): string {
  const hex = id.replaceAll('-', '');
  return (BigInt(`0x${hex.slice(0, 16)}`) ^ BigInt(`0x${hex.slice(16)}`)).toString();
}

describe('user events', () => {
  it('fire answers the event (LTime 0, as Consul); list has it with its Lamport time', async () => {
    const fired = await consul.event.fire('deploy', 'v1.2.3');
    expect(fired).toEqual({
      ID: expect.stringMatching(/^[0-9a-f-]{36}$/),
      Name: 'deploy',
      Payload: 'v1.2.3',
      NodeFilter: '',
      ServiceFilter: '',
      TagFilter: '',
      Version: 1,
      LTime: 0,
    });
    const second = await consul.event.fire('restart');
    expect(second.Payload).toBeNull();
    const all = (await consul.event.list()) as Event[];
    expect(all.map((e) => [e.ID, e.Name, e.Payload, e.LTime])).toEqual([
      [fired.ID, 'deploy', 'v1.2.3', 1],
      [second.ID, 'restart', null, 2],
    ]);
    expect(((await consul.event.list('deploy')) as Event[]).map((e) => e.ID)).toEqual([fired.ID]);
    // the raw answer carries the payload in base64
    const raw = await http.get('/v1/event/list?name=deploy');
    expect(raw.json<Event[]>()[0]?.Payload).toBe(Buffer.from('v1.2.3').toString('base64'));
  });

  it("X-Consul-Index is derived from the last listed event's ID; 1 when there is none", async () => {
    expect((await http.get('/v1/event/list')).headers.get('x-consul-index')).toBe('1');
    const a = await consul.event.fire('a');
    const b = await consul.event.fire('b');
    expect((await http.get('/v1/event/list')).headers.get('x-consul-index')).toBe(
      uuidToUint64(b.ID),
    );
    expect((await http.get('/v1/event/list?name=a')).headers.get('x-consul-index')).toBe(
      uuidToUint64(a.ID),
    );
    expect((await http.get('/v1/event/list?name=none')).headers.get('x-consul-index')).toBe('1');
  });

  it('blocks while the index is the one given, waking on the next event of that name', async () => {
    await consul.event.fire('deploy', 'one');
    const first = await http.get('/v1/event/list?name=deploy');
    const index = first.headers.get('x-consul-index') ?? '';
    const blocked = http.get(`/v1/event/list?name=deploy&index=${index}&wait=10s`);
    // an event of another name does not change this list's index
    await consul.event.fire('other');
    const next = await consul.event.fire('deploy', 'two');
    const woken = await blocked;
    expect(woken.headers.get('x-consul-index')).toBe(uuidToUint64(next.ID));
    expect(woken.json<Event[]>().map((e) => e.ID)).toContain(next.ID);
    // an index that is not the current one answers at once
    const stale = await http.get(`/v1/event/list?name=deploy&index=${index}&wait=10s`);
    expect(stale.json<Event[]>()).toHaveLength(2);
  });

  it('keeps only the events whose node, service and tag filters match this agent', async () => {
    server.registerService({ Name: 'web', ID: 'w1', Tags: ['v2'] });
    await consul.event.fire({ name: 'node-hit', payload: '', node: '^n[0-9]$' });
    await consul.event.fire({ name: 'node-miss', payload: '', node: '^other$' });
    await consul.event.fire({ name: 'service-hit', payload: '', service: 'we' });
    await consul.event.fire({ name: 'service-miss', payload: '', service: '^db$' });
    await consul.event.fire({ name: 'tag-hit', payload: '', service: 'web', tag: '^v2$' });
    const missed = await consul.event.fire({
      name: 'tag-miss',
      payload: '',
      service: 'web',
      tag: 'v1',
    });
    expect(missed).toMatchObject({ ServiceFilter: 'web', TagFilter: 'v1' });
    const names = ((await consul.event.list()) as Event[]).map((e) => e.Name);
    expect(names).toEqual(['node-hit', 'service-hit', 'tag-hit']);
  });

  it("refuses what Consul refuses, with Consul's 500 and text", async () => {
    const tagOnly = await http.put('/v1/event/fire/x?tag=v1');
    expect([tagOnly.status, tagOnly.text]).toEqual([
      500,
      'Cannot provide tag filter without service filter',
    ]);
    const badRegexp = await http.put('/v1/event/fire/x?node=(');
    expect(badRegexp.status).toBe(500);
    expect(badRegexp.text).toMatch(/^Invalid node filter: /);
    expect(await consul.event.list()).toEqual([]);
  });
});
