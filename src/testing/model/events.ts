/**
 * User events, as a Consul agent keeps them: fired into the LAN gossip pool (every member's
 * agent receives them), each agent keeps the last 256 that pass its filters (node name,
 * service name, tag: regular expressions), each with the Lamport time of the pool's event
 * clock. Event lists are not Raft data: their `X-Consul-Index` is derived from the last
 * event's ID, as Consul derives it, and is not monotonic.
 */
import { randomUUID } from 'node:crypto';
import { waitForWake } from './wait.js';

/** Consul's `userEventMaxVersion`. */
const EVENT_VERSION = 1;
/** How many events an agent keeps (Consul's `eventBuf`). */
export const EVENT_BUFFER_SIZE = 256;

export interface UserEvent {
  readonly id: string;
  readonly name: string;
  readonly payload: Buffer | null;
  readonly nodeFilter: string;
  readonly serviceFilter: string;
  readonly tagFilter: string;
  readonly version: number;
  /** The Lamport time the event was received with; 0 in the answer to its fire. */
  readonly ltime: number;
}

/** An event Consul refuses to fire; the server answers 500 with its text. */
export class EventError extends Error {
  override readonly name = 'EventError';
}

function compile(pattern: string, what: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (error) {
    throw new EventError(`Invalid ${what} filter: ${(error as Error).message}`);
  }
}

/** A new event (Consul's `validateUserEventParams`, then an ID and version). */
export function newEvent(fields: {
  readonly name: string;
  readonly payload: Buffer | null;
  readonly nodeFilter: string;
  readonly serviceFilter: string;
  readonly tagFilter: string;
}): UserEvent {
  if (fields.name === '') throw new EventError('User event missing name');
  if (fields.tagFilter !== '' && fields.serviceFilter === '') {
    throw new EventError('Cannot provide tag filter without service filter');
  }
  if (fields.nodeFilter !== '') compile(fields.nodeFilter, 'node');
  if (fields.serviceFilter !== '') compile(fields.serviceFilter, 'service');
  if (fields.tagFilter !== '') compile(fields.tagFilter, 'tag');
  return { ...fields, id: randomUUID(), version: EVENT_VERSION, ltime: 0 };
}

/**
 * Consul's `uuidToUint64`: the UUID's two 64-bit halves XORed, as a decimal string (it does
 * not fit a JavaScript number).
 */
export function eventIndex(id: string): string {
  const hex = id.replaceAll('-', '');
  return (BigInt(`0x${hex.slice(0, 16)}`) ^ BigInt(`0x${hex.slice(16)}`)).toString();
}

/** The services an agent runs, for the service and tag filters. */
export interface EventTarget {
  readonly node: string;
  readonly services: readonly { readonly name: string; readonly tags: readonly string[] }[];
}

/** Consul's `shouldProcessUserEvent`: whether this agent keeps `event`. */
export function passesFilters(event: UserEvent, target: EventTarget): boolean {
  try {
    return matches(event, target);
  } catch {
    // a filter this agent cannot compile (from another server): Consul logs it and skips
    return false;
  }
}

function matches(event: UserEvent, target: EventTarget): boolean {
  if (event.nodeFilter !== '' && !new RegExp(event.nodeFilter).test(target.node)) return false;
  if (event.serviceFilter === '') return true;
  const service = new RegExp(event.serviceFilter);
  const tag = event.tagFilter === '' ? undefined : new RegExp(event.tagFilter);
  return target.services.some(
    (s) => service.test(s.name) && (tag === undefined || s.tags.some((t) => tag.test(t))),
  );
}

/** One agent's recent events, and the pool's event clock as this agent sees it. */
export class EventBuffer {
  #events: UserEvent[] = [];
  /** Serf's event clock starts at 1. */
  #clock = 1;
  readonly #listeners = new Set<() => void>();

  /** The Lamport time for an event fired here; the clock then moves on. */
  tick(): number {
    const time = this.#clock;
    this.#clock += 1;
    return time;
  }

  /** Moves the clock past an event this agent did not keep. */
  observe(ltime: number): void {
    this.#clock = Math.max(this.#clock, ltime + 1);
  }

  /** Keeps an event received at Lamport time `ltime` and wakes the blocked lists. */
  ingest(event: UserEvent, ltime: number): void {
    if (this.#events.some((e) => e.id === event.id)) return;
    this.#clock = Math.max(this.#clock, ltime + 1);
    this.#events = [...this.#events, { ...event, ltime }].slice(-EVENT_BUFFER_SIZE);
    for (const listener of [...this.#listeners]) listener();
  }

  /** The events kept, oldest first, `name` only when given. */
  list(name = ''): UserEvent[] {
    return name === '' ? [...this.#events] : this.#events.filter((e) => e.name === name);
  }

  /** Resolves on the next event, after `timeoutMs`, or when `signal` aborts. */
  next(timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return waitForWake(this.#listeners, () => true, timeoutMs, signal);
  }
}

/** An event in Consul's JSON shape. */
export function eventJson(event: UserEvent): Record<string, unknown> {
  return {
    ID: event.id,
    Name: event.name,
    Payload: event.payload ? event.payload.toString('base64') : null,
    NodeFilter: event.nodeFilter,
    ServiceFilter: event.serviceFilter,
    TagFilter: event.tagFilter,
    Version: event.version,
    LTime: event.ltime,
  };
}

/** An event as another test server's side channel sends it; undefined when malformed. */
export function newEventFromWire(raw: unknown): UserEvent | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const e = raw as Record<string, unknown>;
  const texts = ['id', 'name', 'nodeFilter', 'serviceFilter', 'tagFilter'] as const;
  if (!texts.every((k) => typeof e[k] === 'string')) return undefined;
  if (e.payload !== null && typeof e.payload !== 'string') return undefined;
  return {
    id: e.id as string,
    name: e.name as string,
    payload: typeof e.payload === 'string' ? Buffer.from(e.payload, 'base64') : null,
    nodeFilter: e.nodeFilter as string,
    serviceFilter: e.serviceFilter as string,
    tagFilter: e.tagFilter as string,
    version: typeof e.version === 'number' ? e.version : EVENT_VERSION,
    ltime: 0,
  };
}
