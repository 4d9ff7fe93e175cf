/**
 * Cluster peers, namespaces and admin partitions on ConsulTestServer's health query, as
 * Consul answers them: imported services under `?peer=`; `ns`/`partition` refused by Consul CE
 * with its own 400, honoured by an Enterprise server (`enterprise: true`).
 */
import type Consul from 'consul';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';
import { consulClient, consulHttp } from './http.js';

const servers: ConsulTestServer[] = [];
const clients: Consul[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  for (const server of servers.splice(0)) await server.stop();
});

async function start(options: ConstructorParameters<typeof ConsulTestServer>[0] = {}) {
  const server = await new ConsulTestServer({ nodeName: 'n1', ...options }).start();
  servers.push(server);
  const consul = consulClient(server.address);
  clients.push(consul);
  return { server, consul, http: consulHttp(server) };
}

/** `consul`'s health.service() with the options it takes beyond its .d.ts (`partition`). */
const healthService = (consul: Consul, options: Readonly<Record<string, string>>) =>
  (consul.health as unknown as { service(o: object): Promise<unknown> }).service(options);

type Entry = {
  Node: Record<string, unknown> & { Node: string };
  Service: Record<string, unknown> & { ID: string };
};
const ids = (entries: Entry[]) => entries.map((e) => e.Service.ID).sort();
const PASSING = { TTL: '1m', Status: 'passing' } as const;

describe('ConsulTestServer: cluster peers', () => {
  it("answers ?peer= with the peer's imported instances, marked with PeerName", async () => {
    const { server, consul, http } = await start();
    server.registerService({ Name: 'web', ID: 'local', Port: 1, Check: PASSING });
    server.importService('cluster-02', { Name: 'web', ID: 'w2', Port: 2, Check: PASSING });
    const imported = (await healthService(consul, {
      service: 'web',
      peer: 'cluster-02',
    })) as Entry[];
    // the consul client drops peer: it asked for the local instances
    expect(ids(imported)).toEqual(['local']);
    const answer = await http.get('/v1/health/service/web?peer=cluster-02&passing');
    expect(answer.status).toBe(200);
    const [entry] = answer.json<Entry[]>();
    expect(entry?.Service).toMatchObject({ ID: 'w2', PeerName: 'cluster-02', Port: 2 });
    expect(entry?.Node).toMatchObject({ Node: 'cluster-02-node', PeerName: 'cluster-02' });
    const catalog = await http.get('/v1/catalog/service/web?peer=cluster-02');
    expect(catalog.json()).toMatchObject([{ ServiceID: 'w2', PeerName: 'cluster-02' }]);
    const local = await http.get('/v1/health/service/web');
    expect(ids(local.json<Entry[]>())).toEqual(['local']);
    expect(local.json<Entry[]>()[0]?.Service.PeerName).toBe('');
  });

  it('answers a peer it does not know with no instances, as Consul does', async () => {
    const { http } = await start();
    const answer = await http.get('/v1/health/service/web?peer=nobody');
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual([]);
  });

  it("wakes a blocked ?peer= query when the peer's instances change", async () => {
    const { server, http } = await start();
    server.importService('cluster-02', { Name: 'web', ID: 'w2', Port: 2, Check: PASSING });
    const { index } = await http.get('/v1/health/service/web?peer=cluster-02');
    const blocked = http.get(`/v1/health/service/web?peer=cluster-02&index=${index}&wait=1m`);
    server.removeImportedService('cluster-02', 'w2');
    const answer = await blocked;
    expect(answer.index).toBeGreaterThan(index);
    expect(answer.json()).toEqual([]);
  });
});

describe('ConsulTestServer: namespaces and partitions on Consul CE (the default)', () => {
  it('refuses ns= with 400 and the text of Consul CE, on health and catalog reads', async () => {
    const { http } = await start();
    for (const path of ['/v1/health/service/web', '/v1/catalog/service/web']) {
      const answer = await http.get(`${path}?ns=team-a`);
      expect(answer.status).toBe(400);
      expect(answer.text).toBe(
        'Bad request: Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature',
      );
    }
  });

  it('refuses partition= (as the consul client sends it) and the headers alike', async () => {
    const { consul, http } = await start();
    await expect(healthService(consul, { service: 'web', partition: 'web' })).rejects.toMatchObject(
      { statusCode: 400 },
    );
    const refused = await http.get('/v1/health/service/web?partition=web');
    expect(refused.text).toBe(
      'Bad request: Invalid query parameter: "partition" - Partitions are a Consul Enterprise feature',
    );
    const answer = await http.get('/v1/health/service/web', {
      headers: { 'X-Consul-Namespace': 'team-a' },
    });
    expect(answer.status).toBe(400);
    expect(answer.text).toBe(
      'Bad request: Invalid header: "X-Consul-Namespace" - Namespaces are a Consul Enterprise feature',
    );
  });

  it('shows no Namespace or Partition fields', async () => {
    const { server, http } = await start();
    server.registerService({ Name: 'web', Port: 1 });
    const [entry] = (await http.get('/v1/health/service/web')).json<Entry[]>();
    expect(entry?.Service).not.toHaveProperty('Namespace');
    expect(entry?.Node).not.toHaveProperty('Partition');
  });

  it('refuses a Namespace in registerService(), naming the option it needs', async () => {
    const { server } = await start();
    expect(() => server.registerService({ Name: 'web', Port: 1, Namespace: 'team-a' })).toThrow(
      'enterprise: true',
    );
  });
});

describe('ConsulTestServer: namespaces and partitions on Enterprise', () => {
  it('answers each namespace and partition its own instances, default when not asked', async () => {
    const { server, http } = await start({ enterprise: true });
    server.registerService({ Name: 'web', ID: 'd', Port: 1 });
    server.registerService({ Name: 'web', ID: 'a', Port: 2, Namespace: 'team-a' });
    server.registerService({ Name: 'web', ID: 'p', Port: 3, Partition: 'eu', Namespace: 'team-a' });
    const get = async (query: string) =>
      ids((await http.get(`/v1/health/service/web${query}`)).json<Entry[]>());
    expect(await get('')).toEqual(['d']);
    expect(await get('?ns=default&partition=default')).toEqual(['d']);
    expect(await get('?ns=team-a')).toEqual(['a']);
    expect(await get('?ns=team-a&partition=eu')).toEqual(['p']);
    const catalog = await http.get('/v1/catalog/service/web?ns=team-a');
    expect(catalog.json()).toMatchObject([
      { ServiceID: 'a', Namespace: 'team-a', Partition: 'default' },
    ]);
    const [entry] = (await http.get('/v1/health/service/web?ns=team-a')).json<Entry[]>();
    expect(entry?.Service).toMatchObject({ Namespace: 'team-a', Partition: 'default' });
    expect(entry?.Node).toMatchObject({ Partition: 'default' });
  });

  it('honours partition= from the consul client, and the namespace header', async () => {
    const { server, consul, http } = await start({ enterprise: true });
    server.registerService({ Name: 'web', ID: 'p', Port: 3, Partition: 'eu' });
    const entries = (await healthService(consul, { service: 'web', partition: 'eu' })) as Entry[];
    expect(ids(entries)).toEqual(['p']);
    const none = await http.get('/v1/health/service/web', {
      headers: { 'X-Consul-Namespace': 'team-b' },
    });
    expect(none.json()).toEqual([]);
  });
});
