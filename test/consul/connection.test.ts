import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONNECTION_KEYS, resolveEndpoint } from '../../src/consul/connection.js';
import { readOptions } from '../../src/read-options.js';

const resolve = (options: object, env: Record<string, string> = {}) =>
  resolveEndpoint(readOptions('test()', options, CONNECTION_KEYS), env);

describe('Consul connection settings', () => {
  it('defaults to 127.0.0.1:8500 over http', () => {
    expect(resolve({})).toMatchObject({ secure: false, host: '127.0.0.1', port: 8500 });
  });

  it('reads CONSUL_HTTP_ADDR with or without a scheme, and IPv6 in brackets', () => {
    expect(resolve({}, { CONSUL_HTTP_ADDR: 'consul.local:8600' })).toMatchObject({
      host: 'consul.local',
      port: 8600,
      secure: false,
    });
    expect(resolve({}, { CONSUL_HTTP_ADDR: 'https://consul.local:8501' })).toMatchObject({
      secure: true,
      port: 8501,
    });
    expect(resolve({}, { CONSUL_HTTP_ADDR: '[::1]:8500' })).toMatchObject({ host: '[::1]' });
    expect(resolve({}, { CONSUL_HTTP_ADDR: 'https://consul.local' }).port).toBe(443);
  });

  it('prefers the address option to CONSUL_HTTP_ADDR', () => {
    const endpoint = resolve({ address: 'http://a:1' }, { CONSUL_HTTP_ADDR: 'b:2' });
    expect(endpoint).toMatchObject({ host: 'a', port: 1 });
  });

  it("lets TLS variables configure HTTPS but not select it, as Consul's CLI does", () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxlb-tls-'));
    writeFileSync(join(dir, 'ca'), 'ca-pem');
    const env = { CONSUL_HTTP_ADDR: '127.0.0.1:8500', CONSUL_CACERT: join(dir, 'ca') };
    expect(resolve({}, env)).toMatchObject({ secure: false, origin: 'http://127.0.0.1:8500' });
    expect(resolve({}, { ...env, CONSUL_HTTP_SSL_VERIFY: 'false' }).secure).toBe(false);
    expect(resolve({}, { ...env, CONSUL_HTTP_SSL: 'true' }).secure).toBe(true);
    expect(resolve({ tls: { ca: 'ca-pem' } }, { CONSUL_HTTP_SSL: 'false' }).secure).toBe(false);
    expect(resolve({ tls: { ca: 'ca-pem' } }, {}).secure).toBe(true);
  });

  it('selects https from CONSUL_HTTP_SSL', () => {
    expect(resolve({}, { CONSUL_HTTP_SSL: 'true' }).secure).toBe(true);
    expect(resolve({}, { CONSUL_HTTP_SSL: 'false' }).secure).toBe(false);
    expect(() => resolve({}, { CONSUL_HTTP_SSL: 'maybe' })).toThrow(/CONSUL_HTTP_SSL/);
  });

  it('takes the token from the option, else CONSUL_HTTP_TOKEN, and never puts it in the origin', () => {
    expect(resolve({ token: 'opt' }, { CONSUL_HTTP_TOKEN: 'env' }).token).toBe('opt');
    const endpoint = resolve({}, { CONSUL_HTTP_TOKEN: 'env-secret' });
    expect(endpoint.token).toBe('env-secret');
    expect(endpoint.origin).not.toContain('env-secret');
    expect(resolve({}, { CONSUL_HTTP_TOKEN: '' }).token).toBeUndefined();
  });

  it('reads CONSUL_CACERT, CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxlb-tls-'));
    for (const name of ['ca', 'cert', 'key']) writeFileSync(join(dir, name), `${name}-pem`);
    const endpoint = resolve(
      {},
      {
        CONSUL_HTTP_ADDR: 'https://consul:8501',
        CONSUL_CACERT: join(dir, 'ca'),
        CONSUL_CLIENT_CERT: join(dir, 'cert'),
        CONSUL_CLIENT_KEY: join(dir, 'key'),
      },
    );
    expect(endpoint.tls?.ca?.toString()).toBe('ca-pem');
    expect(endpoint.tls?.cert?.toString()).toBe('cert-pem');
    expect(endpoint.tls?.key?.toString()).toBe('key-pem');
  });

  it('names the variable when a TLS file cannot be read', () => {
    expect(() => resolve({}, { CONSUL_CACERT: '/nonexistent/ca.pem' })).toThrow(
      /CONSUL_CACERT \(\/nonexistent\/ca.pem\)/,
    );
  });

  it('names the variable, the caller and the value when a variable is wrong', () => {
    expect(() => resolve({}, { CONSUL_HTTP_SSL: 'yes please' })).toThrow(
      'test(): CONSUL_HTTP_SSL must be true or false, got "yes please"',
    );
    expect(() => resolve({}, { CONSUL_HTTP_SSL_VERIFY: 'nope' })).toThrow(
      'test(): CONSUL_HTTP_SSL_VERIFY must be true or false, got "nope"',
    );
    expect(() => resolve({}, { CONSUL_HTTP_ADDR: 'consul:99999' })).toThrow(
      'test(): CONSUL_HTTP_ADDR must be host:port or http(s)://host:port, with a port from 1 to 65535, got "consul:99999"',
    );
  });

  it('names the option, not the variable, when the option is wrong', () => {
    expect(() => resolve({ address: 'consul:0' }, { CONSUL_HTTP_ADDR: 'fine:8500' })).toThrow(
      'test(): option "address" must be host:port or http(s)://host:port, with a port from 1 to 65535, got "consul:0"',
    );
  });

  it('names the client certificate variable that is set without its pair', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxlb-tls-'));
    writeFileSync(join(dir, 'cert'), 'cert-pem');
    expect(() => resolve({}, { CONSUL_CLIENT_CERT: join(dir, 'cert') })).toThrow(
      'test(): CONSUL_CLIENT_CERT is set but CONSUL_CLIENT_KEY is not: the two go together',
    );
  });
});
