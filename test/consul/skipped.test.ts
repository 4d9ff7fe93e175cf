/** Entries Consul sends that cannot become instances: skipped, and reported in onStatus. */
import { firstValueFrom } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import type { ConsulStatus } from '../../src/consul/options.js';
import { ConsulTestServer } from '../../src/testing/index.js';

const SERVICE = 'greeter';
let server: ConsulTestServer;

beforeEach(async () => {
  server = await new ConsulTestServer().start();
});
afterEach(() => server.stop());

function entry(id: string | undefined, address: string, port: unknown) {
  return {
    Node: { Node: 'n1', Address: '', Datacenter: 'dc1' },
    Service: { ID: id, Service: SERVICE, Address: address, Port: port },
    Checks: [],
  };
}

/** The first set, with the statuses reported up to it. */
async function firstAnswer() {
  const statuses: ConsulStatus[] = [];
  const set = await firstValueFrom(
    consulInstances$(SERVICE, { address: server.address, onStatus: (s) => statuses.push(s) }),
  );
  return { addresses: [...set.keys()], statuses };
}

describe('consulInstances$ and entries it cannot use', () => {
  it('serves the valid entries and reports each skipped one with its position and reason', async () => {
    server.inject({
      kind: 'body',
      body: [
        entry('ok', '10.0.0.1', 50051),
        entry('bad-port', '10.0.0.2', 70_000),
        entry(undefined, '10.0.0.3', 50051),
        entry('copy', '10.0.0.1', 50051),
        entry('port-text', '10.0.0.4', '50051'),
        entry('no-host', '', 50051),
        entry('v6', 'fe80::7', 50051),
        'not an entry',
      ],
    });
    const { addresses, statuses } = await firstAnswer();
    expect(addresses).toEqual(['10.0.0.1:50051', '[fe80::7]:50051']);
    expect(statuses.at(-1)).toMatchObject({ state: 'ok', instances: 2 });
    expect(statuses.at(-1)?.skipped).toEqual([
      { position: 1, id: 'bad-port', reason: 'invalid address "10.0.0.2" port 70000' },
      { position: 2, id: undefined, reason: 'Service.ID is missing' },
      { position: 3, id: 'copy', reason: 'duplicate address 10.0.0.1:50051 (kept ok)' },
      { position: 4, id: 'port-text', reason: 'Service.Port is not a number' },
      { position: 5, id: 'no-host', reason: 'neither Service.Address nor Node.Address is set' },
      { position: 7, id: undefined, reason: 'entry is not an object' },
    ]);
  });

  it('serves an empty set, with every entry reported, when none is usable', async () => {
    server.inject({ kind: 'body', body: [entry('a', '10.0.0.300', 1), entry('b', ':', 1)] });
    const { addresses, statuses } = await firstAnswer();
    expect(addresses).toEqual([]);
    expect(statuses.at(-1)?.skipped.map((s) => s.id)).toEqual(['a', 'b']);
  });

  it('reports two registrations on one address as a duplicate', async () => {
    server.registerService({ Name: SERVICE, ID: 'g1', Port: 50051, Address: '127.0.0.1' });
    server.registerService({ Name: SERVICE, ID: 'g2', Port: 50051, Address: '127.0.0.1' });
    const { addresses, statuses } = await firstAnswer();
    expect(addresses).toEqual(['127.0.0.1:50051']);
    expect(statuses.at(-1)?.skipped).toEqual([
      { position: 1, id: 'g2', reason: 'duplicate address 127.0.0.1:50051 (kept g1)' },
    ]);
  });
});
