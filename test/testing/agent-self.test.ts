/**
 * `/v1/agent/self` and `/v1/agent/members` whole, as Consul's tools read them (`consul info`
 * reads `Stats`, `consul members` the member tags, rxlb the datacenter): a snapshot of each,
 * with what changes from run to run (the node's ID, the address, Raft's index, the runtime) replaced by
 * its name. A change to these answers shows in review.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConsulTestServer, type ConsulTestServerOptions } from '../../src/testing/index.js';

let server: ConsulTestServer | undefined;
afterEach(() => server?.stop());

async function answer(options: ConsulTestServerOptions, path: string, token?: string) {
  server = await new ConsulTestServer(options).start();
  server.registerService({ Name: 'web', ID: 'web-1', Port: 1, Check: { TTL: '1m' } });
  server.registerService({
    Name: 'db',
    ID: 'db-1',
    Port: 2,
    Checks: [{ TTL: '1m' }, { TTL: '2m' }],
  });
  const response = await fetch(`http://${server.address}${path}`, {
    ...(token !== undefined && { headers: { 'X-Consul-Token': token } }),
  });
  const text = await response.text();
  return JSON.parse(
    text
      .replaceAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<node id>')
      .replaceAll(server.address, '<address>')
      .replace(/"applied_index":"\d+"/, '"applied_index":"<index>"')
      .replaceAll(process.version, '<node version>')
      .replaceAll(`"${process.arch}"`, '"<arch>"')
      .replaceAll(`"${process.platform}"`, '"<os>"'),
  ) as unknown;
}

describe("the agent's view of itself", () => {
  it('/v1/agent/self', async () => {
    expect(
      await answer(
        { datacenter: 'dc-a', nodeName: 'n1', nodeMeta: { rack: 'r1' } },
        '/v1/agent/self',
      ),
    ).toMatchSnapshot();
  });

  it('/v1/agent/self with ACLs on', async () => {
    const self = (await answer({ acl: { tokens: { t: 'read' } } }, '/v1/agent/self', 't')) as {
      Stats: { consul: { acl: string } };
    };
    expect(self.Stats.consul.acl).toBe('enabled');
  });

  it('/v1/agent/members, LAN and WAN', async () => {
    expect(
      await answer({ datacenter: 'dc-a', nodeName: 'n1' }, '/v1/agent/members'),
    ).toMatchSnapshot();
    expect(
      await answer({ datacenter: 'dc-a', nodeName: 'n1' }, '/v1/agent/members?wan=1'),
    ).toMatchSnapshot();
  });
});
