import type { Instance, InstanceSet, Update } from '../src/instance.js';

/**
 * A Consul-like instance at a distinct address; a fresh object each call, as every Consul
 * answer brings.
 */
export function consulInstance(i: number, version = '1'): Instance {
  const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:50051`;
  return {
    address,
    id: `greeter-${i}`,
    service: 'greeter',
    node: `node-${i % 50}`,
    datacenter: 'dc1',
    tags: ['grpc', 'v1'],
    meta: { version },
    weight: 1,
  };
}

/** `size` instances numbered from `first`, keyed by address; `changed` carries version 2. */
export function instanceSet(size: number, { first = 0, changed = -1 } = {}): InstanceSet {
  const set = new Map<string, Instance>();
  for (let i = first; i < first + size; i++) {
    const instance = consulInstance(i, i === changed ? '2' : '1');
    set.set(instance.address, instance);
  }
  return set;
}

/** A batch that adds `size` instances. */
export function addAll(size: number): Update[] {
  return [...instanceSet(size).values()].map((instance) => ({
    op: 'add',
    address: instance.address,
    instance,
  }));
}

/** `"10,000 instances"` */
export function sizeLabel(size: number): string {
  return `${size.toLocaleString('en')} instances`;
}
