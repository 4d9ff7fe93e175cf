import type { connectivityState, experimental } from '@grpc/grpc-js';
import { type Address, type Instance, parseAddress } from '../instance.js';
import type { ChannelBackend } from './backend.js';

/**
 * The backends of a picker's members: one per address, in the picker's order, counted by
 * connectivity state (so that the policy's state is O(1) to decide). A balanced channel keeps
 * one from its creation to its `close()`: the balancer of the moment syncs it with each
 * picker and clears it when grpc-js destroys that balancer, and the channel reads it for
 * `backends()`.
 */
export class BackendSet {
  readonly byAddress = new Map<Address, ChannelBackend>();
  /** The backends of the current members, in the picker's order. */
  members: readonly ChannelBackend[] = [];
  private readonly counts = new Map<connectivityState, number>();
  /** Marks the backends listed by the update in progress. */
  private generation = 1;

  /**
   * Makes the members those of `instances` (each address once; one grpc-js cannot connect
   * to is left out), creating a backend for each new one with `create`. Returns the new ones,
   * not connected yet, and the ones that left, which the caller destroys.
   */
  sync(
    instances: readonly Instance[],
    create: (instance: Instance, endpoint: experimental.Endpoint) => ChannelBackend,
  ): { created: ChannelBackend[]; left: ChannelBackend[] } {
    const next: ChannelBackend[] = [];
    const created: ChannelBackend[] = [];
    const left: ChannelBackend[] = [];
    for (const instance of instances) {
      let backend = this.byAddress.get(instance.address);
      if (backend?.mark === this.generation) continue; // listed twice
      if (backend) {
        backend.instance = instance;
      } else {
        const address = parseAddress(instance.address);
        if (address === undefined) continue;
        backend = create(instance, { addresses: [address] });
        this.byAddress.set(instance.address, backend);
        this.count(backend.state, +1);
        created.push(backend);
      }
      backend.mark = this.generation;
      next.push(backend);
    }
    if (next.length !== this.byAddress.size) {
      for (const [address, backend] of this.byAddress) {
        if (backend.mark !== this.generation) left.push(this.remove(address, backend));
      }
    }
    this.generation++;
    this.members = next;
    return { created, left };
  }

  /** Whether `backend` is one of the members' (not one that left). */
  has(backend: ChannelBackend): boolean {
    return this.byAddress.get(backend.address) === backend;
  }

  /** Moves a backend's count from `previous` to its state now. */
  moved(backend: ChannelBackend, previous: connectivityState): void {
    this.count(previous, -1);
    this.count(backend.state, +1);
  }

  /** How many members are in any of `states`. */
  inState(...states: connectivityState[]): number {
    return states.reduce((sum, state) => sum + (this.counts.get(state) ?? 0), 0);
  }

  /** Empties the set; returns the backends it held, which the caller destroys. */
  clear(): ChannelBackend[] {
    const left = [...this.byAddress].map(([address, backend]) => this.remove(address, backend));
    this.members = [];
    return left;
  }

  private remove(address: Address, backend: ChannelBackend): ChannelBackend {
    this.byAddress.delete(address);
    this.count(backend.state, -1);
    return backend;
  }

  private count(state: connectivityState, delta: number): void {
    this.counts.set(state, (this.counts.get(state) ?? 0) + delta);
  }
}
