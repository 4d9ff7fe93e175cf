/**
 * The LAN gossip pool, as Serf keeps it for a Consul agent: the members it knows with their
 * status (alive, left, failed), joined through `PUT /v1/agent/join/:address`, probed to find
 * the failed ones, forced out with `force-leave`; and the user events fired into it.
 *
 * Test servers have no Serf port: they gossip over a side channel of their HTTP port
 * (`/v1/internal/rxlb/serf/*`, see `http/gossip.ts`), so a test server joins another by its
 * `address`, in this process or another. Each member's state carries a version (as Serf's
 * incarnation numbers), so that the newest news of a member wins when two views merge.
 */
import type { EventBuffer, EventTarget, UserEvent } from './events.js';
import { passesFilters } from './events.js';

/** Serf's member statuses, as `/v1/agent/members` answers them. */
export const MEMBER_STATUS = { alive: 1, leaving: 2, left: 3, failed: 4 } as const;
export type MemberStatus = (typeof MEMBER_STATUS)[keyof typeof MEMBER_STATUS];

/** How often each server probes the members it knows. */
export const PROBE_INTERVAL_MS = 1_000;
/** How long a probe (or a join) waits for an answer. */
export const PROBE_TIMEOUT_MS = 1_000;

export interface MemberInfo {
  readonly name: string;
  readonly id: string;
  readonly address: string;
  readonly datacenter: string;
  /** The test server's HTTP `host:port`, where its gossip side channel listens. */
  readonly http: string;
}

export interface MemberState extends MemberInfo {
  readonly status: MemberStatus;
  readonly version: number;
}

/** How the pool reaches another test server: a POST of JSON to its side channel. */
export interface Transport {
  post(address: string, path: string, body: unknown, timeoutMs: number): Promise<unknown>;
}

/** A join Consul refuses; the server answers 500 with its text. */
export class JoinError extends Error {
  override readonly name = 'JoinError';
}

function isMemberState(value: unknown): value is MemberState {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return (
    ['name', 'id', 'address', 'datacenter', 'http'].every((k) => typeof m[k] === 'string') &&
    Object.values(MEMBER_STATUS).includes(m.status as MemberStatus) &&
    typeof m.version === 'number'
  );
}

/** The members in a side-channel message, the malformed ones dropped. */
export function membersOf(body: unknown): MemberState[] {
  const list = (body as { members?: unknown } | null)?.members;
  return Array.isArray(list) ? list.filter(isMemberState) : [];
}

export interface LanAgent {
  readonly self: Omit<MemberInfo, 'http'>;
  readonly events: EventBuffer;
  /** This agent's node and services, for event filters. */
  eventTarget(): EventTarget;
}

export class LanPool {
  readonly #agent: LanAgent;
  readonly #members = new Map<string, MemberState>();
  #http = '';
  #transport: Transport | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(agent: LanAgent) {
    this.#agent = agent;
  }

  /** This agent as a member (always alive to itself). */
  get self(): MemberState {
    return { ...this.#agent.self, http: this.#http, status: MEMBER_STATUS.alive, version: 0 };
  }

  /** Starts gossiping from `http` (this server's address): a probe of every member a second. */
  start(http: string, transport: Transport): void {
    this.#http = http;
    this.#transport = transport;
    this.#timer = setInterval(() => void this.probe(), PROBE_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Stops probing; the others will see this server fail. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#transport = undefined;
  }

  /** Every member, this one first, then by name. */
  members(): MemberState[] {
    const others = [...this.#members.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    return [this.self, ...others];
  }

  /** Whether `address` (`host:port`, or a host: Serf's port 8301) is this server. */
  isSelf(address: string): boolean {
    return address === this.#http || address === `${this.#agent.self.address}:8301`;
  }

  /** `PUT /v1/agent/join/:address`: asks the test server at `address` to take this one in. */
  async join(address: string): Promise<void> {
    const transport = this.#transport;
    if (!transport) throw new JoinError(`Failed to join ${address}: agent is not running`);
    let answer: unknown;
    try {
      answer = await transport.post(address, 'join', { members: this.members() }, PROBE_TIMEOUT_MS);
    } catch (error) {
      const reason =
        (error as { code?: string }).code === 'ECONNREFUSED'
          ? `dial tcp ${address}: connect: connection refused`
          : (error as Error).message;
      throw new JoinError(`Failed to join ${address}: ${reason}`);
    }
    const refused = (answer as { error?: unknown } | null)?.error;
    if (typeof refused === 'string') throw new JoinError(`Failed to join ${address}: ${refused}`);
    const [responder] = membersOf(answer);
    // Consul's merge delegate refuses a member of another datacenter in the LAN pool
    if (responder && responder.datacenter !== this.#agent.self.datacenter) {
      throw new JoinError(
        `Failed to join ${address}: Member '${responder.name}' part of wrong datacenter '${responder.datacenter}'`,
      );
    }
    this.merge(membersOf(answer), true);
  }

  /**
   * A join or a probe from another member: merges what it knows (members of another
   * datacenter are ignored) and answers this view. A join from a member with this node's
   * name is refused.
   */
  receive(kind: 'join' | 'ping', body: unknown): { members: MemberState[] } | { error: string } {
    const [sender] = membersOf(body);
    if (kind === 'join' && sender?.name === this.#agent.self.name) {
      return { error: `Member '${sender.name}' has the same name as the agent it joins` };
    }
    this.merge(membersOf(body), true);
    return { members: this.members() };
  }

  /**
   * Merges another view: the newest version of each member wins. With `fromSender`, the
   * first entry is the member that sent it, alive since it talks (Serf's refutation).
   */
  merge(states: readonly MemberState[], fromSender: boolean): void {
    states.forEach((state, i) => {
      if (state.name === this.#agent.self.name) return;
      if (state.datacenter !== this.#agent.self.datacenter) return;
      const known = this.#members.get(state.name);
      if (fromSender && i === 0) {
        const version = Math.max(known?.version ?? 0, state.version) + 1;
        this.#members.set(state.name, { ...state, status: MEMBER_STATUS.alive, version });
      } else if (!known || state.version > known.version) {
        this.#members.set(state.name, state);
      }
    });
  }

  /** One probe of every member not left: a failed probe marks it failed. */
  async probe(): Promise<void> {
    const transport = this.#transport;
    if (!transport) return;
    const targets = [...this.#members.values()].filter((m) => m.status !== MEMBER_STATUS.left);
    await Promise.all(
      targets.map(async (target) => {
        try {
          const answer = await transport.post(
            target.http,
            'ping',
            { members: this.members() },
            PROBE_TIMEOUT_MS,
          );
          if (!this.#transport) return;
          const [responder, ...rest] = membersOf(answer);
          if (responder?.name === target.name) this.merge([responder, ...rest], true);
        } catch {
          const now = this.#members.get(target.name);
          if (this.#transport && now?.status === MEMBER_STATUS.alive) {
            this.#members.set(target.name, {
              ...now,
              status: MEMBER_STATUS.failed,
              version: now.version + 1,
            });
          }
        }
      }),
    );
  }

  /**
   * `PUT /v1/agent/force-leave/:node`: a failed member becomes left (with `prune`, it is
   * forgotten). An alive member refutes it and stays alive, as Serf's do.
   */
  forceLeave(name: string, prune: boolean): void {
    const member = this.#members.get(name);
    if (!member || member.status === MEMBER_STATUS.alive) return;
    if (prune) this.#members.delete(name);
    else {
      this.#members.set(name, {
        ...member,
        status: MEMBER_STATUS.left,
        version: member.version + 1,
      });
    }
  }

  /**
   * Fires `event` into the pool: this agent keeps it if it passes its filters, and every
   * alive member receives it (without any promise of delivery, as gossip).
   */
  fire(event: UserEvent): void {
    const ltime = this.#agent.events.tick();
    this.receiveEvent(event, ltime);
    const transport = this.#transport;
    if (!transport) return;
    const message = {
      event: { ...event, payload: event.payload?.toString('base64') ?? null },
      ltime,
    };
    for (const member of this.#members.values()) {
      if (member.status !== MEMBER_STATUS.alive) continue;
      transport.post(member.http, 'event', message, PROBE_TIMEOUT_MS).catch(() => undefined);
    }
  }

  /** An event received from the pool at Lamport time `ltime`. */
  receiveEvent(event: UserEvent, ltime: number): void {
    if (passesFilters(event, this.#agent.eventTarget())) this.#agent.events.ingest(event, ltime);
    else this.#agent.events.observe(ltime);
  }
}
