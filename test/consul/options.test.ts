import { describe, expect, it } from 'vitest';
import { consulInstances$ } from '../../src/consul/instances.js';
import { resolveWatchConfig, WATCH_DEFAULTS } from '../../src/consul/options.js';

describe('consulInstances$() options', () => {
  it('applies the documented defaults', () => {
    const config = resolveWatchConfig('greeter', { address: '127.0.0.1:8500' });
    expect(config.query).toMatchObject({
      service: 'greeter',
      passing: true,
      tags: [],
      nodeMeta: [],
      consistency: 'default',
      waitMs: 5 * 60_000,
    });
    expect(config.backoff).toEqual({ initialMs: 100, maxMs: 30_000 });
    expect(config.minIntervalMs).toBe(WATCH_DEFAULTS.minIntervalMs);
  });

  it('sets the HTTP timeout above wait + wait/16 (Consul adds up to wait/16 of jitter)', () => {
    const { timeoutMs, query } = resolveWatchConfig('s', { address: 'h:1', wait: '5m' });
    expect(timeoutMs).toBeGreaterThan(query.waitMs + query.waitMs / 16);
  });

  it('accepts wait as ms or as a Go duration, up to 10 minutes', () => {
    expect(resolveWatchConfig('s', { address: 'h:1', wait: 250 }).query.waitMs).toBe(250);
    expect(resolveWatchConfig('s', { address: 'h:1', wait: '30s' }).query.waitMs).toBe(30_000);
    expect(resolveWatchConfig('s', { address: 'h:1', wait: '10m' }).query.waitMs).toBe(600_000);
    const refused = (got: string) =>
      `option "wait" must be a duration from 1 to 600000 ms (ms, or a string like "30s"), got ${got}`;
    expect(() => resolveWatchConfig('s', { address: 'h:1', wait: '11m' })).toThrow(
      refused('"11m"'),
    );
    expect(() => resolveWatchConfig('s', { address: 'h:1', wait: 0 })).toThrow(refused('0'));
    expect(() => resolveWatchConfig('s', { address: 'h:1', wait: '5 minutes' })).toThrow(
      refused('"5 minutes"'),
    );
  });

  it('turns nodeMeta into key:value query pairs', () => {
    const config = resolveWatchConfig('s', { address: 'h:1', nodeMeta: { rack: 'r1', az: 'b' } });
    expect(config.query.nodeMeta).toEqual(['rack:r1', 'az:b']);
  });

  it.each([
    [{ passing: 'yes' }, 'consulInstances$(): option "passing" must be a boolean, got "yes"'],
    [
      { tags: 'v2' },
      'consulInstances$(): option "tags" must be an array of non-empty strings, got "v2"',
    ],
    [
      { tags: [''] },
      'consulInstances$(): option "tags" must be an array of non-empty strings, got an array',
    ],
    [{ dc: '' }, 'consulInstances$(): option "dc" must be a non-empty string, got ""'],
    [
      { nodeMeta: { 'a:b': 'c' } },
      'consulInstances$(): option "nodeMeta" must be an object of string values with non-empty keys free of ":", got object',
    ],
    [
      { nodeMeta: { '': 'r1' } },
      'consulInstances$(): option "nodeMeta" must be an object of string values with non-empty keys free of ":", got object',
    ],
    [
      { nodeMeta: { a: 1 } },
      'consulInstances$(): option "nodeMeta" must be an object of string values with non-empty keys free of ":", got object',
    ],
    [{ filter: 42 }, 'consulInstances$(): option "filter" must be a non-empty string, got 42'],
    [{ near: '' }, 'consulInstances$(): option "near" must be a non-empty string, got ""'],
    [
      { consistency: 'eventual' },
      'consulInstances$(): option "consistency" must be "default", "stale" or "consistent", got "eventual"',
    ],
    [
      { backoff: { initialMs: 0 } },
      'consulInstances$(): option "backoff.initialMs" must be a number of ms from 1 to 2147483647, got 0',
    ],
    [
      { backoff: { initialMs: 500, maxMs: 100 } },
      'consulInstances$(): option "backoff.maxMs" must be >= backoff.initialMs (500), got 100',
    ],
    // beyond 2^31 - 1 ms a Node timer fires after 1 ms: the backoff would loop hot
    [
      { backoff: { maxMs: 3e9 } },
      'consulInstances$(): option "backoff.maxMs" must be a number of ms from 1 to 2147483647, got 3000000000',
    ],
    [
      { minIntervalMs: 3e9 },
      'consulInstances$(): option "minIntervalMs" must be a number of ms from 0 to 2147483647, got 3000000000',
    ],
    [{ backoff: { max: 1 } }, 'consulInstances$(): unknown option "backoff.max"'],
    [
      { minIntervalMs: -1 },
      'consulInstances$(): option "minIntervalMs" must be a number of ms from 0 to 2147483647, got -1',
    ],
    [{ onError: 'log' }, 'consulInstances$(): option "onError" must be a function, got "log"'],
    [{ onStatus: 1 }, 'consulInstances$(): option "onStatus" must be a function, got 1'],
    [{ tag: 'v2' }, 'consulInstances$(): unknown option "tag" (did you mean "tags"?)'],
    [
      { consistency: 'stael' },
      'consulInstances$(): option "consistency" must be "default", "stale" or "consistent", got "stael" (did you mean "stale"?)',
    ],
    [
      { address: 'unix:///tmp/consul.sock' },
      'consulInstances$(): option "address" must be host:port or http(s)://host:port, with a port from 1 to 65535, got "unix:///tmp/consul.sock"',
    ],
    [
      { address: 'h:70000' },
      'consulInstances$(): option "address" must be host:port or http(s)://host:port, with a port from 1 to 65535, got "h:70000"',
    ],
    [{ token: 42 }, 'consulInstances$(): option "token" must be a string'],
    [{ tls: { ca: 42 } }, 'consulInstances$(): option "tls.ca" must be a PEM string or Buffer'],
    [
      { tls: { cert: 'x' } },
      'consulInstances$(): option "tls.cert" must be given together with "tls.key"',
    ],
    [
      { wait: Number.NaN },
      'consulInstances$(): option "wait" must be a duration from 1 to 600000 ms (ms, or a string like "30s"), got NaN',
    ],
    [
      { wait: {} },
      'consulInstances$(): option "wait" must be a duration from 1 to 600000 ms (ms, or a string like "30s"), got object',
    ],
    [
      { wait: '0s' },
      'consulInstances$(): option "wait" must be a duration from 1 to 600000 ms (ms, or a string like "30s"), got "0s"',
    ],
    [
      { wait: -5 },
      'consulInstances$(): option "wait" must be a duration from 1 to 600000 ms (ms, or a string like "30s"), got -5',
    ],
    [{ backoff: null }, 'consulInstances$(): option "backoff" must be an object, got null'],
    [{ backoff: 5 }, 'consulInstances$(): option "backoff" must be an object, got 5'],
    [
      { backoff: { maxMs: 0 } },
      'consulInstances$(): option "backoff.maxMs" must be a number of ms from 1 to 2147483647, got 0',
    ],
    [
      { backoff: { initialMs: Number.POSITIVE_INFINITY } },
      'consulInstances$(): option "backoff.initialMs" must be a number of ms from 1 to 2147483647, got Infinity',
    ],
    [
      { minIntervalMs: Number.NaN },
      'consulInstances$(): option "minIntervalMs" must be a number of ms from 0 to 2147483647, got NaN',
    ],
    [
      { minIntervalMs: '50' },
      'consulInstances$(): option "minIntervalMs" must be a number of ms from 0 to 2147483647, got "50"',
    ],
    [
      { tags: [1] },
      'consulInstances$(): option "tags" must be an array of non-empty strings, got an array',
    ],
    [{ dc: 42 }, 'consulInstances$(): option "dc" must be a non-empty string, got 42'],
    [{ near: 42 }, 'consulInstances$(): option "near" must be a non-empty string, got 42'],
    [{ filter: '' }, 'consulInstances$(): option "filter" must be a non-empty string, got ""'],
    [
      { nodeMeta: ['rack:r1'] },
      'consulInstances$(): option "nodeMeta" must be an object of string values with non-empty keys free of ":", got an array',
    ],
    [
      { nodeMeta: null },
      'consulInstances$(): option "nodeMeta" must be an object of string values with non-empty keys free of ":", got null',
    ],
    [
      { consistency: 1 },
      'consulInstances$(): option "consistency" must be "default", "stale" or "consistent", got 1',
    ],
    [
      { address: '' },
      'consulInstances$(): option "address" must be host:port or http(s)://host:port, with a port from 1 to 65535, got ""',
    ],
    [
      { address: 'http://' },
      'consulInstances$(): option "address" must be host:port or http(s)://host:port, with a port from 1 to 65535, got "http://"',
    ],
    [
      { address: 'ftp://consul:8500' },
      'consulInstances$(): option "address" must be host:port or http(s)://host:port, with a port from 1 to 65535, got "ftp://consul:8500"',
    ],
    [
      { address: 'h:0' },
      'consulInstances$(): option "address" must be host:port or http(s)://host:port, with a port from 1 to 65535, got "h:0"',
    ],
    [
      { address: 8500 },
      'consulInstances$(): option "address" must be host:port or http(s)://host:port, with a port from 1 to 65535, got 8500',
    ],
    [{ tls: null }, 'consulInstances$(): option "tls" must be an object, got null'],
    [
      { tls: { servername: '' } },
      'consulInstances$(): option "tls.servername" must be a non-empty string, got ""',
    ],
    [
      { tls: { rejectUnauthorized: 'no' } },
      'consulInstances$(): option "tls.rejectUnauthorized" must be a boolean, got "no"',
    ],
    [{ tls: { verify: false } }, 'consulInstances$(): unknown option "tls.verify"'],
  ])(
    'rejects %j synchronously with a TypeError that says what it takes and got',
    (options, message) => {
      expect(() => consulInstances$('greeter', options as never)).toThrow(TypeError);
      // the whole message, as a user reads it
      expect(() => consulInstances$('greeter', options as never)).toThrow(
        new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
      );
    },
  );

  it.each([null, [], 'options'])('rejects options %j that are not an object', (options) => {
    expect(() => consulInstances$('greeter', options as never)).toThrow(
      'consulInstances$(): options must be an object',
    );
  });

  it.each([[''], ['   '], ['\t'], [null], [42], [{}]])('rejects the service name %j', (service) => {
    expect(() => consulInstances$(service as never)).toThrow(
      /^consulInstances\$\(\): service must be a non-empty string, got /,
    );
  });

  it('says that the service name is missing', () => {
    expect(() => (consulInstances$ as (service?: string) => unknown)()).toThrow(
      'consulInstances$(): missing service (a non-empty string)',
    );
  });
});
