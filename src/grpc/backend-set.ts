import type { connectivityState, experimental } from '@grpc/grpc-js';
import { type Address, type Instance, parseAddress } from '../instance.js';
import type { BackendEntry } from './backend.js';

/**
 * The backends of a picker's members: one per address, in the picker's order, counted by
 * connectivity state (so that the policy's state is O(1) to decide).
 */
export class BackendSet {
  readonly byAddress = new Map<Address, BackendEntry>();
  /** The backends of the current members, in the picker's order. */
  members: BackendEntry[] = [];
  private readonly counts = new Map<connectivityState, number>();
  /** Marks the backends listed by the update in progress. */
  private generation = 1;

  constructor(
    /** Makes the backend of a new member, not connected yet. */
    private readonly create: (instance: Instance, endpoint: experimental.Endpoint) => BackendEntry,
    /** Told of a backend that left, before it is destroyed. */
    private readonly removed: (backend: BackendEntry) => void,
  ) {}

  /**
   * Makes the members those of `instances` (each address once; one grpc-js cannot connect
   * to is left out): departed ones are destroyed, and the new ones returned, to connect.
   */
  sync(instances: readonly Instance[]): BackendEntry[] {
    const next: BackendEntry[] = [];
    const created: BackendEntry[] = [];
    for (const instance of instances) {
      let backend = this.byAddress.get(instance.address);
      if (backend?.mark === this.generation) continue; // listed twice
      if (backend) {
        backend.instance = instance;
      } else {
        const address = parseAddress(instance.address);
        if (address === undefined) continue;
        backend = this.create(instance, { addresses: [address] });
        this.byAddress.set(instance.address, backend);
        this.count(backend.state, +1);
        created.push(backend);
      }
      backend.mark = this.generation;
      next.push(backend);
    }
    if (next.length !== this.byAddress.size) {
      for (const [address, backend] of this.byAddress) {
        if (backend.mark !== this.generation) this.remove(address, backend);
      }
    }
    this.generation++;
    this.members = next;
    return created;
  }

  /** Whether `backend` is one of the members' (not one that left). */
  has(backend: BackendEntry): boolean {
    return this.byAddress.get(backend.address) === backend;
  }

  /** Moves a backend's count from `previous` to its state now. */
  moved(backend: BackendEntry, previous: connectivityState): void {
    this.count(previous, -1);
    this.count(backend.state, +1);
  }

  /** How many members are in any of `states`. */
  inState(...states: connectivityState[]): number {
    return states.reduce((sum, state) => sum + (this.counts.get(state) ?? 0), 0);
  }

  /** Destroys every backend. */
  clear(): void {
    for (const [address, backend] of this.byAddress) this.remove(address, backend);
    this.members = [];
  }

  private remove(address: Address, backend: BackendEntry): void {
    this.byAddress.delete(address);
    this.count(backend.state, -1);
    this.removed(backend);
    backend.destroy();
  }

  private count(state: connectivityState, delta: number): void {
    this.counts.set(state, (this.counts.get(state) ?? 0) + delta);
  }
}
