/**
 * The data that flows through rxlb: where a backend lives and what discovery knows of it.
 * Nothing here knows about Consul or gRPC.
 */

import { isIPv4, isIPv6 } from 'node:net';

/**
 * A backend's `host:port`. IPv6 hosts are written in brackets: `"[::1]:50051"`. There is no
 * need to canonicalise one before feeding it to discovery: {@link diff} writes every address
 * it is given in one form (`"10.0.0.1:080"` becomes `"10.0.0.1:80"`), so that the same
 * backend always has the same key downstream.
 */
export type Address = string;

/** One backend of a service, as discovery describes it. Immutable. */
export interface Instance {
  /** `host:port` the channel connects to; the key of an {@link InstanceSet}. */
  readonly address: Address;
  /** Discovery's id for the instance (Consul's `Service.ID`); the address when unknown. */
  readonly id: string;
  /** The service name (Consul's `Service.Service`); empty when unknown. */
  readonly service: string;
  /** The node it runs on (Consul's `Node.Node`); empty when unknown. */
  readonly node: string;
  /** The datacenter it was discovered in, when known. */
  readonly datacenter?: string;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  /**
   * The meta of the node it runs on (Consul's `Node.Meta`), when the node has any: where a
   * fleet often says a machine's zone or rack.
   */
  readonly nodeMeta?: Readonly<Record<string, string>>;
  /**
   * Relative weight (Consul's `Service.Weights.Passing`, or `Weights.Warning` while a check is
   * not passing), 1 when absent.
   */
  readonly weight: number;
}

/** The healthy instances of a service at one moment, keyed by address. */
export type InstanceSet = ReadonlyMap<Address, Instance>;

/**
 * One change to an instance set. `add` adds the instance or replaces the attributes of the
 * instance already at that address; `delete` removes the address.
 */
export type Update =
  | { readonly op: 'add'; readonly address: Address; readonly instance: Instance }
  | { readonly op: 'delete'; readonly address: Address };

const MAX_PORT = 65_535;
// A DNS name or an IPv4 literal: labels of letters, digits, '-' and '_' separated by dots.
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;
// The last label of a name that URL parsers (and so gRPC) read as an IPv4 address.
const NUMERIC_LABEL = /(?:^|\.)\d+\.?$/;

function isValidHost(host: string): boolean {
  // an IPv6 literal, optionally with a zone ("fe80::1%eth0")
  if (host.includes(':')) return isIPv6(host);
  // "10.0.0.300" or "1.2.3.4.5" is no host name: a numeric last label means IPv4
  return HOSTNAME.test(host) && (!NUMERIC_LABEL.test(host) || isIPv4(host));
}

function isValidPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port <= MAX_PORT;
}

/**
 * Joins a host and a port into an {@link Address}, putting IPv6 hosts in brackets.
 * Returns `undefined` when the host is empty or malformed or the port is not in 1..65535.
 */
export function formatAddress(host: string, port: number): Address | undefined {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (!isValidHost(bare) || !isValidPort(port)) return undefined;
  return bare.includes(':') ? `[${bare}]:${port}` : `${bare}:${port}`;
}

/**
 * Splits an {@link Address} into host and port, or returns `undefined` when it is not a
 * well-formed `host:port` / `[ipv6]:port`.
 */
export function parseAddress(address: string): { host: string; port: number } | undefined {
  let host: string;
  let portText: string;
  if (address.startsWith('[')) {
    const close = address.indexOf(']');
    if (close < 0 || address[close + 1] !== ':') return undefined;
    host = address.slice(1, close);
    portText = address.slice(close + 2);
    if (!host.includes(':')) return undefined;
  } else {
    const colon = address.lastIndexOf(':');
    if (colon < 0) return undefined;
    host = address.slice(0, colon);
    portText = address.slice(colon + 1);
    if (host.includes(':')) return undefined; // unbracketed IPv6 is ambiguous
  }
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (!isValidHost(host) || !isValidPort(port)) return undefined;
  return { host, port };
}

/**
 * The canonical form of an address (`formatAddress(parseAddress(a))`), or `undefined` when
 * it is malformed. An address already canonical is returned as it is, not as an equal copy:
 * a list of thousands keeps one string per address.
 */
export function normalizeAddress(address: string): Address | undefined {
  const parts = parseAddress(address);
  const canonical = parts && formatAddress(parts.host, parts.port);
  return canonical === address ? address : canonical;
}

const NO_TAGS: readonly string[] = Object.freeze([]);
const NO_META: Readonly<Record<string, string>> = Object.freeze({});

/** An instance known only by its address, as a static list provides it. */
export function instanceFromAddress(address: Address): Instance {
  return { address, id: address, service: '', node: '', tags: NO_TAGS, meta: NO_META, weight: 1 };
}

/** True when two instances have the same address and the same attributes. */
export function sameInstance(a: Instance, b: Instance): boolean {
  if (a === b) return true;
  if (
    a.address !== b.address ||
    a.id !== b.id ||
    a.service !== b.service ||
    a.node !== b.node ||
    a.datacenter !== b.datacenter ||
    a.weight !== b.weight ||
    a.tags.length !== b.tags.length
  ) {
    return false;
  }
  for (let i = 0; i < a.tags.length; i++) if (a.tags[i] !== b.tags[i]) return false;
  return sameRecord(a.meta, b.meta) && sameRecord(a.nodeMeta ?? NO_META, b.nodeMeta ?? NO_META);
}

function sameRecord(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean {
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  for (const key of aKeys) if (!Object.hasOwn(b, key) || a[key] !== b[key]) return false;
  return true;
}
