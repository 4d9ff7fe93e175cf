/**
 * Service and check definitions as Consul's agent accepts them on
 * `PUT /v1/agent/service/register` and `PUT /v1/agent/check/register`: JSON keys are matched
 * case-insensitively (Go's decoder does the same), durations are Go duration strings, and a
 * bad definition is a {@link RegistrationError} that the server answers with 400.
 */
import { isRecord } from '../../read-options.js';
import {
  duration,
  field,
  type Json,
  RegistrationError,
  stringList,
  stringRecord,
  text,
} from './json-fields.js';

export { RegistrationError } from './json-fields.js';

/**
 * A check's status, as Consul names them.
 *
 * @example
 * ```ts
 * consul.setCheckStatus('service:greeter-1', 'critical', 'connection refused');
 * ```
 */
export type CheckStatus = 'passing' | 'warning' | 'critical';
export const CHECK_STATUSES: readonly CheckStatus[] = ['passing', 'warning', 'critical'];

/**
 * A check in a service definition (`Check` or an element of `Checks`): exactly one of `TTL`,
 * `TCP`, `HTTP`, `GRPC` or `Args`.
 *
 * @example
 * ```ts
 * const check: CheckDefinition = { GRPC: '127.0.0.1:50051', Interval: '1s', Timeout: '500ms' };
 * consul.registerService({ Name: 'greeter', Port: 50051, Check: check });
 * ```
 */
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
  /**
   * Script check: a command and its arguments (no shell), run every `Interval`; exit code 0
   * passing, 1 warning, anything else critical, its output the check's. Refused unless the
   * server was started with `enableScriptChecks`, as Consul refuses it without
   * `enable_script_checks`.
   */
  readonly Args?: readonly string[];
  readonly Interval?: string;
  /** Default 10s (30s for a script check). */
  readonly Timeout?: string;
  readonly DeregisterCriticalServiceAfter?: string;
  /** Initial status. Default `critical`, as in Consul. */
  readonly Status?: CheckStatus;
  readonly Notes?: string;
}

/**
 * A service definition, the body of `PUT /v1/agent/service/register`.
 *
 * @example
 * ```ts
 * const greeter: ServiceDefinition = {
 *   Name: 'greeter',
 *   ID: 'greeter-1',
 *   Address: '127.0.0.1',
 *   Port: 50051,
 *   Tags: ['v2'],
 *   Check: { TTL: '10s', Status: 'passing' },
 * };
 * consul.registerService(greeter);
 * ```
 */
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
  /**
   * Addresses the service is reached at from elsewhere, by tag: `lan`, `wan` (what a client
   * in another datacenter uses when it translates WAN addresses), `lan_ipv4`... The agent
   * adds `lan_ipv4` and `wan_ipv4` (or the `_ipv6` pair) from `Address` when it is an IP
   * and they are not given, as Consul's agent does.
   */
  readonly TaggedAddresses?: Readonly<Record<string, ServiceAddress>>;
  /**
   * Consul Enterprise's namespace and admin partition (default `default`); only a server
   * started with `enterprise: true` keeps them.
   */
  readonly Namespace?: string;
  readonly Partition?: string;
  readonly EnableTagOverride?: boolean;
  readonly Check?: CheckDefinition;
  readonly Checks?: readonly CheckDefinition[];
}

/**
 * One tagged address of a service (Consul's `ServiceAddress`).
 *
 * @example
 * ```ts
 * const wan: ServiceAddress = { Address: '203.0.113.7', Port: 50051 };
 * consul.registerService({ Name: 'greeter', Address: '10.0.0.7', Port: 50051, TaggedAddresses: { wan } });
 * ```
 */
export interface ServiceAddress {
  readonly Address: string;
  readonly Port: number;
}

export type CheckType = 'ttl' | 'tcp' | 'http' | 'grpc' | 'script';

export interface ParsedCheck {
  readonly id: string;
  readonly name: string;
  readonly type: CheckType;
  /** TCP address, HTTP URL or gRPC target; empty for TTL and script checks. */
  readonly target: string;
  /** A script check's command and arguments; empty for the others. */
  readonly args: readonly string[];
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
  readonly taggedAddresses: Readonly<Record<string, ServiceAddress>>;
  /** `default` unless an Enterprise server was given another. */
  readonly namespace: string;
  readonly partition: string;
  readonly enableTagOverride: boolean;
  readonly checks: readonly ParsedCheck[];
}

/** A standalone check (`PUT /v1/agent/check/register`), of a service or of the node. */
export interface ParsedStandaloneCheck extends ParsedCheck {
  /** Empty for a node check. */
  readonly serviceId: string;
}

/** Consul Enterprise's default namespace and partition. */
export const DEFAULT_TENANCY = 'default';

const DEFAULT_CHECK_TIMEOUT_MS = 10_000;
const DEFAULT_SCRIPT_TIMEOUT_MS = 30_000;

function invalid(message: string): RegistrationError {
  return new RegistrationError(`Invalid check: ${message}`);
}

/** The check's type, target and timing, with `CheckType.Validate()`'s messages. */
function parseKind(raw: Json, id: string) {
  const args = stringList(field(raw, 'Args') ?? field(raw, 'ScriptArgs'), 'Args');
  const targets: [CheckType, string][] = [
    ['tcp', text(raw, 'TCP')],
    ['http', text(raw, 'HTTP')],
    ['grpc', text(raw, 'GRPC')],
    ['script', args.length > 0 ? args.join(' ') : ''],
  ];
  const found = targets.filter(([, target]) => target !== '');
  if (found.length > 1) {
    throw invalid(`check "${id}" has more than one of Args, HTTP, TCP and GRPC`);
  }
  const [kind] = found;
  const ttlMs = duration(raw, 'TTL');
  const intervalMs = duration(raw, 'Interval');
  if (intervalMs && ttlMs) throw invalid('Interval and TTL cannot both be specified');
  if (kind && !intervalMs) {
    throw invalid('Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks');
  }
  if (!kind && !ttlMs) throw invalid('TTL must be > 0 for TTL checks');
  const type = kind?.[0] ?? 'ttl';
  return {
    type,
    target: type === 'script' || !kind ? '' : kind[1],
    args: type === 'script' ? args : [],
    intervalMs: intervalMs ?? 0,
    ttlMs: ttlMs ?? 0,
    timeoutMs:
      duration(raw, 'Timeout') ||
      (type === 'script' ? DEFAULT_SCRIPT_TIMEOUT_MS : DEFAULT_CHECK_TIMEOUT_MS),
  };
}

function parseCheck(raw: unknown, id: string, defaultName: string): ParsedCheck {
  if (!isRecord(raw)) throw new RegistrationError('Check must be an object');
  const kind = parseKind(raw, id);
  const status = text(raw, 'Status', 'critical') || 'critical';
  if (!CHECK_STATUSES.includes(status as CheckStatus)) {
    throw new RegistrationError("Status for checks must 'passing', 'warning', 'critical'");
  }
  const header = field(raw, 'Header') ?? {};
  if (
    !isRecord(header) ||
    !Object.values(header).every((v) => Array.isArray(v) && v.every((s) => typeof s === 'string'))
  ) {
    throw invalid(`check "${id}": Header must map names to lists of strings`);
  }
  return {
    id,
    name: text(raw, 'Name') || defaultName,
    ...kind,
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

/** Parses the body of `PUT /v1/agent/check/register`. */
export function parseCheckDefinition(raw: unknown): ParsedStandaloneCheck {
  if (!isRecord(raw)) throw new RegistrationError('Request decode failed: body is not an object');
  const name = text(raw, 'Name');
  if (name === '') throw new RegistrationError('Missing check name');
  const status = text(raw, 'Status');
  if (status !== '' && !CHECK_STATUSES.includes(status as CheckStatus)) {
    throw new RegistrationError('Bad check status');
  }
  const id = text(raw, 'ID') || text(raw, 'CheckID') || name;
  return { ...parseCheck(raw, id, name), serviceId: text(raw, 'ServiceID') };
}

function weight(weights: unknown, name: 'Passing' | 'Warning'): number {
  const value = isRecord(weights) ? field(weights, name) : undefined;
  if (value === undefined) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RegistrationError(`Invalid Weights: Weights.${name} must be an integer >= 1`);
  }
  return value;
}

/** `TaggedAddresses` of a service: tags → `{ Address, Port }`. */
function taggedAddresses(value: unknown): Record<string, ServiceAddress> {
  if (value === undefined || value === null) return {};
  const expected = 'TaggedAddresses must map tags to { Address, Port }';
  if (!isRecord(value)) throw new RegistrationError(expected);
  const result: Record<string, ServiceAddress> = {};
  for (const [tag, raw] of Object.entries(value)) {
    if (!isRecord(raw)) throw new RegistrationError(expected);
    const port = field(raw, 'Port') ?? 0;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) {
      throw new RegistrationError(`Invalid TaggedAddresses.${tag}.Port ${JSON.stringify(port)}`);
    }
    result[tag] = { Address: text(raw, 'Address'), Port: port };
  }
  return result;
}

/** The fields every service definition shares (agent and catalog registration). */
export function parseServiceFields(raw: Json, nameField: 'Name' | 'Service') {
  const name = text(raw, nameField);
  if (name === '') throw new RegistrationError('Missing service name');
  const id = text(raw, 'ID') || name;
  const port = field(raw, 'Port') ?? 0;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RegistrationError(`Invalid Port ${JSON.stringify(port)}`);
  }
  const weights = field(raw, 'Weights');
  return {
    id,
    name,
    address: text(raw, 'Address'),
    port,
    tags: stringList(field(raw, 'Tags'), 'Tags'),
    meta: stringRecord(field(raw, 'Meta'), 'Meta'),
    weights: { Passing: weight(weights, 'Passing'), Warning: weight(weights, 'Warning') },
    taggedAddresses: taggedAddresses(field(raw, 'TaggedAddresses')),
    namespace: text(raw, 'Namespace') || DEFAULT_TENANCY,
    partition: text(raw, 'Partition') || DEFAULT_TENANCY,
    enableTagOverride: field(raw, 'EnableTagOverride') === true,
  };
}

/** Parses a service definition as the agent endpoint receives it. */
export function parseServiceDefinition(raw: unknown): ParsedService {
  if (!isRecord(raw)) throw new RegistrationError('Request decode failed: body is not an object');
  const service = parseServiceFields(raw, 'Name');
  const single = field(raw, 'Check');
  const many = field(raw, 'Checks') ?? [];
  if (!Array.isArray(many)) throw new RegistrationError('Checks must be a list');
  // Consul numbers default check ids only when a service has more than one check.
  const raws: unknown[] = [...(single === undefined || single === null ? [] : [single]), ...many];
  const checks = raws.map((check, i) => {
    const suffix = raws.length > 1 ? `:${i + 1}` : '';
    const given = isRecord(check) ? text(check, 'CheckID') || text(check, 'ID') : '';
    return parseCheck(
      check,
      given || `service:${service.id}${suffix}`,
      `Service '${service.name}' check`,
    );
  });
  const ids = new Set(checks.map((check) => check.id));
  if (ids.size !== checks.length) throw new RegistrationError('Check IDs must be unique');
  return { ...service, checks };
}
