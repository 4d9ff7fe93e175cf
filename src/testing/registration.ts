/**
 * Service and check definitions as Consul's agent accepts them on
 * `PUT /v1/agent/service/register`: JSON keys are matched case-insensitively (Go's decoder
 * does the same), durations are Go duration strings, and a bad definition is a
 * {@link RegistrationError} that the server answers with 400.
 */
import { parseDuration } from '../duration.js';
import { isRecord } from '../is-record.js';

export type CheckStatus = 'passing' | 'warning' | 'critical';
export const CHECK_STATUSES: readonly CheckStatus[] = ['passing', 'warning', 'critical'];

/** A check in a service definition (`Check` or an element of `Checks`). */
export interface CheckDefinition {
  readonly CheckID?: string;
  readonly Name?: string;
  /** TTL check: critical unless updated within this duration. */
  readonly TTL?: string;
  /** TCP check: `host:port` to connect to. */
  readonly TCP?: string;
  /** HTTP check: URL to GET (2xx passing, 429 warning, else critical). */
  readonly HTTP?: string;
  readonly Method?: string;
  readonly Header?: Readonly<Record<string, readonly string[]>>;
  readonly TLSSkipVerify?: boolean;
  /** gRPC check: `host:port` or `host:port/service`, asked `grpc.health.v1.Health/Check`. */
  readonly GRPC?: string;
  readonly GRPCUseTLS?: boolean;
  readonly Interval?: string;
  /** Default 10s. */
  readonly Timeout?: string;
  readonly DeregisterCriticalServiceAfter?: string;
  /** Initial status. Default `critical`, as in Consul. */
  readonly Status?: CheckStatus;
  readonly Notes?: string;
}

/** A service definition, the body of `PUT /v1/agent/service/register`. */
export interface ServiceDefinition {
  readonly Name: string;
  /** Default: the name. */
  readonly ID?: string;
  /** Default: empty, which means the node's address. */
  readonly Address?: string;
  readonly Port?: number;
  readonly Tags?: readonly string[];
  readonly Meta?: Readonly<Record<string, string>>;
  readonly Weights?: { readonly Passing?: number; readonly Warning?: number };
  readonly EnableTagOverride?: boolean;
  readonly Check?: CheckDefinition;
  readonly Checks?: readonly CheckDefinition[];
}

export type CheckType = 'ttl' | 'tcp' | 'http' | 'grpc';

export interface ParsedCheck {
  readonly id: string;
  readonly name: string;
  readonly type: CheckType;
  /** TCP address, HTTP URL or gRPC target; empty for TTL. */
  readonly target: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly ttlMs: number;
  readonly deregisterAfterMs: number | undefined;
  readonly status: CheckStatus;
  readonly notes: string;
  readonly method: string;
  readonly header: Readonly<Record<string, readonly string[]>>;
  readonly tlsSkipVerify: boolean;
  readonly grpcUseTls: boolean;
  /** The durations as given, for the `Interval`/`Timeout` fields Consul echoes back. */
  readonly interval: string;
  readonly timeout: string;
}

export interface ParsedService {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  readonly weights: { readonly Passing: number; readonly Warning: number };
  readonly enableTagOverride: boolean;
  readonly checks: readonly ParsedCheck[];
}

/** A definition Consul would refuse; the message is Consul's wording where it has one. */
export class RegistrationError extends Error {
  override readonly name = 'RegistrationError';
}

const DEFAULT_CHECK_TIMEOUT_MS = 10_000;

type Json = Readonly<Record<string, unknown>>;

/** Go's JSON decoder matches field names case-insensitively; so do we. */
function field(object: Json, name: string): unknown {
  if (Object.hasOwn(object, name)) return object[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(object)) if (key.toLowerCase() === lower) return object[key];
  return undefined;
}

function text(object: Json, name: string, fallback = ''): string {
  const value = field(object, name);
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string') throw new RegistrationError(`${name} must be a string`);
  return value;
}

function duration(object: Json, name: string): number | undefined {
  const value = field(object, name);
  if (value === undefined || value === null || value === '') return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) {
    throw new RegistrationError(`${name}: time: invalid duration ${JSON.stringify(value)}`);
  }
  return ms;
}

function stringRecord(value: unknown, name: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new RegistrationError(`${name} must be an object of strings`);
  }
  return { ...(value as Record<string, string>) };
}

function parseCheck(raw: unknown, serviceId: string, position: number | undefined): ParsedCheck {
  if (!isRecord(raw)) throw new RegistrationError('Check must be an object');
  const id =
    text(raw, 'CheckID') ||
    text(raw, 'ID') ||
    (position === undefined ? `service:${serviceId}` : `service:${serviceId}:${position}`);
  const targets: [CheckType, string][] = [
    ['tcp', text(raw, 'TCP')],
    ['http', text(raw, 'HTTP')],
    ['grpc', text(raw, 'GRPC')],
  ];
  const ttlMs = duration(raw, 'TTL');
  const found = targets.filter(([, target]) => target !== '');
  if (found.length + (ttlMs === undefined ? 0 : 1) !== 1) {
    throw new RegistrationError(
      `Check "${id}" is invalid: it needs exactly one of TTL, TCP, HTTP or GRPC`,
    );
  }
  const [type, target] = found[0] ?? ['ttl' as const, ''];
  const intervalMs = duration(raw, 'Interval');
  if (type === 'ttl' && !(ttlMs !== undefined && ttlMs > 0)) {
    throw new RegistrationError(`Check "${id}" is invalid: TTL must be > 0 for TTL checks`);
  }
  if (type !== 'ttl' && !(intervalMs !== undefined && intervalMs > 0)) {
    throw new RegistrationError(
      `Check "${id}" is invalid: Interval must be > 0 for HTTP, TCP and GRPC checks`,
    );
  }
  const status = text(raw, 'Status', 'critical');
  if (!CHECK_STATUSES.includes(status as CheckStatus)) {
    throw new RegistrationError(`Check "${id}" has an invalid Status ${JSON.stringify(status)}`);
  }
  const header = field(raw, 'Header') ?? {};
  if (
    !isRecord(header) ||
    !Object.values(header).every((v) => Array.isArray(v) && v.every((s) => typeof s === 'string'))
  ) {
    throw new RegistrationError(`Check "${id}": Header must map names to lists of strings`);
  }
  return {
    id,
    name: text(raw, 'Name') || `Service '${serviceId}' check`,
    type,
    target,
    intervalMs: intervalMs ?? 0,
    timeoutMs: duration(raw, 'Timeout') || DEFAULT_CHECK_TIMEOUT_MS,
    ttlMs: ttlMs ?? 0,
    deregisterAfterMs: duration(raw, 'DeregisterCriticalServiceAfter'),
    status: status as CheckStatus,
    notes: text(raw, 'Notes'),
    method: text(raw, 'Method', 'GET') || 'GET',
    header: header as Record<string, readonly string[]>,
    tlsSkipVerify: field(raw, 'TLSSkipVerify') === true,
    grpcUseTls: field(raw, 'GRPCUseTLS') === true,
    interval: text(raw, 'Interval'),
    timeout: text(raw, 'Timeout'),
  };
}

function weight(weights: unknown, name: 'Passing' | 'Warning'): number {
  const value = isRecord(weights) ? field(weights, name) : undefined;
  if (value === undefined) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RegistrationError(`Weights.${name} must be an integer >= 1`);
  }
  return value;
}

/** Parses a service definition as the agent endpoint receives it. */
export function parseServiceDefinition(raw: unknown): ParsedService {
  if (!isRecord(raw)) throw new RegistrationError('Request decode failed: body is not an object');
  const name = text(raw, 'Name');
  if (name === '') throw new RegistrationError('Missing service name');
  const id = text(raw, 'ID') || name;
  const port = field(raw, 'Port') ?? 0;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RegistrationError(`Invalid Port ${JSON.stringify(port)}`);
  }
  const tags = field(raw, 'Tags') ?? [];
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) {
    throw new RegistrationError('Tags must be a list of strings');
  }
  const single = field(raw, 'Check');
  const many = field(raw, 'Checks') ?? [];
  if (!Array.isArray(many)) throw new RegistrationError('Checks must be a list');
  // Consul numbers default check ids only when a service has more than one check.
  const raws: unknown[] = [...(single === undefined || single === null ? [] : [single]), ...many];
  const checks = raws.map((check, i) => parseCheck(check, id, raws.length > 1 ? i + 1 : undefined));
  const ids = new Set(checks.map((check) => check.id));
  if (ids.size !== checks.length) throw new RegistrationError('Check IDs must be unique');
  const weights = field(raw, 'Weights');
  return {
    id,
    name,
    address: text(raw, 'Address'),
    port,
    tags: [...tags],
    meta: stringRecord(field(raw, 'Meta'), 'Meta'),
    weights: { Passing: weight(weights, 'Passing'), Warning: weight(weights, 'Warning') },
    enableTagOverride: field(raw, 'EnableTagOverride') === true,
    checks,
  };
}
