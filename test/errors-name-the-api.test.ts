/**
 * A mistake is told in the name of the API the user called, never of one rxlb calls for them
 * (`sharedConsulInstances$()` behind a `consul:` target, `consulInstances$()` behind
 * `rxlb watch`...), down to nested options and Consul's environment variables.
 */
import { of } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  chooseDatacenter,
  consulInstances$,
  createBalancedChannel,
  leastRequest,
  peakEwma,
  registerConsulResolver,
  registerInstance,
  retryOnAnotherInstance,
  roundRobin,
  sharedConsulInstances$,
  subset,
  weightedRoundRobin,
  whenNobody,
} from '../src/index.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

/** The message of what `call` throws. */
function thrown(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('nothing was thrown');
}

describe('an error names the API the user called', () => {
  it.each([
    ['consulInstances$()', () => consulInstances$('greeter', { tag: 'v2' } as never)],
    [
      'consulInstances$()',
      () => consulInstances$('greeter', { whenNobody: { grace: 1 } as never }),
    ],
    ['consulInstances$()', () => consulInstances$('greeter', { failover: { dcs: [] } as never })],
    ['sharedConsulInstances$()', () => sharedConsulInstances$('greeter', { address: 'h:0' })],
    ['registerInstance()', () => registerInstance({ name: 'greeter', port: 0 })],
    [
      'registerInstance()',
      () => registerInstance({ name: 'greeter', port: 1, consul: { address: 'h:99999' } }),
    ],
    [
      'registerInstance()',
      () => registerInstance({ name: 'greeter', port: 1, check: { ttl: 1 } as never }),
    ],
    ['registerConsulResolver()', () => registerConsulResolver({ backoff: { initialMs: -1 } })],
    ['createBalancedChannel()', () => createBalancedChannel(of(), { nme: 'x' } as never)],
    ['retryOnAnotherInstance()', () => retryOnAnotherInstance({ maxAttempt: 2 } as never)],
    ['roundRobin()', () => roundRobin({ randm: Math.random } as never)],
    ['weightedRoundRobin()', () => weightedRoundRobin({ colour: 1 } as never)],
    ['leastRequest()', () => leastRequest({ choices: 1 })],
    ['peakEwma()', () => peakEwma({ colour: 1 } as never)],
    ['subset()', () => subset({ size: 0 } as never)],
    ['whenNobody()', () => whenNobody({ policy: 'never' } as never)],
    ['chooseDatacenter()', () => chooseDatacenter({ datacenters: [] })],
  ])('%s, for a bad option', (api, call) => {
    expect(thrown(call).startsWith(`${api}: `)).toBe(true);
  });

  it('registerInstance() and consulInstances$(), for a bad Consul variable', () => {
    vi.stubEnv('CONSUL_HTTP_ADDR', 'consul:0');
    expect(thrown(() => registerInstance({ name: 'greeter', port: 1 }))).toMatch(
      /^registerInstance\(\): CONSUL_HTTP_ADDR must be host:port/,
    );
    expect(thrown(() => consulInstances$('greeter'))).toMatch(
      /^consulInstances\$\(\): CONSUL_HTTP_ADDR must be host:port/,
    );
  });
});
