import { readFileSync } from 'node:fs';
import type { OptionReader } from '../read-options.js';

/** TLS settings for HTTPS to Consul. PEM strings or buffers. */
export interface ConsulTlsOptions {
  /** CA bundle that signs Consul's certificate (`CONSUL_CACERT`). Default: Node's CAs. */
  readonly ca?: string | Buffer;
  /** Client certificate for mutual TLS (`CONSUL_CLIENT_CERT`). */
  readonly cert?: string | Buffer;
  /** Client key for mutual TLS (`CONSUL_CLIENT_KEY`). */
  readonly key?: string | Buffer;
  /** Name to verify Consul's certificate against (`CONSUL_TLS_SERVER_NAME`). */
  readonly servername?: string;
  /** `false` skips verification (`CONSUL_HTTP_SSL_VERIFY=false`). Default `true`. */
  readonly rejectUnauthorized?: boolean;
}

/**
 * Where Consul is and how to talk to it. Every field falls back to Consul's own environment
 * variables, as the `consul` CLI reads them.
 */
export interface ConsulConnectionOptions {
  /**
   * `host:port`, `[ipv6]:port` or `http(s)://host:port`. Default: `CONSUL_HTTP_ADDR`, else
   * `127.0.0.1:8500`. Without a port, 80 for http and 443 for https, as Consul's Go client.
   */
  readonly address?: string;
  /** ACL token, sent only in the `X-Consul-Token` header. Default: `CONSUL_HTTP_TOKEN`. */
  readonly token?: string;
  /**
   * TLS settings; setting them here (or an `https://` address, or `CONSUL_HTTP_SSL=true`)
   * selects HTTPS. Default: read from `CONSUL_CACERT`, `CONSUL_CLIENT_CERT`,
   * `CONSUL_CLIENT_KEY`, which configure HTTPS but, as for Consul's CLI, do not select it.
   */
  readonly tls?: ConsulTlsOptions;
}

/** A validated connection: what the HTTP layer needs, nothing left to parse. */
export interface ConsulEndpoint {
  readonly secure: boolean;
  /** Host as the URL needs it (IPv6 in brackets). */
  readonly host: string;
  readonly port: number;
  readonly token: string | undefined;
  readonly tls: ConsulTlsOptions | undefined;
  /** `http(s)://host:port`, for messages: never holds the token. */
  readonly origin: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const TRUE = new Set(['1', 't', 'true', 'T', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'false', 'F', 'FALSE', 'False']);

function parseBool(env: Env, name: string, caller: string): boolean | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw new TypeError(`${caller}: ${name} must be true or false, got "${value}"`);
}

function readPem(env: Env, name: string, caller: string): Buffer | undefined {
  const path = env[name];
  if (path === undefined || path === '') return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TypeError(`${caller}: cannot read ${name} (${path}): ${reason}`);
  }
}

/** The keys of {@link ConsulConnectionOptions}, for an option reader. */
export const CONNECTION_KEYS: readonly string[] = ['address', 'token', 'tls'];
const TLS_KEYS = ['ca', 'cert', 'key', 'servername', 'rejectUnauthorized'];

function readTls(t: OptionReader): ConsulTlsOptions {
  for (const key of ['ca', 'cert', 'key']) t.pem(key);
  t.string('servername');
  t.boolean('rejectUnauthorized');
  if (t.has('cert') !== t.has('key')) {
    t.fail('cert', 'given together with "tls.key"', { secret: true });
  }
  return Object.fromEntries(TLS_KEYS.flatMap((key) => (t.has(key) ? [[key, t.raw(key)]] : [])));
}

function tlsFromEnv(env: Env, caller: string): ConsulTlsOptions | undefined {
  const ca = readPem(env, 'CONSUL_CACERT', caller);
  const cert = readPem(env, 'CONSUL_CLIENT_CERT', caller);
  const key = readPem(env, 'CONSUL_CLIENT_KEY', caller);
  const verify = parseBool(env, 'CONSUL_HTTP_SSL_VERIFY', caller);
  const servername = env.CONSUL_TLS_SERVER_NAME || undefined;
  if ((cert === undefined) !== (key === undefined)) {
    throw new TypeError(`${caller}: CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY go together`);
  }
  if (!ca && !cert && verify === undefined && !servername) return undefined;
  return {
    ...(ca && { ca }),
    ...(cert && key && { cert, key }),
    ...(servername && { servername }),
    ...(verify === false && { rejectUnauthorized: false }),
  };
}

const ADDRESS = /^(?:(https?):\/\/)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?\/?$/;

/**
 * Resolves the connection options `o` reads (keys {@link CONNECTION_KEYS}) and the
 * environment into a {@link ConsulEndpoint}, or throws a `TypeError` naming the option or
 * variable that is wrong.
 */
export function resolveEndpoint(o: OptionReader, env: Env = process.env): ConsulEndpoint {
  const { caller } = o;
  const given = o.raw('address');
  if (given !== undefined && typeof given !== 'string') o.fail('address', 'a string');
  const address = given ?? (env.CONSUL_HTTP_ADDR || '127.0.0.1:8500');
  const wrong = (what: string): never => {
    if (given !== undefined) o.fail('address', what);
    throw new TypeError(`${caller}: CONSUL_HTTP_ADDR must be ${what}, got "${address}"`);
  };
  const match = ADDRESS.exec(address.trim());
  if (!match) wrong('host:port or http(s)://host:port');
  const [, scheme, host = '', portText] = match as RegExpExecArray;
  const t = o.nested('tls', TLS_KEYS);
  const tls = t ? readTls(t) : tlsFromEnv(env, caller);
  const ssl = parseBool(env, 'CONSUL_HTTP_SSL', caller);
  // As Consul's CLI: the scheme, else CONSUL_HTTP_SSL, choose HTTPS; TLS settings from the
  // environment only configure it. A `tls` option given in code asks for HTTPS too.
  const secure = scheme === 'https' || (scheme === undefined && (ssl ?? t !== undefined));
  const port = portText === undefined ? (secure ? 443 : 80) : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    wrong('host:port with a port from 1 to 65535');
  }
  const token = o.raw('token');
  if (token !== undefined && typeof token !== 'string')
    o.fail('token', 'a string', { secret: true });
  const origin = `${secure ? 'https' : 'http'}://${host}:${port}`;
  return { secure, host, port, token: (token ?? env.CONSUL_HTTP_TOKEN) || undefined, tls, origin };
}
