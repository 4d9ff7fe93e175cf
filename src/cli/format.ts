/** How `rxlb watch` prints an event: lines for people, or one JSON object per line. */
import type { Instance } from '../index.js';
import type { ChangeEvent, WatchEvent } from './events.js';

/** `id=... node=... dc=... tags=a,b meta=k=v weight=2`: what is known of an instance. */
function describe(instance: Instance): string {
  const parts = [`id=${instance.id}`, `node=${instance.node}`];
  if (instance.datacenter !== undefined) parts.push(`dc=${instance.datacenter}`);
  if (instance.tags.length > 0) parts.push(`tags=${instance.tags.join(',')}`);
  const meta = Object.entries(instance.meta).map(([key, value]) => `${key}=${value}`);
  if (meta.length > 0) parts.push(`meta=${meta.join(',')}`);
  if (instance.weight !== 1) parts.push(`weight=${instance.weight}`);
  return parts.join(' ');
}

/** The attributes that differ, as `tags: v1 → v2`. */
function difference(before: Instance, after: Instance): string {
  const show = (instance: Instance) => ({
    id: instance.id,
    node: instance.node,
    dc: instance.datacenter ?? '',
    tags: instance.tags.join(','),
    meta: Object.entries(instance.meta)
      .map(([key, value]) => `${key}=${value}`)
      .join(','),
    weight: String(instance.weight),
  });
  const was = show(before);
  const now = show(after);
  return (Object.keys(now) as (keyof typeof now)[])
    .filter((key) => was[key] !== now[key])
    .map((key) => `${key}: ${was[key] || '-'} → ${now[key] || '-'}`)
    .join(', ');
}

function count(n: number): string {
  return n === 1 ? '1 instance' : `${n} instances`;
}

function changeSummary(event: ChangeEvent): string {
  const parts = [
    event.added.length > 0 && `${event.added.length} added`,
    event.removed.length > 0 && `${event.removed.length} removed`,
    event.changed.length > 0 && `${event.changed.length} changed`,
  ].filter((part) => part !== false);
  return `${parts.join(', ')}, now ${count(event.instances.length)}`;
}

/** An event as lines for a terminal: a header with time, service and index, then details. */
export function formatText(event: WatchEvent): string {
  const head = `${event.time.toISOString()} ${event.service}`;
  const at = `(index ${event.index})`;
  switch (event.kind) {
    case 'current': {
      const lines = event.instances.map((i) => `  ${i.address}  ${describe(i)}`);
      const size = event.instances.length === 0 ? 'no instance' : count(event.instances.length);
      return [`${head}: ${size} ${at}`, ...lines].join('\n');
    }
    case 'change':
      return [
        `${head}: ${changeSummary(event)} ${at}`,
        ...event.added.map((i) => `  + ${i.address}  ${describe(i)}`),
        ...event.removed.map((i) => `  - ${i.address}  ${describe(i)}`),
        ...event.changed.map(
          ({ before, after }) => `  ~ ${after.address}  ${difference(before, after)}`,
        ),
      ].join('\n');
    case 'fault':
      return (
        `${head}: fault ${event.code}: ${event.message} ` +
        `(attempt ${event.attempt}, retry in ${event.retryInMs} ms; ` +
        `serving ${count(event.instances.length)})`
      );
  }
}

/**
 * An event as one line of JSON: `time` (ISO 8601), `event` (`current`, `change` or `fault`),
 * `service`, `index`, `instances`; `added`, `removed`, `changed` (`{ before, after }`) for a
 * change; `code`, `message`, `attempt`, `retryInMs` for a fault.
 */
export function formatJson(event: WatchEvent): string {
  const { kind, time, service, index, instances, ...details } = event;
  return JSON.stringify({
    time: time.toISOString(),
    event: kind,
    service,
    index,
    ...details,
    instances,
  });
}
