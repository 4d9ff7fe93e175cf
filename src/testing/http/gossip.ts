/**
 * The test servers' stand-in for Serf's gossip: JSON POSTs to `/v1/internal/rxlb/serf/:kind`
 * on another test server's HTTP port (`join`, `ping`, `event`). One connection per message,
 * closed after it, so that nothing stays open between servers; {@link HttpTransport.close}
 * ends the messages still in flight when the server stops.
 */
import { type ClientRequest, request } from 'node:http';
import { newEventFromWire } from '../model/events.js';
import type { LanPool, Transport } from '../model/lan.js';
import type { Reply } from './routes.js';

/** The side channel's path prefix; requests under it are neither logged nor faulted. */
export const GOSSIP_PREFIX = '/v1/internal/rxlb/serf/';

export class HttpTransport implements Transport {
  readonly #open = new Set<ClientRequest>();

  post(address: string, kind: string, body: unknown, timeoutMs: number): Promise<unknown> {
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
    const port = Number(address.slice(colon + 1));
    if (colon < 0 || !Number.isInteger(port)) {
      return Promise.reject(new Error(`missing port in address ${address}`));
    }
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host,
          port,
          method: 'POST',
          path: `${GOSSIP_PREFIX}${kind}`,
          agent: false,
          timeout: timeoutMs,
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': payload.length,
            Connection: 'close',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'));
            } catch (error) {
              reject(error);
            }
          });
        },
      );
      this.#open.add(req);
      req.on('close', () => this.#open.delete(req));
      req.on('timeout', () => req.destroy(new Error(`i/o timeout talking to ${address}`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Ends every message in flight. */
  close(): void {
    for (const req of this.#open) req.destroy(new Error('agent stopped'));
    this.#open.clear();
  }
}

/** The answer of this server's side channel to a message from another test server. */
export function gossipReply(lan: LanPool, kind: string, body: unknown): Reply {
  if (kind === 'join' || kind === 'ping') return { body: lan.receive(kind, body) };
  if (kind === 'event') {
    const message = body as { event?: unknown; ltime?: unknown } | null;
    const event = newEventFromWire(message?.event);
    if (event && typeof message?.ltime === 'number') lan.receiveEvent(event, message.ltime);
    return { body: {} };
  }
  return { status: 404, text: '404 page not found' };
}
