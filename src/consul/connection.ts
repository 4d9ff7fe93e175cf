import { readFileSync } from 'node:fs';
import { type OptionReader, readEnvironment } from '../read-options.js';

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

/** Consul's address, read: what the user wrote of it, nothing defaulted yet. */
export interface ConsulAddress {
  readonly scheme: 'http' | 'https' | undefined;
  /** As a URL needs it (IPv6 in brackets). */
  readonly host: string;
  readonly port: number | undefined;
}

/** What {@link parseConsulAddress} takes, as messages say it. */
export const ADDRESS_FORMS = 'host:port or http(s)://host:port, with a port from 1 to 65535';

/** Where Consul is when neither the option nor `CONSUL_HTTP_ADDR` says. */
const DEFAULT_ADDRESS: ConsulAddress = { scheme: undefined, host: '127.0.0.1', port: 8500 };
const ADDRESS = /^(?:(https?):\/\/)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?\/?$/;

/**
 * `host:port`, `[ipv6]:port` or `http(s)://host:port`, the port optional, as Consul's CLI
 * reads `-http-addr` and `CONSUL_HTTP_ADDR`; undefined when `value` is none of these.
 */
export function parseConsulAddress(value: unknown): ConsulAddress | undefined {
  const match = typeof value === 'string' ? ADDRESS.exec(value.trim()) : null;
  if (!match) return undefined;
  const [, scheme, host = '', portText] = match;
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && !(port >= 1 && port <= 65_535)) return undefined;
  return { scheme: scheme as ConsulAddress['scheme'], host, port };
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

/** The file a variable names, e.g. `CONSUL_CACERT`. */
function readPem(e: OptionReader, name: string): Buffer | undefined {
  const path = e.string(name);
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    e.complain(name, `(${path}) cannot be read: ${reason}`);
  }
}

function tlsFromEnv(e: OptionReader): ConsulTlsOptions | undefined {
  const ca = readPem(e, 'CONSUL_CACERT');
  const cert = readPem(e, 'CONSUL_CLIENT_CERT');
  const key = readPem(e, 'CONSUL_CLIENT_KEY');
  const verify = e.boolean('CONSUL_HTTP_SSL_VERIFY');
  const servername = e.string('CONSUL_TLS_SERVER_NAME');
  if ((cert === undefined) !== (key === undefined)) {
    const [set, unset] = cert
      ? ['CONSUL_CLIENT_CERT', 'CONSUL_CLIENT_KEY']
      : ['CONSUL_CLIENT_KEY', 'CONSUL_CLIENT_CERT'];
    e.complain(set, `is set but ${unset} is not: the two go together`);
  }
  if (!ca && !cert && verify === undefined && !servername) return undefined;
  return {
    ...(ca && { ca }),
    ...(cert && key && { cert, key }),
    ...(servername && { servername }),
    ...(verify === false && { rejectUnauthorized: false }),
  };
}

/**
 * Resolves the connection options `o` reads (keys {@link CONNECTION_KEYS}) and Consul's
 * environment variables into a {@link ConsulEndpoint}, or throws a `TypeError` naming the
 * option or variable that is wrong.
 */
export function resolveEndpoint(o: OptionReader, env: Env = process.env): ConsulEndpoint {
  const e = readEnvironment(o.caller, env);
  const address = o.has('address')
    ? o.parse('address', ADDRESS_FORMS, parseConsulAddress)
    : e.parse('CONSUL_HTTP_ADDR', ADDRESS_FORMS, parseConsulAddress);
  const { scheme, host, port: given } = address ?? DEFAULT_ADDRESS;
  const t = o.nested('tls', TLS_KEYS);
  const tls = t ? readTls(t) : tlsFromEnv(e);
  const ssl = e.boolean('CONSUL_HTTP_SSL');
  // As Consul's CLI: the scheme, else CONSUL_HTTP_SSL, choose HTTPS; TLS settings from the
  // environment only configure it. A `tls` option given in code asks for HTTPS too.
  const secure = scheme === 'https' || (scheme === undefined && (ssl ?? t !== undefined));
  const port = given ?? (secure ? 443 : 80);
  const token = o.has('token') ? o.raw('token') : e.raw('CONSUL_HTTP_TOKEN');
  if (token !== undefined && typeof token !== 'string') {
    o.fail('token', 'a string', { secret: true });
  }
  const origin = `${secure ? 'https' : 'http'}://${host}:${port}`;
  return { secure, host, port, token: token || undefined, tls, origin };
}
