/**
 * The bodies of `PUT /v1/catalog/register` and `/v1/catalog/deregister`, read as Consul's
 * catalog does: a node, and optionally one service and checks on it. Consul's catalog RPC
 * refuses a bad registration with an error the HTTP layer answers with 500, so these throw
 * {@link CatalogRpcError}.
 */
import { isRecord } from '../../read-options.js';
import type { CheckFields, NodeRecord, ServiceFields } from './catalog.js';
import { field, type Json, object, stringRecord, text } from './json-fields.js';
import { CHECK_STATUSES, type CheckStatus, parseServiceFields } from './registration.js';

/** What Consul's catalog RPC refuses; the server answers 500 with the message. */
export class CatalogRpcError extends Error {
  override readonly name = 'CatalogRpcError';
}

export interface CatalogRegistration {
  readonly datacenter: string;
  readonly node: Omit<NodeRecord, 'createIndex' | 'modifyIndex'>;
  readonly skipNodeUpdate: boolean;
  readonly service: ServiceFields | undefined;
  readonly checks: readonly CheckFields[];
}

export interface CatalogDeregistration {
  readonly datacenter: string;
  readonly node: string;
  readonly serviceId: string;
  readonly checkId: string;
}

function body(raw: unknown): Json {
  if (!isRecord(raw)) throw new CatalogRpcError('Request decode failed: body is not an object');
  return raw;
}

function parseCheck(raw: unknown): CheckFields {
  if (!isRecord(raw)) throw new CatalogRpcError('Check must be an object');
  const name = text(raw, 'Name');
  const id = text(raw, 'CheckID') || name;
  if (id === '') throw new CatalogRpcError('Missing check ID');
  const status = text(raw, 'Status') || 'critical';
  if (!CHECK_STATUSES.includes(status as CheckStatus)) {
    throw new CatalogRpcError(`Invalid check status ${JSON.stringify(status)}`);
  }
  const definition = object(raw, 'Definition');
  const type = text(definition, 'HTTP') ? 'http' : text(definition, 'TCP') ? 'tcp' : '';
  return {
    id,
    name,
    serviceId: text(raw, 'ServiceID'),
    type,
    status: status as CheckStatus,
    output: text(raw, 'Output'),
    notes: text(raw, 'Notes'),
    interval: text(definition, 'Interval'),
    timeout: text(definition, 'Timeout'),
  };
}

/** Parses a catalog registration; `localDc` is the datacenter when the body names none. */
export function parseCatalogRegistration(raw: unknown, localDc: string): CatalogRegistration {
  const json = body(raw);
  const name = text(json, 'Node');
  if (name === '') throw new CatalogRpcError('Must provide node');
  const address = text(json, 'Address');
  const skipNodeUpdate = field(json, 'SkipNodeUpdate') === true;
  if (address === '' && !skipNodeUpdate) {
    throw new CatalogRpcError('Must provide address if SkipNodeUpdate is not set');
  }
  const rawService = field(json, 'Service');
  let service: ServiceFields | undefined;
  if (rawService !== undefined && rawService !== null) {
    if (!isRecord(rawService)) throw new CatalogRpcError('Service must be an object');
    if (text(rawService, 'Service') === '') {
      throw new CatalogRpcError('Must provide service name with ID');
    }
    service = parseServiceFields(rawService, 'Service');
  }
  const single = field(json, 'Check');
  const many = field(json, 'Checks') ?? [];
  if (!Array.isArray(many)) throw new CatalogRpcError('Checks must be a list');
  const checks = [...(single ? [single] : []), ...many].map(parseCheck);
  return {
    datacenter: text(json, 'Datacenter') || localDc,
    node: {
      id: text(json, 'ID'),
      name,
      address,
      taggedAddresses: stringRecord(field(json, 'TaggedAddresses'), 'TaggedAddresses'),
      meta: stringRecord(field(json, 'NodeMeta'), 'NodeMeta'),
    },
    skipNodeUpdate,
    service,
    checks,
  };
}

export function parseCatalogDeregistration(raw: unknown, localDc: string): CatalogDeregistration {
  const json = body(raw);
  const node = text(json, 'Node');
  if (node === '') throw new CatalogRpcError('Must provide node');
  return {
    datacenter: text(json, 'Datacenter') || localDc,
    node,
    serviceId: text(json, 'ServiceID'),
    checkId: text(json, 'CheckID'),
  };
}
