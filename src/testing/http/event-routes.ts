/**
 * `/v1/event/*`: user events fired into the LAN gossip pool and listed as the receiving agent
 * kept them, with Consul's event index (derived from the last event's ID, not monotonic) and
 * its blocking: a list waits while that index is the one given.
 */
import { parseDuration } from '../../duration.js';
import { EventError, eventIndex, eventJson, newEvent } from '../model/events.js';
import { HttpError, noCommit, type Reply, type RouteContext, route } from './routes.js';

const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_WAIT_MS = 10 * 60_000;

function fire(ctx: RouteContext): Reply {
  const name = ctx.params.name ?? '';
  let event: ReturnType<typeof newEvent>;
  try {
    event = newEvent({
      name,
      payload: ctx.raw.length > 0 ? Buffer.from(ctx.raw) : null,
      nodeFilter: ctx.query.get('node') ?? '',
      serviceFilter: ctx.query.get('service') ?? '',
      tagFilter: ctx.query.get('tag') ?? '',
    });
  } catch (error) {
    if (error instanceof EventError) throw new HttpError(500, error.message);
    throw error;
  }
  ctx.dc.lan.fire(event);
  // the answer is the event as fired: its Lamport time is only set where it is received
  return { body: eventJson(event) };
}

async function list(ctx: RouteContext): Promise<Reply> {
  const name = ctx.query.get('name') ?? '';
  const indexText = ctx.query.get('index') ?? '';
  if (indexText !== '' && !/^\d+$/.test(indexText)) throw new HttpError(400, 'Invalid index');
  const waitText = ctx.query.get('wait');
  const requested = waitText ? parseDuration(waitText) : DEFAULT_WAIT_MS;
  if (requested === undefined) throw new HttpError(400, 'Invalid wait time');
  const wait = Math.min(requested || DEFAULT_WAIT_MS, MAX_WAIT_MS);
  const events = ctx.agent.events;
  const current = () => {
    const kept = events.list(name);
    const last = kept.at(-1);
    return { kept, index: last ? eventIndex(last.id) : '1' };
  };
  let answer = current();
  const minIndex = indexText === '' ? '0' : BigInt(indexText).toString();
  if (minIndex !== '0') {
    const deadline = performance.now() + wait;
    // Consul waits while the index is exactly the one given (it is not monotonic)
    while (answer.index === minIndex && !ctx.signal.aborted) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      await events.next(left, ctx.signal);
      answer = current();
    }
  }
  return {
    body: ctx.access === 'anonymous' ? [] : answer.kept.map(eventJson),
    filteredByAcl: ctx.access === 'anonymous' && answer.kept.length > 0,
    headers: { 'X-Consul-Index': answer.index },
  };
}

export const EVENT_ROUTES = [
  // a user event goes out over gossip, not Raft
  noCommit(route('PUT', '/v1/event/fire/:name', { kind: 'write', resource: 'event' }, fire)),
  // what this agent received: agent-local, as in Consul (no ?dc=)
  route('GET', '/v1/event/list', { kind: 'open', resource: 'event' }, list, false),
];
