/**
 * translateWanAddresses and namespace as a single agent answers them: run against
 * ConsulTestServer and, when CONSUL_HTTP_ADDR is set, against a real Consul too.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import type { ConsulFailure } from '../../src/consul/options.js';
import type { InstanceSet } from '../../src/instance.js';
import { type ConsulUnderTest, startConsul, targets } from '../support/consul.js';
import { record } from '../support/observe.js';

const addresses = (set: InstanceSet | undefined) => [...(set?.keys() ?? [])].sort();

describe.each(targets)('peers, tenancy and WAN addresses against the %s', (kind) => {
  let consul: ConsulUnderTest;
  let service: string;
  const watch = (options: Parameters<typeof consulInstances$>[1] = {}) =>
    record(consulInstances$(service, { address: consul.address, wait: '2s', ...options }));

  beforeEach(async () => {
    consul = await startConsul(kind);
    service = consul.serviceName('greeter');
  });
  afterEach(() => consul.close());

  it("keeps the agent's own instances at their LAN address with translateWanAddresses", async () => {
    await consul.register(service, 50051, {
      taggedAddresses: { wan: { address: '203.0.113.7', port: 60051 } },
    });
    const { datacenter } = await consul.agent();
    const own = watch({ translateWanAddresses: true });
    const named = watch({ translateWanAddresses: true, dc: datacenter });
    await vi.waitFor(() => expect(addresses(own.values.at(-1))).toEqual(['127.0.0.1:50051']));
    await vi.waitFor(() => expect(addresses(named.values.at(-1))).toEqual(['127.0.0.1:50051']));
    own.subscription.unsubscribe();
    named.subscription.unsubscribe();
  });

  it('answers a peer it does not know with no instances', async () => {
    await consul.register(service, 50051);
    const w = watch({ peer: 'rxlb-no-such-peer' });
    await vi.waitFor(() => expect(w.values).toHaveLength(1));
    expect(w.values[0]?.size).toBe(0);
    w.subscription.unsubscribe();
  });

  it("reports Consul CE's refusal of a namespace to onError", async (context) => {
    if ((await consul.agent()).enterprise) context.skip();
    const failures: ConsulFailure[] = [];
    const w = watch({ namespace: 'team-a', onError: (failure) => failures.push(failure) });
    await vi.waitFor(() => expect(failures.length).toBeGreaterThan(0));
    expect(failures[0]?.error.statusCode).toBe(400);
    expect(failures[0]?.error.message).toContain('Namespaces are a Consul Enterprise feature');
    w.subscription.unsubscribe();
  });
});
