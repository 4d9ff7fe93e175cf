/**
 * ConsulTestServer's own methods, as a test calls them: each misuse refused with a message
 * that names the method, and the defaults each leaves to Consul's (maintenance reasons, a
 * check's output, the node's WAN address, 127.0.0.1 to listen on).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConsulTestServer, type ConsulTestServerOptions } from '../../src/testing/index.js';

const servers: ConsulTestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});
async function start(options: ConsulTestServerOptions = {}): Promise<ConsulTestServer> {
  const server = new ConsulTestServer(options);
  servers.push(server);
  return server.start();
}
const json = async (server: ConsulTestServer, path: string) =>
  (await fetch(`http://${server.address}${path}`)).json() as Promise<unknown>;
type Check = { CheckID: string; Name: string; Status: string; Notes: string; Output: string };
const checksOf = (server: ConsulTestServer) =>
  json(server, '/v1/agent/checks') as Promise<Record<string, Check>>;

const DEFAULT_REASON = (what: string) =>
  `Maintenance mode is enabled for this ${what}, but no reason was provided. This is a default message.`;

describe("ConsulTestServer's methods", () => {
  it('has no address before start(), starts once, and stops before starting', async () => {
    const server = new ConsulTestServer();
    expect(() => server.address).toThrow(new Error('ConsulTestServer: not started'));
    await expect(server.stop()).resolves.toBeUndefined();
    await server.start();
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    await expect(server.start()).rejects.toThrow(new Error('ConsulTestServer: already started'));
    const { address } = server;
    await server.stop();
    // stopped, it keeps the address nothing listens on any more (for a watch to fail against)
    expect(server.address).toBe(address);
  });

  it('gives the node its LAN address as WAN address unless told another', async () => {
    const wanOf = async (server: ConsulTestServer) =>
      ((await json(server, '/v1/catalog/nodes')) as { TaggedAddresses: { wan: string } }[])[0]
        ?.TaggedAddresses.wan;
    expect(await wanOf(await start({ nodeAddress: '10.0.0.5' }))).toBe('10.0.0.5');
    expect(await wanOf(await start({ nodeAddress: '10.0.0.5', nodeWanAddress: '192.0.2.5' }))).toBe(
      '192.0.2.5',
    );
    expect(await wanOf(await start())).toBe('127.0.0.1');
  });

  it("sets a check's status, its output empty unless given; refuses a status Consul has not", async () => {
    const server = await start();
    server.registerService({ Name: 'web', ID: 'web-1', Port: 1, Check: { TTL: '1m' } });
    server.setCheckStatus('service:web-1', 'warning', 'slow');
    expect((await checksOf(server))['service:web-1']).toMatchObject({
      Status: 'warning',
      Output: 'slow',
    });
    server.setCheckStatus('service:web-1', 'passing');
    // registered again without it, the check stays (Consul's default for re-registrations)
    server.registerService({ Name: 'web', ID: 'web-1', Port: 1 });
    expect((await checksOf(server))['service:web-1']).toMatchObject({
      Status: 'passing',
      Output: '',
    });
    expect(() => server.setCheckStatus('service:web-1', 'up' as 'passing')).toThrow(
      new TypeError('setCheckStatus(): status must be passing, warning or critical'),
    );
  });

  it("puts a service and the node in maintenance with Consul's default reason, or the one given", async () => {
    const server = await start();
    server.registerService({ Name: 'web', ID: 'web-1', Port: 1 });
    server.setMaintenance('web-1', true);
    server.setNodeMaintenance(true);
    const checks = await checksOf(server);
    expect(checks['_service_maintenance:web-1']).toMatchObject({
      Name: 'Service Maintenance Mode',
      Status: 'critical',
      Notes: DEFAULT_REASON('service'),
      Output: '',
      Interval: '',
      Timeout: '',
      ServiceID: 'web-1',
    });
    expect(checks._node_maintenance).toMatchObject({
      Name: 'Node Maintenance Mode',
      Status: 'critical',
      Notes: DEFAULT_REASON('node'),
      Output: '',
      ServiceID: '',
    });
    server.setMaintenance('web-1', false);
    server.setMaintenance('web-1', true, 'deploying');
    expect((await checksOf(server))['_service_maintenance:web-1']?.Notes).toBe('deploying');
  });

  it('imports from a peer named as Consul names peers, and says what is wrong otherwise', async () => {
    const server = await start();
    const web = { Name: 'web', ID: 'w', Port: 1 };
    for (const peer of ['a', 'cluster-02', 'A1', 'x'.repeat(63)]) {
      expect(server.importService(peer, web), peer).toBe('w');
    }
    for (const peer of ['', '-a', 'a-', 'a_b', 'a.b', 'x'.repeat(64), 7 as unknown as string]) {
      expect(() => server.importService(peer, web), String(peer)).toThrow(
        new TypeError('importService(): peer must be a DNS label, as Consul names peers'),
      );
    }
    expect(() => server.importService('p', { Name: 'web', Port: -1 })).toThrow(
      new TypeError('importService(): Invalid Port -1'),
    );
    expect(() => server.removeImportedService('p', 'w')).toThrow(
      new TypeError('removeImportedService(): no instance "w" imported from "p"'),
    );
    server.removeImportedService('a', 'w');
    expect(() => server.removeImportedService('a', 'w')).toThrow(TypeError);
  });
});
