/**
 * Failover to a datacenter reached only over the WAN, end to end: dc2's greeter is registered
 * with a LAN address nobody listens on and a live WAN address, dc1's the other way round.
 * Through consulInstances$ → diff() → roundRobin() → createBalancedChannel(), real calls on
 * loopback show which addresses rxlb used.
 */
import { createClientFactory } from 'nice-grpc';
import { type Observable, ReplaySubject, share } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GreeterDefinition } from '../../examples/greeter/generated/greeter.js';
import { type GreeterServer, startGreeter } from '../../examples/greeter/server.js';
import {
  consulInstances$,
  createBalancedChannel,
  diff,
  type Picker,
  roundRobin,
} from '../../src/index.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { freePort } from '../support/net.js';

let dc1: ConsulTestServer;
let dc2: ConsulTestServer;
let local: GreeterServer;
let remote: GreeterServer;
let closed: number;
const cleanup: (() => unknown)[] = [];

beforeEach(async () => {
  dc1 = await new ConsulTestServer({ datacenter: 'dc1', nodeName: 'node-1' }).start();
  dc2 = await new ConsulTestServer({ datacenter: 'dc2', nodeName: 'node-2', wanJoin: dc1 }).start();
  local = await startGreeter();
  remote = await startGreeter();
  closed = await freePort();
  // dc1's greeter: live at its LAN address, its WAN address dead
  dc1.registerService({
    Name: 'greeter',
    ID: 'greeter-dc1',
    Address: '127.0.0.1',
    Port: local.port,
    TaggedAddresses: { wan: { Address: '127.0.0.1', Port: closed } },
    Check: { CheckID: 'greeter-dc1', TTL: '1h', Status: 'passing' },
  });
  // dc2's greeter: its LAN address unreachable from dc1, its WAN address live
  dc2.registerService({
    Name: 'greeter',
    ID: 'greeter-dc2',
    Address: '127.0.0.1',
    Port: closed,
    TaggedAddresses: { wan: { Address: '127.0.0.1', Port: remote.port } },
    Check: { CheckID: 'greeter-dc2', TTL: '1h', Status: 'passing' },
  });
});
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  local.server.forceShutdown();
  remote.server.forceShutdown();
  await dc2.stop();
  await dc1.stop();
});

function failoverClient(translateWanAddresses: boolean) {
  let latest: Picker | undefined;
  const picker$: Observable<Picker> = consulInstances$('greeter', {
    address: dc1.address,
    wait: '5s',
    backoff: { initialMs: 10, maxMs: 50 },
    failover: ['dc2'],
    translateWanAddresses,
  }).pipe(diff(), roundRobin(), share({ connector: () => new ReplaySubject(1) }));
  const watcher = picker$.subscribe((picker) => {
    latest = picker;
  });
  const channel = createBalancedChannel(picker$, { name: 'greeter' });
  cleanup.push(() => watcher.unsubscribe());
  cleanup.push(() => channel.close());
  const client = createClientFactory().create(GreeterDefinition, channel);
  const addresses = () => (latest?.instances ?? []).map((i) => i.address);
  /** `count` calls one after the other: the backends that answered, and the failures. */
  const calls = async (count: number) => {
    const backends = new Set<string>();
    let failed = 0;
    for (let i = 0; i < count; i++) {
      await client.sayHello({ name: 'rxlb' }, { signal: AbortSignal.timeout(2_000) }).then(
        ({ backend }) => backends.add(backend),
        () => failed++,
      );
    }
    return { backends: [...backends], failed };
  };
  return { addresses, calls };
}

describe('failover across the WAN', () => {
  it('with translateWanAddresses: 0 failed calls, home at its LAN address, dc2 at its WAN one', async () => {
    const c = failoverClient(true);
    await vi.waitFor(() => expect(c.addresses()).toEqual([local.address]));
    expect(await c.calls(20)).toEqual({ backends: [local.address], failed: 0 });
    dc1.setCheckStatus('greeter-dc1', 'critical', 'down');
    await vi.waitFor(() => expect(c.addresses()).toEqual([remote.address]));
    expect(await c.calls(20)).toEqual({ backends: [remote.address], failed: 0 });
  });

  it("without it (the default): dc2's LAN address, which fails every call", async () => {
    const c = failoverClient(false);
    await vi.waitFor(() => expect(c.addresses()).toEqual([local.address]));
    expect(await c.calls(5)).toEqual({ backends: [local.address], failed: 0 });
    dc1.setCheckStatus('greeter-dc1', 'critical', 'down');
    await vi.waitFor(() => expect(c.addresses()).toEqual([`127.0.0.1:${closed}`]));
    expect(await c.calls(3)).toEqual({ backends: [], failed: 3 });
  });
});
