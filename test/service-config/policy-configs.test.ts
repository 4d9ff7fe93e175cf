/**
 * The configs of rxlb's service-config policies, read as gRPC's specs say (gRFC A48's
 * choiceCount, A42's ring sizes, A76's requestHashHeader): defaults, bounds, and a refusal
 * naming the policy and the field for each bad one. In this process, without channels
 * (test/service-config/policies.test.ts runs the policies on grpc-js channels).
 */
import { describe, expect, it } from 'vitest';
import { POLICIES } from '../../src/service-config/policy-configs.js';

const parse = (name: string, json: unknown) => {
  const spec = POLICIES.find((policy) => policy.name === name);
  if (spec === undefined) throw new Error(`no policy ${name}`);
  return spec.parse(json);
};

describe("rxlb's service-config policies", () => {
  it('are the four gRPC and rxlb names, in order', () => {
    expect(POLICIES.map((policy) => policy.name)).toEqual([
      'least_request_experimental',
      'ring_hash_experimental',
      'rxlb_peak_ewma',
      'rxlb_weighted_round_robin',
    ]);
  });

  it.each(POLICIES.map((policy) => policy.name))(
    '%s: refuses a config that is not an object, and takes none as {}',
    (name) => {
      for (const json of [[], 'x', 7, true]) {
        expect(() => parse(name, json)).toThrow(
          new RegExp(`^service config loadBalancingConfig ${name}: must be an object, got `),
        );
      }
      if (name !== 'ring_hash_experimental') {
        expect(parse(name, undefined)).toEqual(parse(name, {}));
        expect(parse(name, null)).toEqual(parse(name, {}));
      }
    },
  );

  it('least_request_experimental: choiceCount 2 by default, at least 2, above 10 taken as 10', () => {
    const least = (json: unknown) => parse('least_request_experimental', json);
    expect(least({})).toEqual({ choiceCount: 2 });
    expect(least({ choiceCount: 3 })).toEqual({ choiceCount: 3 });
    expect(least({ choiceCount: 10 })).toEqual({ choiceCount: 10 });
    expect(least({ choiceCount: 11 })).toEqual({ choiceCount: 10 });
    expect(least({ choiceCount: 7, somethingLater: true })).toEqual({ choiceCount: 7 });
    for (const choiceCount of [1, 0, 2.5, '3']) {
      expect(() => least({ choiceCount })).toThrow(
        /^service config loadBalancingConfig least_request_experimental: field "choiceCount" must be /,
      );
    }
  });

  it('ring_hash_experimental: ring sizes 1024 and 4096 by default, within 1..8M, min at most max', () => {
    const ring = (json: Record<string, unknown>) =>
      parse('ring_hash_experimental', { requestHashHeader: 'x-user', ...json });
    expect(ring({})).toEqual({ minRingSize: 1024, maxRingSize: 4096, requestHashHeader: 'x-user' });
    expect(ring({ minRingSize: 10, maxRingSize: 10 })).toMatchObject({
      minRingSize: 10,
      maxRingSize: 10,
    });
    expect(ring({ minRingSize: 1, maxRingSize: 8_388_608 })).toMatchObject({
      minRingSize: 1,
      maxRingSize: 8_388_608,
    });
    expect(() => ring({ minRingSize: 11, maxRingSize: 10 })).toThrow(
      'service config loadBalancingConfig ring_hash_experimental: field "minRingSize" must be at most maxRingSize (10), got 11',
    );
    for (const field of ['minRingSize', 'maxRingSize']) {
      for (const size of [0, 8_388_609, 1.5]) {
        expect(() => ring({ [field]: size })).toThrow(`field "${field}" must be `);
      }
    }
  });

  it('ring_hash_experimental: needs a text requestHashHeader, read in lower case', () => {
    const ring = (requestHashHeader: unknown) =>
      parse('ring_hash_experimental', { requestHashHeader });
    expect(ring('X-User-Id')).toMatchObject({ requestHashHeader: 'x-user-id' });
    expect(() => ring(undefined)).toThrow(
      'service config loadBalancingConfig ring_hash_experimental: missing field "requestHashHeader" (the request header whose value is the hash key)',
    );
    expect(() => ring('')).toThrow('field "requestHashHeader" must be a non-empty string, got ""');
    for (const header of ['x-key-bin', 'X-Key-Bin', ':authority']) {
      expect(() => ring(header)).toThrow(
        `service config loadBalancingConfig ring_hash_experimental: field "requestHashHeader" must be a text header: not a -bin or a pseudo-header`,
      );
    }
    expect(ring('x-bin-key')).toMatchObject({ requestHashHeader: 'x-bin-key' });
  });
});
