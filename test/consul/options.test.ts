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
    expect(() => resolveWatchConfig('s', { address: 'h:1', wait: '11m' })).toThrow(/"wait"/);
    expect(() => resolveWatchConfig('s', { address: 'h:1', wait: 0 })).toThrow(/"wait"/);
    expect(() => resolveWatchConfig('s', { address: 'h:1', wait: '5 minutes' })).toThrow(/"wait"/);
  });

  it('turns nodeMeta into key:value query pairs', () => {
    const config = resolveWatchConfig('s', { address: 'h:1', nodeMeta: { rack: 'r1', az: 'b' } });
    expect(config.query.nodeMeta).toEqual(['rack:r1', 'az:b']);
  });

  it.each([
    [{ passing: 'yes' }, /"passing"/],
    [{ tags: 'v2' }, /"tags"/],
    [{ tags: [''] }, /"tags"/],
    [{ dc: '' }, /"dc"/],
    [{ nodeMeta: { 'a:b': 'c' } }, /"nodeMeta"/],
    [{ nodeMeta: { a: 1 } }, /"nodeMeta"/],
    [{ filter: 42 }, /"filter"/],
    [{ near: '' }, /"near"/],
    [{ consistency: 'eventual' }, /"consistency"/],
    [{ backoff: { initialMs: 0 } }, /"backoff.initialMs"/],
    [{ backoff: { initialMs: 500, maxMs: 100 } }, /"backoff.maxMs"/],
    // beyond 2^31 - 1 ms a Node timer fires after 1 ms: the backoff would loop hot
    [{ backoff: { maxMs: 3e9 } }, /"backoff.maxMs"/],
    [{ minIntervalMs: 3e9 }, /"minIntervalMs"/],
    [{ backoff: { max: 1 } }, /"backoff.max"/],
    [{ minIntervalMs: -1 }, /"minIntervalMs"/],
    [{ onError: 'log' }, /"onError"/],
    [{ onStatus: 1 }, /"onStatus"/],
    [{ tag: 'v2' }, /^consulInstances\$\(\): unknown option "tag" \(did you mean "tags"\?\)$/],
    [{ consistency: 'stael' }, /got "stael" \(did you mean "stale"\?\)/],
    [{ address: 'unix:///tmp/consul.sock' }, /"address"/],
    [{ address: 'h:70000' }, /"address"/],
    [{ token: 42 }, /"token"/],
    [{ tls: { ca: 42 } }, /"tls.ca"/],
    [{ tls: { cert: 'x' } }, /"tls.cert" must be given together with "tls.key"/],
    [{ wait: Number.NaN }, /"wait"/],
    [{ wait: {} }, /"wait"/],
    [{ wait: '0s' }, /"wait"/],
    [{ wait: -5 }, /"wait"/],
    [{ backoff: null }, /"backoff"/],
    [{ backoff: 5 }, /"backoff"/],
    [{ backoff: { maxMs: 0 } }, /"backoff.maxMs"/],
    [{ backoff: { initialMs: Number.POSITIVE_INFINITY } }, /"backoff.initialMs"/],
    [{ minIntervalMs: Number.NaN }, /"minIntervalMs"/],
    [{ minIntervalMs: '50' }, /"minIntervalMs"/],
    [{ tags: [1] }, /"tags"/],
    [{ dc: 42 }, /"dc"/],
    [{ near: 42 }, /"near"/],
    [{ filter: '' }, /"filter"/],
    [{ nodeMeta: ['rack:r1'] }, /"nodeMeta"/],
    [{ nodeMeta: null }, /"nodeMeta"/],
    [{ consistency: 1 }, /"consistency"/],
    [{ address: '' }, /"address"/],
    [{ address: 'http://' }, /"address"/],
    [{ address: 'ftp://consul:8500' }, /"address"/],
    [{ address: 'h:0' }, /"address"/],
    [{ address: 8500 }, /"address"/],
    [{ tls: null }, /"tls"/],
    [{ tls: { servername: '' } }, /"tls.servername"/],
    [{ tls: { rejectUnauthorized: 'no' } }, /"tls.rejectUnauthorized"/],
    [{ tls: { verify: false } }, /unknown option "tls.verify"/],
  ])('rejects %j synchronously with a TypeError naming the option', (options, message) => {
    expect(() => consulInstances$('greeter', options as never)).toThrow(TypeError);
    expect(() => consulInstances$('greeter', options as never)).toThrow(message);
  });

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
