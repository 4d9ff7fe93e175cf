import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatAddress,
  instanceFromAddress,
  normalizeAddress,
  parseAddress,
  sameInstance,
} from '../src/instance.js';

describe('addresses', () => {
  it('formats IPv4, hostnames and IPv6 (in brackets)', () => {
    expect(formatAddress('10.0.0.7', 50051)).toBe('10.0.0.7:50051');
    expect(formatAddress('greeter.service.consul', 80)).toBe('greeter.service.consul:80');
    expect(formatAddress('::1', 50051)).toBe('[::1]:50051');
    expect(formatAddress('[::1]', 50051)).toBe('[::1]:50051');
    expect(formatAddress('fe80::1%eth0', 1)).toBe('[fe80::1%eth0]:1');
  });

  it('rejects empty hosts and ports outside 1..65535', () => {
    expect(formatAddress('', 80)).toBeUndefined();
    expect(formatAddress('10.0.0.1', 0)).toBeUndefined();
    expect(formatAddress('10.0.0.1', 65_536)).toBeUndefined();
    expect(formatAddress('10.0.0.1', 1.5)).toBeUndefined();
    expect(formatAddress('bad host', 80)).toBeUndefined();
  });

  it('rejects malformed IPv6 literals and numeric names that are no IPv4 address', () => {
    for (const bad of [':', ':::', '1:2', '::1::', '1:2:3:4:5:6:7:8:9', '10.0.0.1:8080']) {
      expect(formatAddress(bad, 80), bad).toBeUndefined();
    }
    for (const bad of ['10.0.0.300', '1.2.3.4.5', '12345', '10.0.0.1.']) {
      expect(formatAddress(bad, 80), bad).toBeUndefined();
    }
    expect(formatAddress('::', 80)).toBe('[::]:80');
    expect(formatAddress('::ffff:10.0.0.1', 80)).toBe('[::ffff:10.0.0.1]:80');
    expect(formatAddress('web-1.dc1', 80)).toBe('web-1.dc1:80');
  });

  it('parses what it formats and refuses malformed addresses', () => {
    expect(parseAddress('[::1]:50051')).toEqual({ host: '::1', port: 50051 });
    expect(parseAddress('10.0.0.1:80')).toEqual({ host: '10.0.0.1', port: 80 });
    for (const bad of [
      '',
      '10.0.0.1',
      ':80',
      '10.0.0.1:',
      '::1:80',
      '[::1]80',
      'h:99999',
      'h:-1',
    ]) {
      expect(parseAddress(bad), bad).toBeUndefined();
    }
    expect(normalizeAddress('[::1]:0080')).toBe('[::1]:80');
  });

  it('round-trips every valid host and port', () => {
    const host = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.domain().filter((d) => d.length <= 253),
    );
    fc.assert(
      fc.property(host, fc.integer({ min: 1, max: 65_535 }), (h, port) => {
        const address = formatAddress(h, port);
        expect(address).toBeDefined();
        expect(parseAddress(address as string)).toEqual({ host: h, port });
      }),
    );
  });
});

describe('sameInstance', () => {
  it('compares every attribute, meta by key', () => {
    const a = { ...instanceFromAddress('10.0.0.1:80'), meta: { a: '1', b: '2' } };
    expect(sameInstance(a, { ...a, meta: { b: '2', a: '1' } })).toBe(true);
    expect(sameInstance(a, { ...a, meta: { a: '1' } })).toBe(false);
    expect(sameInstance(a, { ...a, tags: ['x'] })).toBe(false);
    expect(sameInstance(a, { ...a, weight: 2 })).toBe(false);
    expect(sameInstance(a, { ...a, datacenter: 'dc2' })).toBe(false);
  });

  it("compares the node's meta, none being the same as empty", () => {
    const a = { ...instanceFromAddress('10.0.0.1:80'), nodeMeta: { zone: 'a' } };
    expect(sameInstance(a, { ...a, nodeMeta: { zone: 'a' } })).toBe(true);
    expect(sameInstance(a, { ...a, nodeMeta: { zone: 'b' } })).toBe(false);
    expect(sameInstance(instanceFromAddress('10.0.0.1:80'), { ...a, nodeMeta: {} })).toBe(true);
  });
});
