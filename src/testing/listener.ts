/** The socket side of the test server: plain HTTP or HTTPS (with client certificates). */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { HttpError } from './routes.js';

/**
 * The TLS side of `ConsulTestServerOptions`.
 *
 * @example
 * ```ts
 * const tls: ConsulTestServerTls = { key: serverKeyPem, cert: serverCertPem, ca: caPem, requestCert: true };
 * const consul = await new ConsulTestServer({ tls }).start(); // consul.address starts with https://
 * ```
 */
export interface ConsulTestServerTls {
  /** The server's private key (PEM). */
  readonly key: string | Buffer;
  /** The server's certificate (PEM); clients verify it against their CA. */
  readonly cert: string | Buffer;
  /** CAs that sign the client certificates accepted with `requestCert`. */
  readonly ca?: string | Buffer;
  /** Ask for a client certificate and refuse clients without a valid one. Default `false`. */
  readonly requestCert?: boolean;
}

/** What the test server needs of an `http.Server` or an `https.Server`. */
export type Listener = Pick<
  Server,
  'listen' | 'address' | 'close' | 'closeAllConnections' | 'once' | 'off'
>;

const MAX_BODY = 1 << 20;

function isPem(value: unknown): boolean {
  return (typeof value === 'string' && value !== '') || Buffer.isBuffer(value);
}

/** Throws a `TypeError` naming the option when the TLS options cannot make a server. */
export function validateTls(tls: ConsulTestServerTls): void {
  for (const key of ['key', 'cert'] as const) {
    if (!isPem(tls[key])) {
      throw new TypeError(`ConsulTestServer: option "tls.${key}" must be a PEM string or Buffer`);
    }
  }
  if (tls.ca !== undefined && !isPem(tls.ca)) {
    throw new TypeError('ConsulTestServer: option "tls.ca" must be a PEM string or Buffer');
  }
  if (tls.requestCert !== undefined && typeof tls.requestCert !== 'boolean') {
    throw new TypeError('ConsulTestServer: option "tls.requestCert" must be a boolean');
  }
}

/** An HTTP server, or an HTTPS one when `tls` is given. Not listening yet. */
export function createListener(
  tls: ConsulTestServerTls | undefined,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Listener {
  if (!tls) return createServer(handle);
  const requestCert = tls.requestCert === true;
  return createHttpsServer(
    {
      key: tls.key,
      cert: tls.cert,
      ...(tls.ca !== undefined && { ca: tls.ca }),
      requestCert,
      rejectUnauthorized: requestCert,
    },
    handle,
  );
}

/** The request body, at most 1 MiB (413 beyond). */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
