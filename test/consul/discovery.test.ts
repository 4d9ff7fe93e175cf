/**
 * consulInstances$ against Consul's HTTP API: the portable behaviour, run against
 * ConsulTestServer and, when CONSUL_HTTP_ADDR is set, against a real Consul too.
 */
import { firstValueFrom } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import type { InstanceSet } from '../../src/instance.js';
import { type ConsulUnderTest, startConsul, targets } from '../support/consul.js';
import { record } from '../support/observe.js';

const addresses = (set: InstanceSet | undefined) => [...(set?.keys() ?? [])].sort();

describe.each(targets)('consulInstances$ against the %s', (kind) => {
  let consul: ConsulUnderTest;
  let service: string;
  const watch = (options: Parameters<typeof consulInstances$>[1] = {}) =>
    consulInstances$(service, { address: consul.address, wait: '2s', ...options });

  beforeEach(async () => {
    consul = await startConsul(kind);
    service = consul.serviceName('greeter');
  });
  afterEach(() => consul.close());

  it('emits the first set as soon as Consul answers', async () => {
    await consul.register(service, 50051);
    await consul.register(service, 50052, { tags: ['v2'], meta: { zone: 'b' } });
    const set = await firstValueFrom(watch());
    expect(addresses(set)).toEqual(['127.0.0.1:50051', '127.0.0.1:50052']);
    expect(set.get('127.0.0.1:50052')).toMatchObject({
      id: `${service}-50052`,
      service,
      tags: ['v2'],
      meta: { zone: 'b' },
      weight: 1,
    });
  });

  it('emits an empty first set when the service has no instance', async () => {
    expect((await firstValueFrom(watch())).size).toBe(0);
  });

  it('delivers a registration and a deregistration to the subscriber', async () => {
    await consul.register(service, 50051);
    const seen = record(watch());
    await vi.waitFor(() => expect(seen.values).toHaveLength(1));
    await consul.register(service, 50052);
    await vi.waitFor(() => expect(addresses(seen.values.at(-1))).toHaveLength(2));
    await consul.deregister(`${service}-50051`);
    await vi.waitFor(() => expect(addresses(seen.values.at(-1))).toEqual(['127.0.0.1:50052']));
    seen.subscription.unsubscribe();
    expect(seen.values.map(addresses)).toEqual([
      ['127.0.0.1:50051'],
      ['127.0.0.1:50051', '127.0.0.1:50052'],
      ['127.0.0.1:50052'],
    ]);
    expect(seen.error).toBeUndefined();
  });

  it('delivers a change of attributes at the same address', async () => {
    await consul.register(service, 50051, { tags: ['v1'] });
    const seen = record(watch());
    await vi.waitFor(() => expect(seen.values).toHaveLength(1));
    // re-registering the same id replaces its attributes
    await consul.register(service, 50051, { tags: ['v2'] });
    await vi.waitFor(() => expect(seen.values).toHaveLength(2));
    seen.subscription.unsubscribe();
    expect(seen.values.map((set) => set.get('127.0.0.1:50051')?.tags)).toEqual([['v1'], ['v2']]);
  });

  it('keeps only instances that carry every requested tag', async () => {
    await consul.register(service, 1, { tags: ['a'] });
    await consul.register(service, 2, { tags: ['a', 'b'] });
    await consul.register(service, 3, { tags: ['b'] });
    const set = await firstValueFrom(watch({ tags: ['a', 'b'] }));
    expect(addresses(set)).toEqual(['127.0.0.1:2']);
  });

  it('applies a filter expression', async () => {
    await consul.register(service, 1, { meta: { version: '1' } });
    await consul.register(service, 2, { meta: { version: '2' } });
    const set = await firstValueFrom(watch({ filter: 'Service.Meta.version == "2"' }));
    expect(addresses(set)).toEqual(['127.0.0.1:2']);
  });

  it('is cold: each subscription runs its own watch', async () => {
    await consul.register(service, 1);
    const source = watch();
    const [a, b] = await Promise.all([firstValueFrom(source), firstValueFrom(source)]);
    expect(a).not.toBe(b);
    expect(addresses(a)).toEqual(addresses(b));
  });
});
