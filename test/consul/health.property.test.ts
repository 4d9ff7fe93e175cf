/**
 * Properties of the health-entry mapping under arbitrary Consul answers: wrong types,
 * missing fields, huge lists, bad ports, empty hosts, duplicate addresses, IPv6.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type HealthMapping, mapHealthEntries } from '../../src/consul/health.js';
import { type Instance, normalizeAddress, parseAddress } from '../../src/instance.js';
import { runs } from '../support/runs.js';

const INSTANCE_KEYS = ['address', 'id', 'service', 'node', 'datacenter', 'tags', 'meta', 'weight'];

/** What breaks the Instance contract in one instance of a mapping (plain checks: fast). */
function problemsOf(address: string, instance: Instance): string[] {
  const checks: [string, boolean][] = [
    ['keyed by its address', instance.address === address],
    ['a normalized address', normalizeAddress(address) === address],
    ['only contract keys', Object.keys(instance).every((key) => INSTANCE_KEYS.includes(key))],
    ['a non-empty id', typeof instance.id === 'string' && instance.id !== ''],
    ['a service string', typeof instance.service === 'string'],
    ['a node string', typeof instance.node === 'string'],
    [
      'no empty datacenter',
      !('datacenter' in instance) ||
        (typeof instance.datacenter === 'string' && instance.datacenter !== ''),
    ],
    ['string tags', instance.tags.every((tag) => typeof tag === 'string')],
    ['string meta', Object.values(instance.meta).every((value) => typeof value === 'string')],
    ['a positive weight', Number.isSafeInteger(instance.weight) && instance.weight > 0],
    ['frozen', [instance, instance.tags, instance.meta].every(Object.isFrozen)],
  ];
  return checks.filter(([, ok]) => !ok).map(([what]) => `${address}: not ${what}`);
}

/** Every entry is an instance or a reported skip, exactly once, in order. */
function problemsOfMapping(body: readonly unknown[], mapping: HealthMapping): string[] {
  const problems: string[] = [];
  if (mapping.instances.size + mapping.skipped.length !== body.length) {
    problems.push('instances and skips do not add up to the entries');
  }
  let last = -1;
  for (const { position, reason, id } of mapping.skipped) {
    if (!(Number.isInteger(position) && position > last && position < body.length)) {
      problems.push(`skip at ${position} out of order or range`);
    }
    if (!/\S/.test(reason)) problems.push(`skip at ${position} without a reason`);
    if (!(id === undefined || (typeof id === 'string' && id !== ''))) {
      problems.push(`skip at ${position} with an empty id`);
    }
    last = position;
  }
  return problems;
}

function expectSound(body: unknown[]): HealthMapping {
  const mapping = mapHealthEntries(body);
  if (!mapping) throw new Error('an array must map');
  const problems = problemsOfMapping(body, mapping);
  for (const [address, instance] of mapping.instances) {
    problems.push(...problemsOf(address, instance));
  }
  expect(problems).toEqual([]);
  return mapping;
}

const goodHost = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain());
const badHost = fc.oneof(
  fc.constantFrom('', ' ', ':', '1:2', '10.0.0.300', '10.0.0.1:8080', '[::1', 'a b', '-x', '.'),
  fc.string(),
);
const goodPort = fc.integer({ min: 1, max: 65_535 });
const isPort = (p: unknown) => Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65_535;
const badPort = fc.oneof(
  fc.constantFrom(0, -1, 65_536, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '80', null),
  fc.anything().filter((p) => !isPort(p)),
);
const text = fc.oneof(fc.string(), fc.anything());

/** An entry shaped like Consul's, any field possibly missing or of the wrong type. */
const looseEntry = fc.record(
  {
    Node: fc.oneof(
      fc.record(
        { Node: text, Address: fc.oneof(goodHost, badHost, fc.anything()), Datacenter: text },
        { requiredKeys: [] },
      ),
      fc.anything(),
    ),
    Service: fc.oneof(
      fc.record(
        {
          ID: fc.oneof(fc.string({ minLength: 1 }), fc.anything()),
          Service: text,
          Address: fc.oneof(goodHost, badHost, fc.anything()),
          Port: fc.oneof(goodPort, badPort),
          Tags: fc.oneof(fc.array(fc.oneof(fc.string(), fc.anything())), fc.anything()),
          Meta: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.anything())), text),
          Weights: fc.oneof(fc.record({ Passing: fc.anything(), Warning: fc.anything() }), text),
        },
        { requiredKeys: [] },
      ),
      fc.anything(),
    ),
    Checks: fc.anything(),
  },
  { requiredKeys: [] },
);

/** A well-formed entry; addresses come from a small pool so that duplicates are common. */
function wellFormed(id: string, host: string, port: number, emptyServiceAddress: boolean) {
  return {
    Node: { Node: 'n1', Address: host, Datacenter: 'dc1' },
    Service: { ID: id, Service: 'greeter', Address: emptyServiceAddress ? '' : host, Port: port },
    Checks: [],
  };
}

describe('health entries → instances, for any answer', () => {
  it('never throws, and maps exactly the answers that are arrays', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.array(fc.anything())), (body) => {
        const mapping = mapHealthEntries(body);
        expect(mapping === undefined).toBe(!Array.isArray(body));
      }),
      { numRuns: runs(300) },
    );
  });

  it('yields only valid instances and reports every entry it skips', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(looseEntry, fc.anything()), { maxLength: 40 }), (body) => {
        expectSound(body);
      }),
      { numRuns: runs(400) },
    );
  });

  it('skips every entry with a bad port or no host, saying why', () => {
    const bad = fc.oneof(
      fc.tuple(fc.constant('port'), goodHost, badPort),
      fc.tuple(fc.constant('host'), fc.constantFrom('', undefined), goodPort),
      fc.tuple(
        fc.constant('address'),
        badHost.filter((h) => h !== '' && h !== ' '),
        goodPort,
      ),
    );
    fc.assert(
      fc.property(fc.array(bad, { minLength: 1, maxLength: 20 }), (cases) => {
        const body = cases.map(([, host, port], i) => ({
          Node: { Node: 'n1', Address: host === undefined ? undefined : '' },
          Service: { ID: `s${i}`, Address: host, Port: port },
        }));
        const mapping = expectSound(body);
        const valid = [...mapping.instances.values()];
        // a random string host may still happen to be a valid name: then it maps
        expect(valid.every((i) => normalizeAddress(i.address) === i.address)).toBe(true);
        for (const skip of mapping.skipped) {
          expect(skip.reason).toMatch(/Service\.Port|Address|invalid address/);
          expect(skip.id).toBe(`s${skip.position}`);
        }
        const portCases = cases.filter(([kind]) => kind !== 'address').length;
        expect(mapping.skipped.length).toBeGreaterThanOrEqual(portCases);
      }),
      { numRuns: runs(200) },
    );
  });

  it('keeps every well-formed entry, the first of each address, and reports the others', () => {
    const entry = fc.tuple(
      fc.constantFrom('10.0.0.1', '10.0.0.2', '::1', 'fe80::1%eth0', 'web.dc1.consul'),
      fc.constantFrom(80, 50051),
      fc.boolean(),
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 30 }), (entries) => {
        const body = entries.map(([host, port, empty], i) =>
          wellFormed(`g${i}`, host, port, empty),
        );
        const mapping = expectSound(body);
        const firstOf = new Map<string, string>();
        entries.forEach(([host, port], i) => {
          const key = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
          if (!firstOf.has(key)) firstOf.set(key, `g${i}`);
        });
        expect(new Map([...mapping.instances].map(([a, i]) => [a, i.id]))).toEqual(firstOf);
        for (const skip of mapping.skipped) expect(skip.reason).toMatch(/^duplicate address /);
      }),
      { numRuns: runs(200) },
    );
  });

  it('brackets IPv6 hosts and reads them back unchanged', () => {
    fc.assert(
      fc.property(fc.ipV6(), goodPort, (host, port) => {
        const mapping = expectSound([wellFormed('v6', host, port, false)]);
        const [address] = mapping.instances.keys();
        expect(address).toBe(`[${host}]:${port}`);
        expect(parseAddress(address ?? '')).toEqual({ host, port });
      }),
      { numRuns: runs(200) },
    );
  });

  it('maps a huge answer of 50 000 entries, skipping the bad ones', () => {
    const body = Array.from({ length: 50_000 }, (_, i) =>
      i % 10 === 0
        ? { Service: { ID: `bad-${i}`, Port: 'x' } }
        : wellFormed(
            `g${i}`,
            `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
            50051,
            i % 2 === 0,
          ),
    );
    const mapping = expectSound(body);
    expect(mapping.instances.size).toBe(45_000);
    expect(mapping.skipped).toHaveLength(5_000);
  });
});
