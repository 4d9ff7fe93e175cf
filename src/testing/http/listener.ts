/** The socket side of the test server: plain HTTP or HTTPS (with client certificates). */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { OptionReader } from '../../read-options.js';
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

/** The keys of {@link ConsulTestServerTls}. */
export const TLS_KEYS = ['key', 'cert', 'ca', 'requestCert'];

/** Throws a `TypeError` naming the option when the TLS options cannot make a server. */
export function validateTls(tls: OptionReader): void {
  for (const key of ['key', 'cert']) {
    if (tls.pem(key) === undefined) tls.fail(key, 'a PEM string or Buffer');
  }
  tls.pem('ca');
  tls.boolean('requestCert');
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
