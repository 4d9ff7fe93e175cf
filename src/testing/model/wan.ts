/**
 * Datacenters joined over the WAN, as Consul servers federate them: each test server is the
 * one server of its datacenter; joining one member of a pool joins the whole pool (gossip
 * spreads it), every member sees every other, and a server that stops leaves. A request
 * with `?dc=` is answered by the server of that datacenter, in process.
 */
import type { Agent } from './agent.js';

interface Pool {
  readonly members: Set<WanMember>;
  /** The first datacenter of the pool, as Consul's `primary_datacenter`. */
  readonly primary: string;
}

export class WanMember {
  readonly agent: Agent;
  readonly #rttMs: Readonly<Record<string, number>>;
  readonly #left = new AbortController();
  #pool: Pool;

  /** `rttMs`: estimated round trip times from this datacenter to others, by name. */
  constructor(agent: Agent, rttMs: Readonly<Record<string, number>> = {}) {
    this.agent = agent;
    this.#rttMs = rttMs;
    this.#pool = { members: new Set([this]), primary: agent.node.datacenter };
  }

  get datacenter(): string {
    return this.agent.node.datacenter;
  }

  get primary(): string {
    return this.#pool.primary;
  }

  /** Aborts when this server leaves the WAN (it stopped). */
  get left(): AbortSignal {
    return this.#left.signal;
  }

  /** Joins `other`'s pool, with every member of this one. */
  join(other: WanMember): void {
    if (other.#pool === this.#pool) return;
    const names = new Set([...other.#pool.members].map((m) => m.datacenter));
    for (const member of this.#pool.members) {
      if (names.has(member.datacenter)) {
        throw new TypeError(
          `ConsulTestServer: option "wanJoin": datacenter "${member.datacenter}" is already in that WAN pool (one server per datacenter)`,
        );
      }
    }
    const pool = other.#pool;
    for (const member of this.#pool.members) {
      pool.members.add(member);
      member.#pool = pool;
    }
  }

  leave(): void {
    this.#pool.members.delete(this);
    this.#pool = { members: new Set([this]), primary: this.#pool.primary };
    this.#left.abort();
  }

  /** The member of `datacenter`, if it is in the pool. */
  find(datacenter: string): WanMember | undefined {
    return [...this.#pool.members].find((m) => m.datacenter === datacenter);
  }

  /**
   * Every member, sorted as Consul sorts `/v1/catalog/datacenters`: by estimated round trip
   * time from here (this datacenter first); those without an estimate after, by name.
   */
  members(): WanMember[] {
    const rtt = (m: WanMember) =>
      m === this ? -1 : (this.#rttMs[m.datacenter] ?? m.#rttMs[this.datacenter] ?? Infinity);
    return [...this.#pool.members].sort(
      (a, b) => rtt(a) - rtt(b) || (a.datacenter < b.datacenter ? -1 : 1),
    );
  }
}
