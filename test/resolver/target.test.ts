/** A `consul:` target's parts, read as Consul's health API names them. */
import { parseUri } from '@grpc/grpc-js/build/src/uri-parser.js';
import { describe, expect, it } from 'vitest';
import { parseConsulTarget, TargetError, targetService } from '../../src/resolver/target.js';

/** The target as grpc-js hands it to a resolver. */
function uri(target: string) {
  const parsed = parseUri(target);
  if (!parsed) throw new Error(`grpc-js cannot parse ${target}`);
  return parsed;
}

const parse = (target: string) => parseConsulTarget(uri(target));

/** The message of the TargetError that parsing `target` throws. */
function rejection(target: string): string {
  try {
    parse(target);
  } catch (error) {
    if (error instanceof TargetError) return error.message;
    throw error;
  }
  throw new Error(`${target} was accepted`);
}

describe('parseConsulTarget', () => {
  it('reads every parameter of the health API', () => {
    const target =
      'consul://10.0.0.5:8500/greeter?tag=v2&tag=canary&dc=dc1&passing=false' +
      '&node-meta=rack:r1&node-meta=zone:a&filter=Service.Meta.version%20%3D%3D%20%222%22' +
      '&near=_agent&stale&wait=30s';
    expect(parse(target)).toEqual({
      service: 'greeter',
      address: '10.0.0.5:8500',
      query: {
        tags: ['v2', 'canary'],
        dc: 'dc1',
        passing: false,
        nodeMeta: { rack: 'r1', zone: 'a' },
        filter: 'Service.Meta.version == "2"',
        near: '_agent',
        consistency: 'stale',
        wait: 30_000,
      },
    });
  });

  it('reads peer, ns, partition and translate-wan-addrs', () => {
    expect(parse('consul:///greeter?peer=cluster-02').query).toEqual({ peer: 'cluster-02' });
    expect(parse('consul:///greeter?ns=team-a&partition=eu').query).toEqual({
      namespace: 'team-a',
      partition: 'eu',
    });
    expect(parse('consul:///greeter?dc=dc2&translate-wan-addrs').query).toEqual({
      dc: 'dc2',
      translateWanAddresses: true,
    });
  });

  it("leaves Consul's address to the options or the environment without an authority", () => {
    expect(parse('consul:///greeter')).toEqual({
      service: 'greeter',
      address: undefined,
      query: {},
    });
    expect(parse('consul:greeter')).toEqual({ service: 'greeter', address: undefined, query: {} });
  });

  it('reads a flag without a value as true, as Consul does', () => {
    expect(parse('consul:///greeter?passing').query).toEqual({ passing: true });
    expect(parse('consul:///greeter?consistent').query).toEqual({ consistency: 'consistent' });
    expect(parse('consul:///greeter?stale=false').query).toEqual({});
  });

  it('takes node metadata whose key is one character', () => {
    expect(parse('consul:///greeter?node-meta=a:1').query).toEqual({ nodeMeta: { a: '1' } });
  });

  it('takes a bracketed IPv6 authority', () => {
    expect(parse('consul://[::1]:8500/greeter').address).toBe('[::1]:8500');
  });

  it.each([
    ['consul:///greeter?colour=blue', 'unknown parameter "colour" (known: tag, dc, passing'],
    ['consul:///greeter?dc=a&dc=b', 'parameter "dc" is given more than once'],
    ['consul:///greeter?passing=yes', 'parameter "passing" must be true or false, got "yes"'],
    ['consul:///greeter?tag=', 'parameter "tag" must not be empty'],
    ['consul:///greeter?node-meta=rack', 'parameter "node-meta" must be key:value, got "rack"'],
    ['consul:///greeter?stale&consistent', '"stale" and "consistent" exclude each other'],
    ['consul:///greeter?wait=20m', 'parameter "wait" must be a duration from 1ms to 10m'],
    ['consul:///greeter?wait=30', 'parameter "wait" must be a duration from 1ms to 10m'],
    ['consul:///greeter/extra', 'the path must be one service name'],
    ['consul:///%20', 'the path must be one service name'],
    ['consul:///?tag=v2', 'the path must be one service name'],
    ['consul:///gr%zzeter', 'the service name is not valid percent-encoding'],
    ['consul://http:%2F%2Fconsul/greeter', "the authority must be Consul's host:port"],
    ['consul://127.0.0.1:99999/greeter', 'with a port from 1 to 65535, got "127.0.0.1:99999"'],
    ['consul://127.0.0.1:0/greeter', 'with a port from 1 to 65535, got "127.0.0.1:0"'],
    ['consul:///greeter?tags=v2', 'unknown parameter "tags" (did you mean "tag"?)'],
    ['consul:///greeter?nodemeta=a:b', 'unknown parameter "nodemeta" (did you mean "node-meta"?)'],
    ['consul:///greeter?namespace=a', 'unknown parameter "namespace" (known: tag, dc,'],
    ['consul:///greeter?peer=a_b', 'parameter "peer" must be a DNS label'],
    ['consul:///greeter?ns=-a', 'parameter "ns" must be a DNS label'],
    ['consul:///greeter?partition=', 'parameter "partition" must be a DNS label'],
    ['consul:///greeter?translate-wan-addrs=maybe', '"translate-wan-addrs" must be true or false'],
    ['consul:///greeter?peer=p&translate-wan-addrs', '"peer" and "translate-wan-addrs" exclude'],
  ])('rejects %s', (target, message) => {
    expect(rejection(target)).toContain(message);
  });

  it.each([
    ['consul:greeter:80', {}],
    ['consul:greeter:443', {}],
    ['consul:///greeter:80', {}],
    ['consul:greeter?tag=v2:80', { tags: ['v2'] }],
    ['consul:greeter?stale:443', { consistency: 'stale' }],
  ])("ignores the default port nice-grpc's createChannel() appends: %s", (target, query) => {
    expect(parse(target)).toEqual({ service: 'greeter', address: undefined, query });
  });

  it('keeps a query that ends like a port when the target has an authority', () => {
    expect(parse('consul:///greeter?node-meta=port:80').query).toEqual({
      nodeMeta: { port: '80' },
    });
  });

  it("refuses another port after the service: the instances' ports come from Consul", () => {
    expect(rejection('consul:greeter:50051')).toContain(
      'a consul: target names a service, whose instances\' ports come from Consul: ":50051"',
    );
    expect(rejection('consul:///greeter:50051?tag=v2')).toContain('":50051"');
  });

  it('refuses a token in the query without repeating it', () => {
    const message = rejection('consul:///greeter?token=s3cr3t');
    expect(message).toContain('never carries an ACL token');
    expect(message).toContain('CONSUL_HTTP_TOKEN');
    expect(message).not.toContain('s3cr3t');
  });

  it('refuses user info in the authority without repeating it', () => {
    const message = rejection('consul://s3cr3t@127.0.0.1:8500/greeter');
    expect(message).toContain('without user info');
    expect(message).not.toContain('s3cr3t');
  });
});

describe('targetService', () => {
  it("is the service name, grpc-js's default :authority for the channel", () => {
    expect(targetService(uri('consul://127.0.0.1:8500/greeter?tag=v2'))).toBe('greeter');
    expect(targetService(uri('consul:///my%2Dservice'))).toBe('my-service');
    expect(targetService(uri('consul:greeter:80'))).toBe('greeter');
    expect(targetService(uri('consul:greeter?tag=v2:443'))).toBe('greeter');
  });

  it('is the path as written when it is not valid percent-encoding: the channel is still made', () => {
    expect(targetService(uri('consul:///gr%zzeter?tag=v2'))).toBe('gr%zzeter');
  });
});
