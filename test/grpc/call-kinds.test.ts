import {
  type CallOptions,
  type ClientMiddlewareCall,
  createClient,
  createClientFactory,
  Metadata,
  Status,
} from 'nice-grpc';
import { BehaviorSubject } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { type EchoRequest, EchoService } from '../support/echo-service.js';
import { tally, useEchoServers } from '../support/fixture.js';
import { grpcJsUnary } from '../support/grpc-js-client.js';
import { roundRobinPicker } from '../support/pickers.js';
import { allReady } from '../support/ready.js';

const fixture = useEchoServers(2);

async function setup() {
  const channel = fixture.channel(new BehaviorSubject(roundRobinPicker(fixture.addresses())));
  await allReady(channel);
  return { channel, client: createClient(EchoService, channel) };
}

async function* requests(...texts: string[]): AsyncIterable<EchoRequest> {
  for (const text of texts) yield { text };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe('createBalancedChannel: call kinds', () => {
  it('balances unary calls', async () => {
    const { client } = await setup();
    const replies = [await client.unary({ text: 'a' }), await client.unary({ text: 'b' })];
    expect(replies.map((reply) => reply.text)).toEqual(['a', 'b']);
    expect(tally(replies).size).toBe(2);
  });

  it('balances server-streaming calls', async () => {
    const { client } = await setup();
    const first = await collect(client.serverStream({ text: 'x', count: 3 }));
    const second = await collect(client.serverStream({ text: 'y', count: 2 }));
    expect(first.map((reply) => reply.text)).toEqual(['x#0', 'x#1', 'x#2']);
    expect(second.map((reply) => reply.text)).toEqual(['y#0', 'y#1']);
    expect(tally([...first, ...second]).size).toBe(2);
  });

  it('balances client-streaming calls', async () => {
    const { client } = await setup();
    const first = await client.clientStream(requests('a', 'b', 'c'));
    const second = await client.clientStream(requests());
    expect([first.text, second.text]).toEqual(['a,b,c', '']);
    expect(first.backend).not.toBe(second.backend);
  });

  it('balances bidi calls', async () => {
    const { client } = await setup();
    const first = await collect(client.bidi(requests('a', 'b')));
    const second = await collect(client.bidi(requests('c')));
    expect([...first, ...second].map((reply) => reply.text)).toEqual(['a', 'b', 'c']);
    expect(tally([...first, ...second]).size).toBe(2);
  });
});

describe('createBalancedChannel: call options', () => {
  it('carries request metadata, headers and trailers', async () => {
    const { client } = await setup();
    const trailers: Metadata[] = [];
    const reply = await client.unary(
      { text: '' },
      { metadata: Metadata({ 'x-trace': 'abc' }), onTrailer: (trailer) => trailers.push(trailer) },
    );
    expect(reply.metadataKeys).toContain('x-trace');
    expect(trailers.map((trailer) => trailer.get('x-served-by'))).toEqual([reply.backend]);
    expect([...(trailers[0] ?? [])].map(([key]) => key)).not.toContain('rxlb-backend');
  });

  it('enforces a deadline on a call a backend holds', async () => {
    const { channel } = await setup();
    const reply = grpcJsUnary(channel, { text: '', hold: true }, { deadline: Date.now() + 100 });
    await expect(reply).rejects.toMatchObject({ code: Status.DEADLINE_EXCEEDED });
    await vi.waitFor(() =>
      expect(channel.backends().map((backend) => backend.inFlight)).toEqual([0, 0]),
    );
  });

  it('cancels a call a backend holds', async () => {
    const { channel, client } = await setup();
    const abort = new AbortController();
    const reply = client.unary({ text: '', hold: true }, { signal: abort.signal });
    await vi.waitFor(() => expect(fixture.server(0).held).toBe(1));
    abort.abort();
    await expect(reply).rejects.toMatchObject({ name: 'AbortError' });
    await vi.waitFor(() =>
      expect(channel.backends().map((backend) => backend.inFlight)).toEqual([0, 0]),
    );
  });

  it('runs nice-grpc client middleware', async () => {
    const { channel } = await setup();
    const seen: string[] = [];
    const client = createClientFactory()
      .use(async function* tag<Req, Res>(
        call: ClientMiddlewareCall<Req, Res>,
        options: CallOptions,
      ) {
        seen.push(call.method.path);
        const metadata = Metadata(options.metadata).set('x-tagged', 'yes');
        return yield* call.next(call.request, { ...options, metadata });
      })
      .create(EchoService, channel);
    const reply = await client.unary({ text: '' });
    expect(reply.metadataKeys).toContain('x-tagged');
    expect(seen).toEqual(['/rxlb.test.Echo/Unary']);
  });

  it('serves plain grpc-js clients too', async () => {
    const { channel } = await setup();
    await expect(grpcJsUnary(channel, { text: 'js' })).resolves.toMatchObject({ text: 'js' });
  });
});
