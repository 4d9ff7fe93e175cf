/**
 * ConsulTestServer's options, checked when it is made: a TypeError naming the first option
 * that cannot make a server and what it must be (an ACL token never in it); every valid
 * value accepted.
 */
import { describe, expect, it } from 'vitest';
import { ConsulTestServer, type ConsulTestServerOptions } from '../../src/testing/index.js';

const make = (options: unknown) => () => new ConsulTestServer(options as ConsulTestServerOptions);

describe("ConsulTestServer's options", () => {
  it.each<[unknown, string]>([
    [1, 'options must be an object, got 1'],
    [null, 'options must be an object, got null'],
    [{ bogus: 1 }, 'unknown option "bogus"'],
    [{ host: 1 }, 'option "host" must be a non-empty string, got 1'],
    [{ port: -1 }, 'option "port" must be an integer from 0 to 65535, got -1'],
    [{ port: 65_536 }, 'option "port" must be an integer from 0 to 65535, got 65536'],
    [{ port: 1.5 }, 'option "port" must be an integer from 0 to 65535, got 1.5'],
    [{ datacenter: 1 }, 'option "datacenter" must be a non-empty string, got 1'],
    [
      { datacenter: 'dc 1' },
      'option "datacenter" must be letters, digits, "_" and "-" only, got "dc 1"',
    ],
    [{ nodeName: 1 }, 'option "nodeName" must be a non-empty string, got 1'],
    [{ nodeAddress: 1 }, 'option "nodeAddress" must be a non-empty string, got 1'],
    [{ nodeWanAddress: 1 }, 'option "nodeWanAddress" must be a non-empty string, got 1'],
    [{ nodeMeta: 'x' }, 'option "nodeMeta" must be an object of strings, got "x"'],
    [{ nodeMeta: null }, 'option "nodeMeta" must be an object of strings, got null'],
    [{ nodeMeta: { a: 'b', c: 1 } }, 'option "nodeMeta" must be an object of strings, got object'],
    [{ acl: 1 }, 'option "acl" must be an object, got 1'],
    [{ acl: { other: 1 } }, 'unknown option "acl.other"'],
    [{ acl: {} }, 'option "acl.tokens" must be an object mapping tokens to "read" or "write"'],
    [
      { acl: { tokens: { ok: 'read', s3cret: 'admin' } } },
      'option "acl.tokens" must be an object mapping tokens to "read" or "write"',
    ],
    [{ tls: 1 }, 'option "tls" must be an object, got 1'],
    [{ tls: { nope: 1 } }, 'unknown option "tls.nope"'],
    [{ tls: {} }, 'option "tls.key" must be a PEM string or Buffer'],
    [{ tls: { key: 'k' } }, 'option "tls.cert" must be a PEM string or Buffer'],
    [{ tls: { key: 1, cert: 'c' } }, 'option "tls.key" must be a PEM string or Buffer'],
    [{ tls: { key: 'k', cert: 'c', ca: 1 } }, 'option "tls.ca" must be a PEM string or Buffer'],
    [
      { tls: { key: 'k', cert: 'c', requestCert: 1 } },
      'option "tls.requestCert" must be a boolean, got 1',
    ],
    [{ enableScriptChecks: 'yes' }, 'option "enableScriptChecks" must be a boolean, got "yes"'],
    [{ enterprise: 1 }, 'option "enterprise" must be a boolean, got 1'],
    [{ requestLogSize: -1 }, 'option "requestLogSize" must be an integer >= 0, got -1'],
    [
      { commitDelayMs: 60_001 },
      'option "commitDelayMs" must be a number from 0 to 60000, got 60001',
    ],
    [
      { wanRttMs: { dc2: 5, dc3: Number.NaN } },
      'option "wanRttMs" must be an object mapping datacenter names to round trip times >= 0 (ms), got object',
    ],
  ])('refuses %o: "%s"', (options, message) => {
    expect(make(options)).toThrow(TypeError);
    expect(make(options)).toThrow(`ConsulTestServer: ${message}`);
  });

  it('never shows an ACL token or a TLS key in a refusal', () => {
    expect(make({ acl: { tokens: { s3cret: 'admin' } } })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('s3cret') }),
    );
    expect(make({ tls: { key: ['s3cret'], cert: 'c' } })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('s3cret') }),
    );
  });

  it('takes every valid value, at the edges of each range', () => {
    for (const options of [
      {},
      { host: '127.0.0.1', port: 0, datacenter: 'dc-1_A', nodeName: 'n', nodeAddress: '10.0.0.1' },
      { port: 65_535, nodeWanAddress: '192.0.2.1', nodeMeta: { a: 'b', c: '' } },
      { acl: { tokens: { r: 'read', w: 'write' } }, enableScriptChecks: false, enterprise: true },
      { tls: { key: 'k', cert: Buffer.from('c'), ca: 'a', requestCert: true } },
      { requestLogSize: 0, commitDelayMs: 60_000, wanRttMs: { dc2: 0, dc3: 12.5 } },
      { commitDelayMs: 0, wanRttMs: {} },
    ]) {
      expect(make(options), JSON.stringify(options)).not.toThrow();
    }
  });
});
