import type { Address, Instance } from '../src/instance.js';
import type { Backend, Picker } from '../src/picker.js';
import { backend, describeInstance, instance } from './fixtures.js';

/**
 * A `random` for the P2C policies' cases: the same draws every run, so that a diagram shows
 * the picks the test checks. A fresh one per run of a case.
 */
export function drawsFrom(values: readonly number[]): () => number {
  let next = 0;
  return () => {
    const value = values[next % values.length] ?? 0;
    next++;
    return value;
  };
}

/** A picker as the P2C cases compare it: its members and its next picks. */
export interface PicksView {
  readonly instances: readonly Instance[];
  readonly picks: readonly (Address | undefined)[];
}

/** What the channel measured of a backend, as a case gives it (see `backend()`'s defaults). */
export type Measured = Partial<Omit<Backend, 'instance'>>;

/**
 * `count` picks of `picker` among all its members as usable backends, each with what
 * `measured` gives for its address (calls in flight, latency), as a balanced channel hands them.
 */
export function picksAmong(
  picker: Picker,
  measured: Readonly<Record<Address, Measured>>,
  count: number,
): PicksView {
  const usable = picker.instances.map((member) => backend(member, measured[member.address]));
  // the channel never asks with no usable backend: an empty picker is asked without
  const pick = () => (usable.length === 0 ? picker.pick() : picker.pick({ usable }))?.address;
  const picks = Array.from({ length: count }, pick);
  return { instances: [...picker.instances], picks };
}

/** The expected view of a picker over `instances` that picks `picks`. */
export function picksView(
  instances: readonly (Instance | Address)[],
  picks: readonly (Address | undefined)[],
): PicksView {
  return { instances: instances.map((i) => (typeof i === 'string' ? instance(i) : i)), picks };
}

/** `picker [A, B], picks B, B, A` with short names for the cases' addresses. */
export function describePicks({ instances, picks }: PicksView): string {
  const members = instances.map(describeInstance).join(', ');
  return `picker [${members}], picks ${picks.map(String).join(', ')}`;
}
