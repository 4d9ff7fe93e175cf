/** The documented output of `rxlb watch`, one event at a time. */
import { describe, expect, it } from 'vitest';
import type { WatchEvent } from '../../src/cli/events.js';
import { formatJson, formatText } from '../../src/cli/format.js';
import type { Instance } from '../../src/index.js';

const time = new Date('2025-03-01T12:00:00.000Z');

function instance(port: number, extra: Partial<Instance> = {}): Instance {
  return {
    address: `10.0.0.1:${port}`,
    id: `g-${port}`,
    service: 'greeter',
    node: 'n1',
    datacenter: 'dc1',
    tags: [],
    meta: {},
    weight: 1,
    ...extra,
  };
}

const a = instance(1, { tags: ['v1'] });
const b = instance(2, { weight: 3, meta: { zone: 'a' } });
const c = instance(3);
const aV2 = { ...a, tags: ['v2'] };
const change: WatchEvent = {
  kind: 'change',
  time,
  service: 'greeter',
  index: 42,
  instances: [aV2, c],
  added: [c],
  removed: [b],
  changed: [{ before: a, after: aV2 }],
};

describe('formatText', () => {
  it('prints the current set with one line per instance', () => {
    const event: WatchEvent = {
      kind: 'current',
      time,
      service: 'greeter',
      index: 7,
      instances: [a, b],
    };
    expect(formatText(event)).toBe(
      [
        '2025-03-01T12:00:00.000Z greeter: 2 instances (index 7)',
        '  10.0.0.1:1  id=g-1 node=n1 dc=dc1 tags=v1',
        '  10.0.0.1:2  id=g-2 node=n1 dc=dc1 meta=zone=a weight=3',
      ].join('\n'),
    );
  });

  it('says so when nobody is there', () => {
    const event: WatchEvent = {
      kind: 'current',
      time,
      service: 'greeter',
      index: 7,
      instances: [],
    };
    expect(formatText(event)).toBe('2025-03-01T12:00:00.000Z greeter: no instance (index 7)');
  });

  it('marks additions +, removals - and changes ~ with what changed', () => {
    expect(formatText(change)).toBe(
      [
        '2025-03-01T12:00:00.000Z greeter: 1 added, 1 removed, 1 changed, now 2 instances (index 42)',
        '  + 10.0.0.1:3  id=g-3 node=n1 dc=dc1',
        '  - 10.0.0.1:2  id=g-2 node=n1 dc=dc1 meta=zone=a weight=3',
        '  ~ 10.0.0.1:1  tags: v1 → v2',
      ].join('\n'),
    );
  });

  it('prints a fault with its code, attempt, delay and the set still served', () => {
    const event: WatchEvent = {
      kind: 'fault',
      time,
      service: 'greeter',
      index: 42,
      instances: [a],
      code: 'ERR_CONSUL_UNREACHABLE',
      message: 'health query for "greeter" at http://127.0.0.1:8500 failed: ECONNREFUSED',
      attempt: 2,
      retryInMs: 180,
    };
    expect(formatText(event)).toBe(
      '2025-03-01T12:00:00.000Z greeter: fault ERR_CONSUL_UNREACHABLE: health query for "greeter" at ' +
        'http://127.0.0.1:8500 failed: ECONNREFUSED (attempt 2, retry in 180 ms; serving 1 instance)',
    );
  });
});

describe('formatJson', () => {
  it('prints one line with the time, the event, the details and the instances last', () => {
    const line = formatJson(change);
    expect(line).not.toContain('\n');
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual([
      'time',
      'event',
      'service',
      'index',
      'added',
      'removed',
      'changed',
      'instances',
    ]);
    expect(parsed).toMatchObject({
      time: '2025-03-01T12:00:00.000Z',
      event: 'change',
      index: 42,
      added: [{ address: '10.0.0.1:3' }],
      removed: [{ address: '10.0.0.1:2', weight: 3 }],
      changed: [{ before: { tags: ['v1'] }, after: { address: '10.0.0.1:1', tags: ['v2'] } }],
      instances: [{ address: '10.0.0.1:1' }, { address: '10.0.0.1:3' }],
    });
  });
});
