import { credentials } from '@grpc/grpc-js';
import { NEVER } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createBalancedChannel } from '../../src/grpc/balanced-channel.js';
import { resolveChannelConfig } from '../../src/grpc/options.js';
import { retryOnAnotherInstance } from '../../src/grpc/retry-on-another-instance.js';

describe('createBalancedChannel options', () => {
  it('defaults to insecure credentials, no channel options and the name "unnamed"', () => {
    const config = resolveChannelConfig();
    expect(config.credentials._isSecure()).toBe(false);
    expect(config.channelOptions).toEqual({});
    expect(config.name).toBe('unnamed');
  });

  it('keeps what it is given', () => {
    const ssl = credentials.createSsl();
    const config = resolveChannelConfig({
      credentials: ssl,
      channelOptions: { 'grpc.keepalive_time_ms': 10_000 },
      name: 'greeter',
    });
    expect(config).toEqual({
      credentials: ssl,
      channelOptions: { 'grpc.keepalive_time_ms': 10_000 },
      name: 'greeter',
    });
  });

  it('rejects bad options with a TypeError naming the option', () => {
    expect(() => resolveChannelConfig({ credentials: 'insecure' })).toThrow(/"credentials"/);
    expect(() => resolveChannelConfig({ channelOptions: [] })).toThrow(/"channelOptions"/);
    expect(() => resolveChannelConfig({ name: ' ' })).toThrow(/"name"/);
    expect(() => resolveChannelConfig({ nmae: 'x' })).toThrow(/unknown option "nmae"/);
    expect(() => resolveChannelConfig(null)).toThrow(TypeError);
  });

  it('rejects a picker$ that is not an Observable', () => {
    // @ts-expect-error: a wrong argument, as plain JavaScript could pass it
    expect(() => createBalancedChannel([])).toThrow(/picker\$ must be an Observable/);
    expect(() => createBalancedChannel(NEVER, { name: '' })).toThrow(TypeError);
  });
});

describe('retryOnAnotherInstance options', () => {
  it('accepts an integer >= 1 or Infinity and rejects anything else, naming the option', () => {
    expect(() => retryOnAnotherInstance({ maxAttempts: Number.POSITIVE_INFINITY })).not.toThrow();
    for (const bad of [0, 1.5, Number.NaN, -1]) {
      expect(() => retryOnAnotherInstance({ maxAttempts: bad })).toThrow(/"maxAttempts"/);
    }
  });
});
