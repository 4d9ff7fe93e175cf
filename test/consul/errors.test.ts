/**
 * What a failed request to Consul tells its user (`onError`, statuses, the CLI): the code to
 * branch on, the whole message, and a cause that diagnoses without carrying the ACL token.
 * The errors are shaped as papi (the HTTP layer under `consul`) rejects with.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  ConsulError,
  notConsulError,
  type PapiError,
  toConsulError,
} from '../../src/consul/errors.js';
import { consulInstances$ } from '../../src/consul/instances.js';
import { registerInstance } from '../../src/consul/register-instance.js';
import { freePort } from '../support/net.js';

const AT = 'health query for "greeter" at http://127.0.0.1:8500';
const TOKEN = 's3cr3t-token';

/** An error as papi makes them: an Error with papi's fields. */
function papi(message: string, fields: Partial<PapiError> = {}, cause?: unknown): PapiError {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), fields);
}

/** Every text an error carries, its causes' too: what a logger printing it deeply shows. */
function texts(error: unknown, depth = 0): string[] {
  if (!(error instanceof Error) || depth > 10) return [];
  return [error.message, error.stack ?? '', ...texts(error.cause, depth + 1)];
}

describe('toConsulError()', () => {
  it('a refused connection: ERR_CONSUL_UNREACHABLE naming the system code, the cause a plain copy', () => {
    const refused = papi('connect ECONNREFUSED 127.0.0.1:8500', { code: 'ECONNREFUSED' });
    const error = toConsulError(refused, AT, TOKEN);
    expect(error).toBeInstanceOf(ConsulError);
    expect(error.name).toBe('ConsulError');
    expect(error.code).toBe('ERR_CONSUL_UNREACHABLE');
    expect(error.statusCode).toBeUndefined();
    expect(error.message).toBe(`${AT} failed: ECONNREFUSED`);
    const cause = error.cause as Error & { code?: string };
    expect(cause).not.toBe(refused);
    expect(cause).toMatchObject({ name: 'Error', message: refused.message, code: 'ECONNREFUSED' });
    expect(cause.stack).toBe(refused.stack);
    expect(Object.keys(cause)).toEqual(['name', 'code']);
  });

  it("takes the code of papi's cause before its own, and the message when neither has one", () => {
    const wrapped = papi(
      'request failed',
      { code: 'EOUTER' },
      papi('inner', { code: 'ECONNRESET' }),
    );
    expect(toConsulError(wrapped, AT, TOKEN).message).toBe(`${AT} failed: ECONNRESET`);
    const outer = papi('request failed', { code: 'EOUTER' }, papi('inner'));
    expect(toConsulError(outer, AT, TOKEN).message).toBe(`${AT} failed: EOUTER`);
    const bare = papi('request failed', {}, papi(`socket hang up near ${TOKEN}`));
    expect(toConsulError(bare, AT, TOKEN).message).toBe(
      `${AT} failed: socket hang up near [token]`,
    );
  });

  it('a value thrown that is no Error: ERR_CONSUL_UNREACHABLE with its text, scrubbed, and no cause', () => {
    const error = toConsulError(`lost ${TOKEN}`, AT, TOKEN);
    expect(error.code).toBe('ERR_CONSUL_UNREACHABLE');
    expect(error.message).toBe(`${AT} failed: lost [token]`);
    expect(error.cause).toBeUndefined();
    expect('cause' in error).toBe(false);
  });

  it('a timeout: ERR_CONSUL_TIMEOUT, whatever else the error says', () => {
    const late = papi('timeout', { isTimeout: true, code: 'ETIMEDOUT', isResponse: true });
    const error = toConsulError(late, AT, TOKEN);
    expect(error.code).toBe('ERR_CONSUL_TIMEOUT');
    expect(error.message).toBe(`${AT} timed out`);
    expect(error.cause).toMatchObject({ message: 'timeout', code: 'ETIMEDOUT' });
  });

  it("a non-2xx answer: ERR_CONSUL_HTTP with the status and the body's first line, scrubbed", () => {
    const body = `ACL not found for ${TOKEN}\nsecond line`;
    const denied = papi('403', { isResponse: true, response: { statusCode: 403, body } });
    const error = toConsulError(denied, AT, TOKEN);
    expect(error.code).toBe('ERR_CONSUL_HTTP');
    expect(error.statusCode).toBe(403);
    expect(error.message).toBe(`${AT} failed: HTTP 403 ACL not found for [token]`);
    const buffer = papi('500', {
      isResponse: true,
      response: { statusCode: 500, body: Buffer.from('  rpc error: no leader  \n') },
    });
    expect(toConsulError(buffer, AT, TOKEN).message).toBe(
      `${AT} failed: HTTP 500 rpc error: no leader`,
    );
  });

  it("an empty or unreadable body: the status's name, else 'error'; a long line cut at 200", () => {
    const answer = (statusCode: number, body?: unknown) =>
      toConsulError(papi('x', { isResponse: true, response: { statusCode, body } }), AT, undefined);
    expect(answer(429).message).toBe(`${AT} failed: HTTP 429 Too Many Requests`);
    expect(answer(503, { json: true }).message).toBe(`${AT} failed: HTTP 503 Service Unavailable`);
    expect(answer(599, '').message).toBe(`${AT} failed: HTTP 599 error`);
    expect(answer(500, 'x'.repeat(200)).message).toBe(`${AT} failed: HTTP 500 ${'x'.repeat(200)}`);
    expect(answer(500, 'y'.repeat(201)).message).toBe(`${AT} failed: HTTP 500 ${'y'.repeat(200)}…`);
  });

  it('an answer that is not JSON: ERR_CONSUL_BAD_RESPONSE', () => {
    const error = toConsulError(papi('Unexpected token <', { isCodec: true }), AT, TOKEN);
    expect(error.code).toBe('ERR_CONSUL_BAD_RESPONSE');
    expect(error.message).toBe(`${AT} returned malformed JSON`);
    expect(error.cause).toMatchObject({ message: 'Unexpected token <' });
  });

  it.each([
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'ERR_SSL_WRONG_VERSION_NUMBER',
    'EPROTO',
  ])('a TLS failure (%s): ERR_CONSUL_TLS naming the code and what the TLS layer said', (code) => {
    const error = toConsulError(
      papi('request failed', {}, papi(`handshake: ${TOKEN}`, { code })),
      AT,
      TOKEN,
    );
    expect(error.code).toBe('ERR_CONSUL_TLS');
    expect(error.message).toBe(`${AT} failed TLS: ${code} (handshake: [token])`);
  });

  it('never carries the token: messages, stacks and causes scrubbed, the response left behind', () => {
    const response = {
      statusCode: 500,
      body: `boom ${TOKEN}`,
      headers: { 'x-consul-token': TOKEN },
    };
    const deep = papi(
      `outer ${TOKEN}`,
      { isResponse: true, response },
      papi(`inner ${TOKEN}`, { code: 'EX' }),
    );
    const error = toConsulError(deep, AT, TOKEN);
    for (const text of texts(error)) expect(text).not.toContain(TOKEN);
    expect(texts(error).join('\n')).toContain('[token]');
    expect(JSON.stringify(error.cause, Object.getOwnPropertyNames(error.cause))).not.toContain(
      TOKEN,
    );
    expect(error.cause).not.toHaveProperty('response');
    expect((error.cause as Error).cause).toMatchObject({ message: 'inner [token]', code: 'EX' });
  });

  it('copies four causes deep, no more, and only string codes', () => {
    let chain: unknown = papi('5', { code: 'E5' });
    for (const n of [4, 3, 2, 1])
      chain = papi(String(n), { code: n === 2 ? (7 as never) : `E${n}` }, chain);
    const error = toConsulError(chain, AT, undefined);
    const copies: (Error & { code?: unknown })[] = [];
    for (let at: unknown = error.cause; at instanceof Error; at = at.cause) copies.push(at);
    expect(copies.map((copy) => copy.message)).toEqual(['1', '2', '3', '4']);
    expect(copies.map((copy) => copy.code)).toEqual(['E1', undefined, 'E3', 'E4']);
    expect('cause' in (copies[3] as Error)).toBe(false);
  });

  it('leaves texts as they are without a token, or with an empty one', () => {
    const refused = papi('connect ECONNREFUSED', {}, papi('[token] is a word here'));
    expect(toConsulError(refused, AT, undefined).message).toBe(
      `${AT} failed: [token] is a word here`,
    );
    expect(toConsulError(papi('a  b'), AT, '').message).toBe(`${AT} failed: a  b`);
  });
});

describe('notConsulError()', () => {
  const context = {
    what: 'health query for "greeter"',
    origin: 'http://10.0.0.5:80',
    token: TOKEN,
    expectsBody: true,
  };
  const page = '<html>\n  <body>Welcome to nginx!</body>\n</html>';
  const html = { statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8' } };

  it('names a 2xx answer without any X-Consul-* header and with a body not JSON: the type and a snippet', () => {
    const error = notConsulError(html, Buffer.from(page), context);
    expect(error).toBeInstanceOf(ConsulError);
    expect(error?.code).toBe('ERR_CONSUL_BAD_RESPONSE');
    expect(error?.message).toBe(
      'http://10.0.0.5:80 is not a Consul agent: health query for "greeter" got HTTP 200 (text/html) without any X-Consul-* header: "<html> <body>Welcome to nginx!</body> </html>" (is the address right? Consul\'s HTTP API listens on port 8500 by default)',
    );
  });

  it('cuts the snippet at 60 characters, scrubs it, and leaves out a missing type', () => {
    const long = `${TOKEN} ${'z'.repeat(80)}`;
    const error = notConsulError({ statusCode: 204, headers: {} }, long, context);
    const snippet = `[token] ${'z'.repeat(80)}`.slice(0, 60);
    expect(error?.message).toBe(
      `http://10.0.0.5:80 is not a Consul agent: health query for "greeter" got HTTP 204 without any X-Consul-* header: "${snippet}…" (is the address right? Consul's HTTP API listens on port 8500 by default)`,
    );
    const sixty = 'q'.repeat(60);
    expect(notConsulError({ statusCode: 200, headers: {} }, sixty, context)?.message).toContain(
      `: "${sixty}" (`,
    );
  });

  it('says nothing of a body it cannot read as text, but still refuses it', () => {
    const error = notConsulError(
      { statusCode: 200, headers: { 'content-type': 'text/plain' } },
      { a: 1 },
      context,
    );
    expect(error?.message).toBe(
      'http://10.0.0.5:80 is not a Consul agent: health query for "greeter" got HTTP 200 (text/plain) without any X-Consul-* header (is the address right? Consul\'s HTTP API listens on port 8500 by default)',
    );
  });

  it('lets through: non-2xx answers, any X-Consul-* header (any case), an empty body, JSON where JSON is expected', () => {
    for (const statusCode of [199, 300, 404, 500]) {
      expect(notConsulError({ statusCode, headers: {} }, page, context)).toBeUndefined();
    }
    expect(notConsulError({ statusCode: 200, headers: {} }, page, context)).toBeInstanceOf(
      ConsulError,
    );
    expect(notConsulError({ statusCode: 299, headers: {} }, page, context)).toBeInstanceOf(
      ConsulError,
    );
    for (const name of ['x-consul-index', 'X-Consul-Default-ACL-Policy']) {
      expect(
        notConsulError({ statusCode: 200, headers: { [name]: '1' } }, page, context),
      ).toBeUndefined();
    }
    expect(
      notConsulError({ statusCode: 200, headers: { 'x-consulate': '1' } }, page, context),
    ).toBeInstanceOf(ConsulError);
    for (const body of [undefined, null, '', Buffer.alloc(0)]) {
      expect(notConsulError({ statusCode: 200, headers: {} }, body, context)).toBeUndefined();
    }
    for (const type of [
      'application/json',
      'application/vnd.consul+json; charset=utf-8',
      'APPLICATION/JSON',
    ]) {
      const json = { statusCode: 200, headers: { 'content-type': type } };
      expect(notConsulError(json, '[]', context)).toBeUndefined();
      // a write expects no body: a JSON one from a server without Consul's headers is not Consul
      expect(notConsulError(json, '[]', { ...context, expectsBody: false })).toBeInstanceOf(
        ConsulError,
      );
    }
    // JSON by its whole media type, not by a part of it
    for (const type of ['application/jsonp', 'text/application/json', 'application/json-seq']) {
      const other = { statusCode: 200, headers: { 'content-type': type } };
      expect(notConsulError(other, '[]', context), type).toBeInstanceOf(ConsulError);
    }
  });
});

describe('what a watch and a registration say when Consul cannot be reached', () => {
  it.each([
    [{}, 'health query for "greeter"'],
    [{ dc: 'dc2' }, 'health query for "greeter" in dc2'],
    [{ peer: 'east', dc: 'dc2' }, 'health query for "greeter" from peer east in dc2'],
  ])(
    'consulInstances$() with %j: "%s at <address> failed: ECONNREFUSED"',
    async (options, what) => {
      const port = await freePort();
      const errors: ConsulError[] = [];
      const subscription = consulInstances$('greeter', {
        address: `127.0.0.1:${port}`,
        ...options,
        onError: ({ error }) => errors.push(error),
      }).subscribe();
      try {
        await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0));
      } finally {
        subscription.unsubscribe();
      }
      expect(errors[0]?.code).toBe('ERR_CONSUL_UNREACHABLE');
      expect(errors[0]?.message).toBe(`${what} at http://127.0.0.1:${port} failed: ECONNREFUSED`);
    },
  );

  it('registerInstance(): "registration of <id> at <address> failed: ECONNREFUSED"', async () => {
    const port = await freePort();
    const registration = registerInstance({
      name: 'greeter',
      port: 50051,
      address: '127.0.0.1',
      consul: { address: `127.0.0.1:${port}` },
      requestTimeout: 2_000,
    });
    await expect(registration).rejects.toMatchObject({
      code: 'ERR_CONSUL_UNREACHABLE',
      message: `registration of "greeter-127.0.0.1-50051" at http://127.0.0.1:${port} failed: ECONNREFUSED`,
    });
  });
});
