/**
 * The `consul` npm client against ConsulTestServer: every method of its agent, catalog,
 * health, status, KV, session and event APIs, called as a user would, answering what a real
 * agent answers.
 * Each test also checks that it called every method of its API, so a method the client
 * gains is a failing test until it is covered here.
 */
import type Consul from 'consul';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';
import { consulClient } from './http.js';

let server: ConsulTestServer;
let consul: Consul;

beforeEach(async () => {
  server = await new ConsulTestServer({ datacenter: 'dc1', nodeName: 'n1' }).start();
  consul = consulClient(server.address);
});
afterEach(async () => {
  consul.destroy();
  await server.stop();
});

/** `api` with every method access recorded, to compare with the methods it has. */
function track<T extends object>(api: T): { api: T; covered: () => void } {
  const called = new Set<string>();
  const proxy = new Proxy(api, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function' || typeof name !== 'string') return value;
      called.add(name);
      return value.bind(target);
    },
  });
  const covered = () => {
    const prototype: object = Object.getPrototypeOf(api);
    const methods = Object.getOwnPropertyNames(prototype).filter(
      (name) => name !== 'constructor' && typeof Reflect.get(prototype, name) === 'function',
    );
    expect([...called].sort()).toEqual(methods.sort());
  };
  return { api: proxy, covered };
}

describe('the consul npm client against ConsulTestServer', () => {
  it('agent: self, members, reload, maintenance, join, force-leave, checks and services', async () => {
    const { api: agent, covered } = track(consul.agent);
    const self = (await agent.self()) as { Config: { Datacenter: string; NodeName: string } };
    expect(self.Config).toMatchObject({ Datacenter: 'dc1', NodeName: 'n1' });
    expect(await agent.members()).toMatchObject([{ Name: 'n1', Status: 1 }]);
    await agent.reload();
    await agent.maintenance(true);
    await agent.maintenance({ enable: false, reason: 'done' });
    await agent.join('127.0.0.1');
    await agent.forceLeave('gone');

    const { api: service, covered: serviceCovered } = track(consul.agent.service);
    await service.register({
      name: 'web',
      id: 'w1',
      port: 80,
      check: { name: 'web alive', ttl: '1m', timeout: '1s' },
    });
    expect(Object.keys(await service.list())).toEqual(['w1']);
    expect(Object.keys(await agent.services())).toEqual(['w1']);
    await service.maintenance({ id: 'w1', enable: true, reason: 'deploy' });

    const { api: check, covered: checkCovered } = track(consul.agent.check);
    await check.register({ name: 'disk', ttl: '1m', timeout: '1s' });
    await check.pass('disk');
    await check.warn({ id: 'disk', note: 'filling' });
    await check.fail('service:w1');
    const checks = (await check.list()) as Record<string, { Status: string }>;
    expect(checks.disk?.Status).toBe('warning');
    expect(checks['service:w1']?.Status).toBe('critical');
    expect(Object.keys(await agent.checks())).toEqual(Object.keys(checks));
    await check.deregister('disk');
    await service.deregister('w1');
    expect(await agent.services()).toEqual({});

    covered();
    serviceCovered();
    checkCovered();
  });

  it('catalog: datacenters, nodes, services, register, deregister, connect', async () => {
    const { api: catalog, covered } = track(consul.catalog);
    expect(await catalog.datacenters()).toEqual(['dc1']);
    await catalog.register({
      node: 'ext',
      address: '10.0.0.5',
      service: { id: 'redis1', service: 'redis', port: 6379, tags: ['primary'] },
      check: { name: 'redis alive', serviceid: 'redis1', status: 'passing' },
    });
    expect(await catalog.services()).toEqual({ consul: [], redis: ['primary'] });
    const nodes = (await catalog.nodes({})) as { Node: string }[];
    expect(nodes.map((n) => n.Node)).toEqual(['ext', 'n1']);

    const { api: node, covered: nodeCovered } = track(consul.catalog.node);
    expect(await node.list({})).toEqual(nodes);
    const services = (await node.services('ext')) as { Services: Record<string, unknown> };
    expect(Object.keys(services.Services)).toEqual(['redis1']);

    const { api: service, covered: serviceCovered } = track(consul.catalog.service);
    expect(await service.list()).toEqual({ consul: [], redis: ['primary'] });
    expect(await service.nodes({ service: 'redis', tag: 'primary' })).toMatchObject([
      { Node: 'ext', ServiceID: 'redis1', ServicePort: 6379 },
    ]);

    const { api: connect, covered: connectCovered } = track(consul.catalog.connect);
    // nothing is Connect-capable on the test server, as on an agent without Connect services
    expect(await connect.nodes('redis')).toEqual([]);

    await catalog.deregister({ node: 'ext', serviceid: 'redis1' });
    expect(await catalog.services()).toEqual({ consul: [] });
    await catalog.deregister('ext');
    expect(((await catalog.nodes({})) as { Node: string }[]).map((n) => n.Node)).toEqual(['n1']);

    covered();
    nodeCovered();
    serviceCovered();
    connectCovered();
  });

  it('health: node, checks, service, state', async () => {
    server.registerService({
      Name: 'web',
      ID: 'w1',
      Port: 80,
      Check: { CheckID: 'c1', TTL: '1m' },
    });
    const { api: health, covered } = track(consul.health);
    const node = (await health.node('n1')) as { CheckID: string }[];
    expect(node.map((c) => c.CheckID)).toEqual(['c1', 'serfHealth']);
    expect(await health.checks('web')).toMatchObject([{ CheckID: 'c1', Status: 'critical' }]);
    expect(await health.service({ service: 'web', passing: true })).toEqual([]);
    expect(await health.service('web')).toMatchObject([{ Service: { ID: 'w1', Port: 80 } }]);
    expect(await health.state('critical')).toMatchObject([{ CheckID: 'c1' }]);
    expect(await health.state('any')).toHaveLength(2);
    covered();
  });

  it('status: leader and peers', async () => {
    const { api: status, covered } = track(consul.status);
    expect(await status.leader()).toBe('127.0.0.1:8300');
    expect(await status.peers()).toEqual(['127.0.0.1:8300']);
    covered();
  });

  it('kv: set, get (raw, recurse), keys, del and delete, with cas and flags', async () => {
    const { api: kv, covered } = track(consul.kv);
    expect(await kv.set('app/port', '8080')).toBe(true);
    expect(await kv.set({ key: 'app/host', value: 'example', flags: 3 })).toBe(true);
    const port = await kv.get('app/port');
    expect(port).toMatchObject({ Key: 'app/port', Value: '8080', Flags: 0 });
    const raw = (await kv.get({ key: 'app/host', raw: true })) as unknown as Buffer;
    expect(Buffer.from(raw).toString()).toBe('example');
    const all = (await kv.get({ key: 'app/', recurse: true })) as { Key: string }[];
    expect(all.map((e) => e.Key)).toEqual(['app/host', 'app/port']);
    expect(await kv.keys({ key: '', separator: '/' })).toEqual(['app/']);
    // a stale cas answers `false`, which this client hands back as undefined
    expect(await kv.set({ key: 'app/port', value: '9090', cas: 1 })).toBeFalsy();
    expect((await kv.get('app/port'))?.Value).toBe('8080');
    expect(await kv.set({ key: 'app/port', value: '9090', cas: port?.ModifyIndex ?? 0 })).toBe(
      true,
    );
    expect(await kv.get('missing')).toBeUndefined();
    expect(await kv.del('app/port')).toBe(true);
    // `delete` is the client's alias of `del`, missing from its typings
    const aliased = kv as typeof kv & { delete: (typeof kv)['del'] };
    expect(await aliased.delete({ key: 'app/', recurse: true })).toBe(true);
    expect(await kv.keys('')).toEqual([]);
    covered();
  });

  it('session: create, info and get, node, list, renew, destroy; a lock through kv', async () => {
    const { api: session, covered } = track(consul.session);
    const { ID } = await session.create({ name: 'leader', ttl: '30s', lockdelay: '1s' });
    const info = await session.info(ID);
    expect(info).toMatchObject({ ID, Name: 'leader', Node: 'n1', TTL: '30s', LockDelay: 1e9 });
    expect(await session.get({ id: ID })).toEqual(info);
    expect(await session.node('n1')).toEqual([info]);
    expect(await session.list()).toEqual([info]);
    expect(await session.renew(ID)).toEqual([info]);
    expect(await consul.kv.set({ key: 'service/leader', value: 'me', acquire: ID })).toBe(true);
    expect(await consul.kv.get('service/leader')).toMatchObject({ Session: ID, LockIndex: 1 });
    await session.destroy(ID);
    expect(await session.list()).toEqual([]);
    expect(await consul.kv.get('service/leader')).not.toHaveProperty('Session');
    covered();
  });

  it('event: fire and list', async () => {
    const { api: event, covered } = track(consul.event);
    const fired = await event.fire({ name: 'deploy', payload: Buffer.from('v2') });
    expect(fired).toMatchObject({ Name: 'deploy', LTime: 0 });
    expect(Buffer.isBuffer(fired.Payload)).toBe(true);
    expect(await event.list('deploy')).toMatchObject([{ ID: fired.ID, Payload: 'v2', LTime: 1 }]);
    covered();
  });
});
