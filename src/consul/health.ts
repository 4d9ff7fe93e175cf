/**
 * Consul's `/v1/health/service/:service` entries → an {@link InstanceSet}. The body is
 * external data: every field is checked, an entry that cannot make a valid instance is
 * skipped and reported, and nothing here throws.
 */
import { type Address, formatAddress, type Instance, type InstanceSet } from '../instance.js';
import { isRecord } from '../read-options.js';

/** An entry of a health answer that could not become an instance, and why. */
export interface SkippedEntry {
  /** Position of the entry in Consul's answer. */
  readonly position: number;
  /** `Service.ID` when it could be read. */
  readonly id: string | undefined;
  readonly reason: string;
}

export interface HealthMapping {
  readonly instances: InstanceSet;
  readonly skipped: readonly SkippedEntry[];
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

const NO_TAGS: readonly string[] = Object.freeze([]);

function stringList(value: unknown): readonly string[] {
  if (!Array.isArray(value)) return NO_TAGS;
  return Object.freeze(value.filter((tag): tag is string => typeof tag === 'string'));
}

function stringRecord(value: unknown): Readonly<Record<string, string>> {
  const result: Record<string, string> = {};
  if (isRecord(value)) {
    for (const [key, item] of Object.entries(value))
      if (typeof item === 'string') result[key] = item;
  }
  return Object.freeze(result);
}

/**
 * The instance's weight, as Consul's DNS interface weighs it: `Weights.Passing` while every
 * check of the entry passes, `Weights.Warning` while one does not (a check in warning, or a
 * critical one that `passing: false` lets through: Consul defines no weight for critical, and
 * the warning one is the operator's weight for a degraded instance). 1 when it is not a
 * positive safe integer: beyond 2^53 a weight cannot be added up exactly.
 */
function weightOf(weights: unknown, checks: unknown): number {
  const degraded =
    Array.isArray(checks) && checks.some((check) => isRecord(check) && check.Status !== 'passing');
  const weight = isRecord(weights) ? weights[degraded ? 'Warning' : 'Passing'] : undefined;
  return typeof weight === 'number' && Number.isSafeInteger(weight) && weight > 0 ? weight : 1;
}

type EntryResult = { instance: Instance } | { id: string | undefined; reason: string };

/**
 * Where an instance of another datacenter is reached with `translateWanAddresses`, as
 * Consul's `translate_wan_addrs` does: the port of `Service.TaggedAddresses.wan` when it has
 * one; the address of `Service.TaggedAddresses.wan`, else `Service.Address` when it is set
 * (the node's WAN address is not the service's), else `Node.TaggedAddresses.wan`, else the
 * LAN address.
 */
function wanHostPort(
  service: Readonly<Record<string, unknown>>,
  node: Readonly<Record<string, unknown>>,
): { host: string | undefined; port: unknown } {
  const serviceTagged = isRecord(service.TaggedAddresses) ? service.TaggedAddresses : {};
  const serviceWan = isRecord(serviceTagged.wan) ? serviceTagged.wan : {};
  const nodeTagged = isRecord(node.TaggedAddresses) ? node.TaggedAddresses : {};
  const wanPort = serviceWan.Port;
  const port = typeof wanPort === 'number' && wanPort !== 0 ? wanPort : service.Port;
  const host =
    nonEmptyString(serviceWan.Address) ??
    nonEmptyString(service.Address) ??
    nonEmptyString(nodeTagged.wan) ??
    nonEmptyString(node.Address);
  return { host, port };
}

function toInstance(entry: unknown, translateWan: boolean): EntryResult {
  if (!isRecord(entry)) return { id: undefined, reason: 'entry is not an object' };
  const { Service: service, Node: node } = entry;
  if (!isRecord(service)) return { id: undefined, reason: 'Service is missing' };
  const id = nonEmptyString(service.ID);
  if (id === undefined) return { id, reason: 'Service.ID is missing' };
  const nodeObject = isRecord(node) ? node : {};
  // Consul's rule: an empty Service.Address means "the node's address".
  const { host, port } = translateWan
    ? wanHostPort(service, nodeObject)
    : {
        host: nonEmptyString(service.Address) ?? nonEmptyString(nodeObject.Address),
        port: service.Port,
      };
  if (host === undefined) return { id, reason: 'neither Service.Address nor Node.Address is set' };
  if (typeof port !== 'number') return { id, reason: 'Service.Port is not a number' };
  const address = formatAddress(host, port);
  if (address === undefined)
    return { id, reason: `invalid address ${JSON.stringify(host)} port ${port}` };
  const datacenter = nonEmptyString(nodeObject.Datacenter);
  const nodeMeta = stringRecord(nodeObject.Meta);
  return {
    instance: Object.freeze({
      address,
      id,
      service: nonEmptyString(service.Service) ?? '',
      node: nonEmptyString(nodeObject.Node) ?? '',
      ...(datacenter !== undefined && { datacenter }),
      tags: stringList(service.Tags),
      meta: stringRecord(service.Meta),
      ...(Object.keys(nodeMeta).length > 0 && { nodeMeta }),
      weight: weightOf(service.Weights, entry.Checks),
    }),
  };
}

/**
 * Maps a health answer to instances keyed by address. When two entries share an address
 * (one process registered twice, say), the first is kept and the second reported.
 * Returns `undefined` when the body is not a JSON array at all. With `translateWan`, every
 * instance gets its WAN address (the entries are of a datacenter other than the agent's).
 */
export function mapHealthEntries(body: unknown, translateWan = false): HealthMapping | undefined {
  if (!Array.isArray(body)) return undefined;
  const instances = new Map<Address, Instance>();
  const skipped: SkippedEntry[] = [];
  body.forEach((entry: unknown, position) => {
    const result = toInstance(entry, translateWan);
    if (!('instance' in result)) {
      skipped.push({ position, id: result.id, reason: result.reason });
      return;
    }
    const { instance } = result;
    const first = instances.get(instance.address);
    if (first) {
      skipped.push({
        position,
        id: instance.id,
        reason: `duplicate address ${instance.address} (kept ${first.id})`,
      });
      return;
    }
    instances.set(instance.address, instance);
  });
  return { instances, skipped };
}
