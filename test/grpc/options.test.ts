import * as grpcJs from '@grpc/grpc-js';
import { credentials } from '@grpc/grpc-js';
import { NEVER } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createBalancedChannel } from '../../src/grpc/balanced-channel.js';
import { CHANNEL_DEFAULTS, resolveChannelConfig } from '../../src/grpc/options.js';
import { retryOnAnotherInstance } from '../../src/grpc/retry-on-another-instance.js';

describe('createBalancedChannel options', () => {
  it('defaults to insecure credentials, no channel options, no name, and measurements that fade over 10 s', () => {
    const config = resolveChannelConfig();
    expect(config.credentials._isSecure()).toBe(false);
    expect(config.channelOptions).toEqual({});
    expect(config.name).toBeUndefined();
    expect(config.decayMs).toBe(10_000);
  });

  it('keeps what it is given', () => {
    const ssl = credentials.createSsl();
    const config = resolveChannelConfig({
      credentials: ssl,
      channelOptions: { 'grpc.keepalive_time_ms': 10_000 },
      name: 'greeter',
      decayMs: 2_000,
    });
    expect(config).toEqual({
      grpc: grpcJs,
      credentials: ssl,
      channelOptions: { 'grpc.keepalive_time_ms': 10_000 },
      name: 'greeter',
      decayMs: 2_000,
      outlierDetection: expect.objectContaining({ consecutiveFailures: 5 }),
      // no meter provider registered: the API's no-op meter, so nothing to record
      metrics: expect.objectContaining({ enabled: false }),
    });
  });

  it('turns outlier detection on by default: 5 failures in a row, 30 s to 5 min, at most 50 %, no rule over intervals', () => {
    expect(resolveChannelConfig().outlierDetection).toEqual({
      consecutiveFailures: 5,
      interval: 10_000,
      baseEjectionTime: 30_000,
      maxEjectionTime: 300_000,
      maxEjectionPercent: 50,
      successRateEjection: undefined,
      failurePercentageEjection: undefined,
      onEjection: undefined,
      clock: CHANNEL_DEFAULTS.outlierDetection.clock,
      random: Math.random,
    });
    expect(resolveChannelConfig({ outlierDetection: false }).outlierDetection).toBeUndefined();
  });

  it('keeps the outlier detection options it is given (durations as ms or Go text), and raises maxEjectionTime to a longer base', () => {
    const onEjection = () => {};
    const clock = { now: () => 0, setTimer: () => () => {} };
    const given = { consecutiveFailures: 2, interval: '1.5s', baseEjectionTime: 100 };
    expect(
      resolveChannelConfig({
        outlierDetection: {
          ...given,
          maxEjectionTime: '400ms',
          maxEjectionPercent: 100,
          onEjection,
          clock,
        },
      }).outlierDetection,
    ).toMatchObject({
      consecutiveFailures: 2,
      interval: 1_500,
      baseEjectionTime: 100,
      maxEjectionTime: 400,
      maxEjectionPercent: 100,
      onEjection,
      clock,
    });
    const long = resolveChannelConfig({ outlierDetection: { baseEjectionTime: 600_000 } });
    expect(long.outlierDetection?.maxEjectionTime).toBe(600_000);
    const off = resolveChannelConfig({ outlierDetection: { consecutiveFailures: Infinity } });
    expect(off.outlierDetection?.consecutiveFailures).toBe(Infinity);
  });

  it("fills each rule over intervals that is given with gRFC A50's defaults", () => {
    const config = resolveChannelConfig({
      outlierDetection: {
        successRateEjection: {},
        failurePercentageEjection: { threshold: 50, minimumHosts: 3 },
      },
    }).outlierDetection;
    expect(config?.successRateEjection).toEqual({
      stdevFactor: 1900,
      enforcementPercentage: 100,
      minimumHosts: 5,
      requestVolume: 100,
    });
    expect(config?.failurePercentageEjection).toEqual({
      threshold: 50,
      enforcementPercentage: 100,
      minimumHosts: 3,
      requestVolume: 50,
    });
  });

  it('keeps the options of each rule over intervals that it is given', () => {
    const rules = { enforcementPercentage: 50, minimumHosts: 2, requestVolume: 10 };
    const config = resolveChannelConfig({
      outlierDetection: {
        successRateEjection: { stdevFactor: 1000, ...rules },
        failurePercentageEjection: { threshold: 80, ...rules },
      },
    }).outlierDetection;
    expect(config?.successRateEjection).toEqual({ stdevFactor: 1000, ...rules });
    expect(config?.failurePercentageEjection).toEqual({ threshold: 80, ...rules });
  });

  it('rejects bad options of the rules over intervals, and a clock without now() or setTimer(), saying what each must be', () => {
    const bad = (outlierDetection: unknown) => () => resolveChannelConfig({ outlierDetection });
    const option = (name: string, text: string) =>
      `createBalancedChannel(): option "outlierDetection.${name}" must be ${text}`;
    const rule = (key: string, value: number) => bad({ successRateEjection: { [key]: value } });
    expect(rule('stdevFactor', -1)).toThrow(
      option('successRateEjection.stdevFactor', 'a number >= 0, got -1'),
    );
    expect(rule('enforcementPercentage', 101)).toThrow(
      option('successRateEjection.enforcementPercentage', 'a number from 0 to 100, got 101'),
    );
    expect(rule('enforcementPercentage', -1)).toThrow(
      option('successRateEjection.enforcementPercentage', 'a number from 0 to 100, got -1'),
    );
    expect(rule('minimumHosts', 2.5)).toThrow(
      option('successRateEjection.minimumHosts', 'an integer >= 1, got 2.5'),
    );
    expect(rule('requestVolume', 0)).toThrow(
      option('successRateEjection.requestVolume', 'an integer >= 1, got 0'),
    );
    expect(rule('requestVolume', 2.5)).toThrow(
      option('successRateEjection.requestVolume', 'an integer >= 1, got 2.5'),
    );
    expect(bad({ interval: 0 })).toThrow(
      option('interval', 'a duration from 1 to 2147483647 ms (ms, or a string like "30s"), got 0'),
    );
    const clock = 'an object with the functions now() and setTimer(), got object';
    expect(bad({ clock: { setTimer: () => () => {} } })).toThrow(option('clock', clock));
    expect(bad({ clock: { now: () => 0 } })).toThrow(option('clock', clock));
  });

  it("names A50's maxEjectionTime in place of rxlb 0.1's maxEjectionMs", () => {
    expect(() => resolveChannelConfig({ outlierDetection: { maxEjectionMs: 1 } })).toThrow(
      'unknown option "outlierDetection.maxEjectionMs" (it is "maxEjectionTime" now, gRFC A50\'s name)',
    );
  });

  it("names A50's option in place of rxlb 0.1's", () => {
    expect(() => resolveChannelConfig({ outlierDetection: { baseEjectionMs: 1 } })).toThrow(
      'unknown option "outlierDetection.baseEjectionMs" (it is "baseEjectionTime" now',
    );
  });

  it('rejects bad outlier detection options with a TypeError saying what each must be', () => {
    const bad = (outlierDetection: unknown) => () => resolveChannelConfig({ outlierDetection });
    const option = (name: string, text: string) =>
      `createBalancedChannel(): option "outlierDetection${name}" must be ${text}`;
    const duration = 'a duration from 1 to 2147483647 ms (ms, or a string like "30s")';
    expect(bad(true)).toThrow(option('', 'an object of options, or false, got true'));
    expect(bad({ consecutiveFailures: 0 })).toThrow(
      option('.consecutiveFailures', 'an integer >= 1, got 0'),
    );
    expect(bad({ consecutiveFailures: 2.5 })).toThrow(
      option('.consecutiveFailures', 'an integer >= 1, got 2.5'),
    );
    expect(bad({ baseEjectionTime: 0 })).toThrow(option('.baseEjectionTime', `${duration}, got 0`));
    expect(bad({ baseEjectionTime: Number.NaN })).toThrow(
      option('.baseEjectionTime', `${duration}, got NaN`),
    );
    expect(bad({ baseEjectionTime: 2 ** 31 })).toThrow(
      option('.baseEjectionTime', `${duration}, got 2147483648`),
    );
    expect(bad({ interval: '10 s' })).toThrow(option('.interval', `${duration}, got "10 s"`));
    expect(bad({ baseEjectionTime: 500, maxEjectionTime: 499 })).toThrow(
      /"outlierDetection.maxEjectionTime" must be a duration from 500 to 2147483647 ms/,
    );
    expect(bad({ failurePercentageEjection: { threshold: 101 } })).toThrow(
      option('.failurePercentageEjection.threshold', 'a number from 0 to 100, got 101'),
    );
    expect(bad({ successRateEjection: { minimumHosts: 0 } })).toThrow(
      option('.successRateEjection.minimumHosts', 'an integer >= 1, got 0'),
    );
    expect(bad({ successRateEjection: { stdevfactor: 1 } })).toThrow(
      /unknown option "outlierDetection.successRateEjection.stdevfactor"/,
    );
    expect(bad({ maxEjectionPercent: 101 })).toThrow(
      option('.maxEjectionPercent', 'a number from 0 to 100, got 101'),
    );
    expect(bad({ maxEjectionPercent: '50' })).toThrow(
      option('.maxEjectionPercent', 'a number from 0 to 100, got "50"'),
    );
    expect(bad({ onEjection: 'log' })).toThrow(option('.onEjection', 'a function, got "log"'));
    expect(bad({ clock: Date })).toThrow(
      option('.clock', 'an object with the functions now() and setTimer(), got function'),
    );
    expect(bad({ consecutiveFailure: 3 })).toThrow(
      /unknown option "outlierDetection.consecutiveFailure"/,
    );
  });

  it("checks no health by default, as gRPC; healthCheck: {} asks about the whole server, with gRPC's connection backoff between attempts", () => {
    expect(resolveChannelConfig().healthCheck).toBeUndefined();
    expect(resolveChannelConfig({ healthCheck: {} }).healthCheck).toEqual({
      serviceName: '',
      onHealthChange: undefined,
      backoff: { initialMs: 1_000, multiplier: 1.6, jitter: 0.2, maxMs: 120_000 },
      clock: CHANNEL_DEFAULTS.outlierDetection.clock,
      random: Math.random,
    });
    const onHealthChange = () => {};
    expect(
      resolveChannelConfig({ healthCheck: { serviceName: 'greeter.v1', onHealthChange } })
        .healthCheck,
    ).toMatchObject({ serviceName: 'greeter.v1', onHealthChange });
  });

  it("checks health as the service config's healthCheckConfig says, unless healthCheck is false", () => {
    const serviceConfig = (config: object) => ({
      channelOptions: { 'grpc.service_config': JSON.stringify(config) },
    });
    const named = serviceConfig({ healthCheckConfig: { serviceName: 'greeter.v1' } });
    expect(resolveChannelConfig(named).healthCheck?.serviceName).toBe('greeter.v1');
    const unnamed = serviceConfig({ healthCheckConfig: {} });
    expect(resolveChannelConfig(unnamed).healthCheck?.serviceName).toBe('');
    const onHealthChange = () => {};
    expect(
      resolveChannelConfig({ ...named, healthCheck: { onHealthChange } }).healthCheck,
    ).toMatchObject({ serviceName: 'greeter.v1', onHealthChange });
    const same = { serviceName: 'greeter.v1' };
    expect(resolveChannelConfig({ ...named, healthCheck: same }).healthCheck?.serviceName).toBe(
      'greeter.v1',
    );
    expect(resolveChannelConfig({ ...named, healthCheck: false }).healthCheck).toBeUndefined();
    expect(resolveChannelConfig(serviceConfig({ methodConfig: [] })).healthCheck).toBeUndefined();
  });

  it('rejects bad health check options, given or in the service config, naming them', () => {
    const bad = (healthCheck: unknown) => () => resolveChannelConfig({ healthCheck });
    expect(bad(true)).toThrow(
      'createBalancedChannel(): option "healthCheck" must be an object of options, or false, got true',
    );
    expect(bad({ serviceName: 7 })).toThrow(
      /option "healthCheck.serviceName" must be a string \('' for the whole server\), got 7/,
    );
    expect(bad({ servicename: 'x' })).toThrow(
      'unknown option "healthCheck.servicename" (did you mean "healthCheck.serviceName"?)',
    );
    expect(bad({ onHealthChange: 'log' })).toThrow(
      /"healthCheck.onHealthChange" must be a function/,
    );
    const inConfig = (healthCheckConfig: unknown, healthCheck?: unknown) => () =>
      resolveChannelConfig({
        channelOptions: { 'grpc.service_config': JSON.stringify({ healthCheckConfig }) },
        healthCheck,
      });
    expect(inConfig({ service_name: 'x' })).toThrow(
      `unknown option "channelOptions['grpc.service_config'].healthCheckConfig.service_name" (did you mean "channelOptions['grpc.service_config'].healthCheckConfig.serviceName"?)`,
    );
    expect(inConfig('greeter')).toThrow(
      /option "channelOptions\['grpc.service_config'\].healthCheckConfig" must be an object/,
    );
    expect(inConfig({ serviceName: 'a' }, { serviceName: 'b' })).toThrow(
      `option "healthCheck.serviceName" is "b" but channelOptions['grpc.service_config'].healthCheckConfig.serviceName is "a": give it once`,
    );
  });

  it('rejects bad options with a TypeError saying what each must be', () => {
    const must = (name: string, text: string) =>
      `createBalancedChannel(): option "${name}" must be ${text}`;
    expect(() => resolveChannelConfig({ credentials: 'insecure' })).toThrow(
      must(
        'credentials',
        'a ChannelCredentials of @grpc/grpc-js, e.g. credentials.createSsl(), got "insecure"',
      ),
    );
    expect(() => resolveChannelConfig({ channelOptions: [] })).toThrow(
      must('channelOptions', 'an object of grpc-js channel options, got an array'),
    );
    expect(() => resolveChannelConfig({ name: ' ' })).toThrow(
      must('name', 'a non-empty string, got " "'),
    );
    expect(() => resolveChannelConfig({ decayMs: 0 })).toThrow(
      must('decayMs', 'a number of ms from 1 to 2147483647, got 0'),
    );
    expect(() => resolveChannelConfig({ healthCheck: 3 })).toThrow(
      must('healthCheck', 'an object of options, or false, got 3'),
    );
    expect(() => resolveChannelConfig({ nmae: 'x' })).toThrow(/unknown option "nmae"/);
    expect(() => resolveChannelConfig(null)).toThrow(TypeError);
  });

  it('refuses the channel options the channel sets itself, saying why', () => {
    const bad = (channelOptions: Record<string, unknown>) => () =>
      resolveChannelConfig({ channelOptions });
    const option = 'createBalancedChannel(): option "channelOptions"';
    expect(bad({ 'grpc.enable_http_proxy': 1 })).toThrow(
      `${option} sets "grpc.enable_http_proxy" to 1: backends are reached directly, leave it out (or 0)`,
    );
    expect(bad({ 'grpc.service_config': '{' })).toThrow(
      `${option} has a "grpc.service_config" that is not JSON of an object`,
    );
    expect(bad({ 'grpc.service_config': '[]' })).toThrow(/that is not JSON of an object/);
    expect(bad({ 'grpc.service_config': {} })).toThrow(
      `${option} has a "grpc.service_config" of type object: it must be a string, JSON of an object`,
    );
    // a file read without an encoding: its text is JSON, but it is not a string
    expect(bad({ 'grpc.service_config': Buffer.from('{}') })).toThrow(
      `${option} has a "grpc.service_config" of type object: it must be a string, JSON of an object`,
    );
    for (const key of ['loadBalancingConfig', 'loadBalancingPolicy']) {
      const policy = JSON.stringify({ [key]: key === 'loadBalancingPolicy' ? 'round_robin' : [] });
      expect(bad({ 'grpc.service_config': policy })).toThrow(
        `${option} has a "grpc.service_config" with ${key}: leave it out, the picker is the policy`,
      );
    }
    const retries = JSON.stringify({ methodConfig: [{ name: [{}], timeout: '1s' }] });
    expect(bad({ 'grpc.service_config': retries, 'grpc.enable_http_proxy': 0 })).not.toThrow();
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

  it('refuses an unknown option, naming it', () => {
    expect(() => retryOnAnotherInstance({ maxAttemps: 2 } as object)).toThrow(
      'retryOnAnotherInstance(): unknown option "maxAttemps"',
    );
  });
});
