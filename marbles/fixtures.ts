import {
  type Address,
  type Instance,
  type InstanceSet,
  instanceFromAddress,
  type Update,
} from '../src/instance.js';
import type { Backend, Call } from '../src/picker.js';

/** An instance at `address`, with `instanceFromAddress`'s defaults unless overridden. */
export function instance(
  address: Address,
  attributes: Partial<Omit<Instance, 'address'>> = {},
): Instance {
  return { ...instanceFromAddress(address), ...attributes };
}

/**
 * `member` as a balanced channel hands it to a pick: with what the channel measured of it,
 * nothing (no call in flight, the neutral latency of 1 ms, no outcome, health unchecked) unless
 * given.
 */
export function backend(
  member: Instance,
  measured: Partial<Omit<Backend, 'instance'>> = {},
): Backend {
  return {
    instance: member,
    inFlight: 0,
    latencyMs: 1,
    successes: 0,
    failures: 0,
    health: 'UNCHECKED',
    ...measured,
  };
}

export function added(value: Instance | Address): Update {
  const instanceToAdd = typeof value === 'string' ? instance(value) : value;
  return { op: 'add', address: instanceToAdd.address, instance: instanceToAdd };
}

export function deleted(address: Address): Update {
  return { op: 'delete', address };
}

/** `10.0.0.1:80`, with the attributes that differ from an address-only instance. */
export function describeInstance(value: Instance | Address | undefined): string {
  if (value === undefined || typeof value === 'string') return String(value);
  const plain = instanceFromAddress(value.address);
  const notes: string[] = [];
  if (value.weight !== plain.weight) notes.push(`weight ${value.weight}`);
  if (value.tags.length > 0) notes.push(`tags ${value.tags.join(',')}`);
  for (const [key, metaValue] of Object.entries(value.meta)) notes.push(`${key}=${metaValue}`);
  return notes.length > 0 ? `${value.address} (${notes.join(', ')})` : value.address;
}

/** `[+10.0.0.1:80, -10.0.0.2:80]` */
export function describeBatch(batch: readonly Update[]): string {
  const updates = batch.map((update) =>
    update.op === 'add' ? `+${describeInstance(update.instance)}` : `-${update.address}`,
  );
  return `[${updates.join(', ')}]`;
}

/** An instance set of address-only instances. */
export function instanceSet(...addresses: readonly Address[]): InstanceSet {
  return new Map(addresses.map((address) => [address, instance(address)]));
}

/** `{10.0.0.1:80, 10.0.0.2:80}` */
export function describeSet(set: InstanceSet): string {
  return `{${Array.from(set.values(), describeInstance).join(', ')}}`;
}

/** A call as a balanced channel hands it to a pick, with request headers `headers`. */
export function call(headers: Readonly<Record<string, string>> = {}, method = ''): Call {
  return { method, metadata: { get: (key) => headers[key] } };
}
