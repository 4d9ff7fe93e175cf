import { type ChannelInterface, connectivityState } from '@grpc/grpc-js';
import type { Address } from '../instance.js';
import type { CallOutcome } from './call-outcome.js';

/** One backend as a call sees it: where it is, its channel, and whether it is usable now. */
export interface Backend {
  readonly address: Address;
  readonly channel: ChannelInterface;
  readonly state: connectivityState;
  /** Taken out of picking by outlier detection. */
  readonly ejected: boolean;
  /** Calls sent to this backend that have not ended yet. */
  readonly inFlight: number;
  /** Counts a call in flight: a retired backend's channel stays open until it ends. */
  acquire(): void;
  /** Ends a call counted by `acquire()`; its outcome goes to outlier detection. */
  release(outcome: CallOutcome, details: string): void;
}

/** What a pool tells its owner. */
export interface PoolEvents {
  /** A backend's connectivity state changed, or the set of backends did. */
  onStateChange(): void;
  /** A call on a backend ended. */
  onCallEnd(address: Address, outcome: CallOutcome, details: string): void;
}

/** A pooled backend channel: connected from the start and kept connected while it lives. */
class PoolEntry implements Backend {
  state: connectivityState;
  ejected = false;
  inFlight = 0;
  retired = false;
  private closed = false;

  constructor(
    readonly address: Address,
    readonly channel: ChannelInterface,
    private readonly events: PoolEvents,
    private readonly onClose: (entry: PoolEntry) => void,
  ) {
    this.state = channel.getConnectivityState(true);
    this.watch();
  }

  private watch(): void {
    const state = this.channel.getConnectivityState(false);
    if (state !== this.state) {
      this.state = state;
      this.events.onStateChange();
    }
    if (state === connectivityState.SHUTDOWN) return;
    this.channel.watchConnectivityState(state, Number.POSITIVE_INFINITY, () => this.watch());
    // Like grpc-js's round_robin, keep every backend connected: one that lost its connection
    // (IDLE) reconnects now rather than when a call lands on it, so that a dead backend is
    // seen in TRANSIENT_FAILURE, and skipped, before calls are sent to it.
    if (state === connectivityState.IDLE) this.channel.getConnectivityState(true);
  }

  acquire(): void {
    this.inFlight++;
  }

  release(outcome: CallOutcome, details: string): void {
    this.inFlight--;
    this.events.onCallEnd(this.address, outcome, details);
    if (this.retired && this.inFlight === 0) this.close();
  }

  retire(): void {
    this.retired = true;
    if (this.inFlight === 0) this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel.close();
    this.onClose(this);
  }
}

/** What tests may see of a pool: the backends of the current picker, and those draining. */
export interface PoolSnapshot {
  readonly live: readonly Backend[];
  readonly draining: readonly Backend[];
}

/**
 * One channel per backend address. `sync()` makes the pool hold exactly the addresses of the
 * latest picker: new addresses are connected at once; a removed address is closed as soon as
 * its calls in flight have ended (at once when there are none).
 */
export class Pool {
  private readonly live = new Map<Address, PoolEntry>();
  private readonly draining = new Map<Address, PoolEntry>();

  constructor(
    private readonly connect: (address: Address) => ChannelInterface,
    private readonly events: PoolEvents,
  ) {}

  sync(addresses: Iterable<Address>): void {
    const next = new Set(addresses);
    for (const [address, entry] of this.live) {
      if (next.has(address)) continue;
      this.live.delete(address);
      this.draining.set(address, entry);
      entry.retire();
    }
    for (const address of next) {
      if (this.live.has(address)) continue;
      const revived = this.draining.get(address);
      if (revived) {
        this.draining.delete(address);
        revived.retired = false;
        revived.ejected = false;
        this.live.set(address, revived);
      } else {
        const entry = this.open(address);
        if (entry) this.live.set(address, entry);
      }
    }
    this.events.onStateChange();
  }

  get(address: Address): Backend | undefined {
    return this.live.get(address);
  }

  /** Marks a live backend as taken out of picking, or back in. */
  setEjected(address: Address, ejected: boolean): void {
    const entry = this.live.get(address);
    if (entry) entry.ejected = ejected;
  }

  get size(): number {
    return this.live.size;
  }

  states(): connectivityState[] {
    return [...this.live.values()].map((entry) => entry.state);
  }

  /** Asks every backend to connect (a no-op for those connected or connecting). */
  connectAll(): void {
    for (const entry of this.live.values()) entry.channel.getConnectivityState(true);
  }

  close(): void {
    for (const entry of [...this.live.values(), ...this.draining.values()]) entry.close();
    this.live.clear();
    this.draining.clear();
  }

  snapshot(): PoolSnapshot {
    return { live: [...this.live.values()], draining: [...this.draining.values()] };
  }

  private open(address: Address): PoolEntry | undefined {
    let channel: ChannelInterface;
    try {
      channel = this.connect(address);
    } catch {
      // grpc-js cannot parse it (discovery validates addresses, so this is not expected):
      // leave it out, and calls that pick it move on to the next instance.
      return undefined;
    }
    return new PoolEntry(address, channel, this.events, (entry) => {
      if (this.draining.get(address) === entry) this.draining.delete(address);
    });
  }
}
