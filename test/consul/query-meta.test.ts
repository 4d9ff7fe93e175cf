/**
 * What a watch reads from a health answer's headers (X-Consul-Index, X-Consul-KnownLeader,
 * X-Consul-LastContact), from a server that writes them as the test says: well-formed ones
 * reach the status and the next query; anything else is taken as missing, never guessed at
 * (an index of "42x" is not 42).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import type { ConsulStatus } from '../../src/consul/options.js';
import { record } from '../support/observe.js';

let server: Server | undefined;
const held: ServerResponse[] = [];
afterEach(async () => {
  for (const response of held.splice(0)) response.destroy();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/**
 * A server that answers the first health query with `headers` and an empty list, and holds
 * the next ones open; the query string of each request it got.
 */
async function answering(headers: Record<string, string>) {
  const queries: URLSearchParams[] = [];
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    queries.push(new URL(request.url ?? '/', 'http://x').searchParams);
    if (queries.length > 1) {
      held.push(response);
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json', ...headers });
    response.end('[]');
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { address: `127.0.0.1:${port}`, queries };
}

/** The first status of a watch of that server, and the index its next query sent. */
async function readBy(headers: Record<string, string>) {
  const { address, queries } = await answering(headers);
  const statuses: ConsulStatus[] = [];
  const watch = record(
    consulInstances$('greeter', {
      address,
      wait: '5s',
      minIntervalMs: 0,
      whenNobody: false,
      onStatus: (status) => statuses.push(status),
    }),
  );
  await vi.waitFor(() => expect(queries).toHaveLength(2));
  watch.subscription.unsubscribe();
  const [status] = statuses;
  return {
    index: status?.index,
    knownLeader: status?.knownLeader,
    lastContactMs: status?.lastContactMs,
    next: queries[1]?.get('index'),
  };
}

describe("a health answer's headers", () => {
  it('are read when well-formed: the index (sent back on the next query), leader and last contact', async () => {
    const read = await readBy({
      'x-consul-index': '42',
      'x-consul-knownleader': 'true',
      'x-consul-lastcontact': '15',
    });
    expect(read).toEqual({ index: 42, knownLeader: true, lastContactMs: 15, next: '42' });
  });

  it('take a leader other than "true" as false, and a missing one as unknown', async () => {
    expect(await readBy({ 'x-consul-index': '5', 'x-consul-knownleader': 'false' })).toEqual({
      index: 5,
      knownLeader: false,
      lastContactMs: undefined,
      next: '5',
    });
  });

  it.each(['42x', 'x42', '4 2', '-1', '1e3', '4.2', '99999999999999999999', ''])(
    'take an index of %j as missing: 1, as Consul rules say, not a number read from part of it',
    async (index) => {
      expect(await readBy({ 'x-consul-index': index })).toEqual({
        index: 1,
        knownLeader: undefined,
        lastContactMs: undefined,
        next: '1',
      });
    },
  );

  it.each(['15ms', 'x15', '1.5', '-3'])(
    'take a last contact of %j as unknown',
    async (lastContact) => {
      const read = await readBy({ 'x-consul-index': '9', 'x-consul-lastcontact': lastContact });
      expect(read.lastContactMs).toBeUndefined();
    },
  );
});
