import { hostname } from 'node:os';
import { from, of, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { added, deleted, instance } from '../../marbles/fixtures.js';
import { discoveryOf, withDiscovery } from '../../src/discovery.js';
import type { Update } from '../../src/instance.js';
import { diff } from '../../src/operators/diff.js';
import { type SubsetOptions, subset } from '../../src/operators/subset.js';
import { collect } from './collect.js';

const address = (i: number) => `10.0.${i >> 8}.${i & 255}:80`;
const addresses = (n: number, first = 0) => Array.from({ length: n }, (_, i) => address(first + i));

/** The subset each batch leaves, applying the operator's output batches in turn. */
function subsets(options: SubsetOptions, sets: readonly (readonly string[])[]): string[][] {
  const kept = new Set<string>();
  return collect(from(sets).pipe(diff(), subset(options))).values.map((batch) => {
    for (const update of batch) {
      if (update.op === 'delete') kept.delete(update.address);
      else kept.add(update.address);
    }
    return [...kept].sort();
  });
}

/** How many of `clients` subsets each backend is in. */
function clientsPerBackend(backends: readonly string[], clients: readonly (readonly string[])[]) {
  const counts = new Map(backends.map((backend) => [backend, 0]));
  for (const members of clients) for (const m of members) counts.set(m, (counts.get(m) ?? 0) + 1);
  return [...counts.values()];
}

describe('subset() options', () => {
  it.each([
    [{}, 'option "size" must be an integer >= 1'],
    [{ size: 0 }, 'option "size" must be an integer >= 1, got 0'],
    [{ size: 2.5 }, 'option "size" must be an integer >= 1, got 2.5'],
    [
      { size: 2, clientId: -1 },
      'option "clientId" must be a non-negative safe integer or a non-empty string, got -1',
    ],
    [
      { size: 2, clientId: 1.5 },
      'option "clientId" must be a non-negative safe integer or a non-empty string, got 1.5',
    ],
    [
      { size: 2, clientId: '' },
      'option "clientId" must be a non-negative safe integer or a non-empty string, got ""',
    ],
    [{ size: 2, client: 1 }, 'unknown option "client"'],
  ])('throws a TypeError for %j', (options, message) => {
    expect(() => subset(options as SubsetOptions)).toThrow(TypeError);
    expect(() => subset(options as SubsetOptions)).toThrow(`subset(): ${message}`);
  });
});

describe('subset() membership', () => {
  it('gives the same clientId the same members, and other clientIds other members', () => {
    const backends = addresses(30);
    const of = (clientId: number | string) => subsets({ size: 5, clientId }, [backends])[0];
    expect(of(7)).toEqual(of(7));
    expect(of('checkout-7')).toEqual(of('checkout-7'));
    expect(of(7)).not.toEqual(of(8));
    expect(of(7)).toHaveLength(5);
  });

  it('defaults clientId to one that is the same throughout the process', () => {
    const backends = addresses(50);
    expect(subsets({ size: 5 }, [backends])).toEqual(subsets({ size: 5 }, [backends]));
  });

  it('defaults clientId to the host name and the process id, so that processes differ', () => {
    const backends = addresses(50);
    const own = (pid: number) => subsets({ size: 5, clientId: `${hostname()}/${pid}` }, [backends]);
    expect(subsets({ size: 5 }, [backends])).toEqual(own(process.pid));
    expect(own(process.pid + 1)).not.toEqual(own(process.pid));
  });

  it('keeps every backend while there are no more than size, and size: Infinity keeps them all', () => {
    expect(subsets({ size: 3, clientId: 0 }, [addresses(2), addresses(3)])).toEqual([
      addresses(2),
      addresses(3),
    ]);
    expect(subsets({ size: Number.POSITIVE_INFINITY }, [addresses(40)])[0]).toHaveLength(40);
  });

  it('gives 100 clients of 10 out of 300 backends 3 or 4 clients per backend', () => {
    const backends = addresses(300);
    const clients = Array.from(
      { length: 100 },
      (_, i) => subsets({ size: 10, clientId: i }, [backends])[0] ?? [],
    );
    const counts = clientsPerBackend(backends, clients);
    expect([Math.min(...counts), Math.max(...counts)]).toEqual([3, 4]);
  });

  it('keeps every backend between 0.5 and 1.5 times the mean number of clients when size does not divide the backends', () => {
    for (const n of [299, 301, 347]) {
      const backends = addresses(n);
      const clients = Array.from(
        { length: 100 },
        (_, i) => subsets({ size: 10, clientId: i }, [backends])[0] ?? [],
      );
      const counts = clientsPerBackend(backends, clients);
      const mean = 1000 / n;
      expect(Math.min(...counts), `${n} backends`).toBeGreaterThanOrEqual(0.5 * mean);
      expect(Math.max(...counts), `${n} backends`).toBeLessThanOrEqual(1.5 * mean);
    }
  });
});

describe('subset() batches', () => {
  it("passes discovery's status along, on the first batch even when empty and on later ones", () => {
    const status = { service: 'greeter', unresolved: undefined };
    const tagged = (batch: Update[]) => withDiscovery(batch, status);
    const batches = collect(
      of(tagged([]), tagged([added(address(1))])).pipe(subset({ size: 2, clientId: 0 })),
    ).values;
    expect(batches).toEqual([[], [added(address(1))]]);
    expect(batches.map(discoveryOf)).toEqual([status, status]);
    expect(batches.every((batch) => Object.isFrozen(batch) && batch.every(Object.isFrozen))).toBe(
      true,
    );
  });

  it('emits nothing for a batch that changes no member of the subset', () => {
    const backends = addresses(10);
    const source = new Subject<readonly Update[]>();
    const out: (readonly Update[])[] = [];
    source.pipe(subset({ size: 2, clientId: 0 })).subscribe((batch) => out.push(batch));
    source.next(backends.map((a) => added(a)));
    const kept = new Set(out[0]?.map((update) => update.address));
    const outsider = backends.find((a) => !kept.has(a)) ?? '';
    source.next([deleted(outsider)]);
    source.next([
      added(instance(backends.find((a) => a !== outsider && !kept.has(a)) ?? '', { weight: 5 })),
    ]);
    expect(out).toHaveLength(1);
  });

  it('errors with a TypeError on an update whose op it does not know', () => {
    const bogus = { op: 'upsert', address: address(1) } as unknown as Update;
    const { error } = collect(of([bogus]).pipe(subset({ size: 2 })));
    expect(error).toBeInstanceOf(TypeError);
    expect(String(error)).toContain('subset(): unknown update {"op":"upsert"');
  });
});
