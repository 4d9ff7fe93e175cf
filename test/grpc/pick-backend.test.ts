import { connectivityState } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { pickBackend } from '../../src/grpc/pick-backend.js';
import { roundRobinPicker } from '../support/pickers.js';

const { IDLE, CONNECTING, READY, TRANSIENT_FAILURE, SHUTDOWN } = connectivityState;
/** A backend taken out of picking by outlier detection, in the state given. */
const ejected = (state: connectivityState) => ({ state, ejected: true as const });

/** Backends `a`, `b`, `c`... in these states, and a round-robin picker over them. */
function backends(...states: (connectivityState | { state: connectivityState; ejected: true })[]) {
  const byAddress = new Map(
    states.map((state, i) => {
      const address = `10.0.0.${i + 1}:50051`;
      const backend = typeof state === 'object' ? state : { state, ejected: false };
      return [address, { address, ...backend }] as const;
    }),
  );
  const picker = roundRobinPicker([...byAddress.keys()]);
  const pick = (avoid: readonly string[] = []) => {
    const outcome = pickBackend(picker, (address) => byAddress.get(address), new Set(avoid));
    return outcome.type === 'backend' ? outcome.backend.address : outcome.type;
  };
  return { pick, address: (i: number) => `10.0.0.${i + 1}:50051` };
}

describe('pickBackend', () => {
  it("follows the picker's order while backends are READY", () => {
    const { pick, address } = backends(READY, READY, READY);
    expect([pick(), pick(), pick(), pick()]).toEqual([0, 1, 2, 0].map(address));
  });

  it('prefers READY backends to IDLE and CONNECTING ones, as grpc-js round_robin does', () => {
    const { pick, address } = backends(READY, CONNECTING, IDLE, READY);
    expect([pick(), pick(), pick()]).toEqual([0, 3, 0].map(address));
  });

  it('rotates over IDLE and CONNECTING backends while none is READY', () => {
    const { pick, address } = backends(CONNECTING, IDLE, TRANSIENT_FAILURE);
    expect([pick(), pick(), pick(), pick()]).toEqual([0, 1, 0, 1].map(address));
  });

  it('moves past TRANSIENT_FAILURE and SHUTDOWN backends', () => {
    const { pick, address } = backends(READY, TRANSIENT_FAILURE, SHUTDOWN, READY);
    expect([pick(), pick(), pick()]).toEqual([0, 3, 0].map(address));
  });

  it('moves past ejected backends, even READY ones', () => {
    const { pick, address } = backends(ejected(READY), CONNECTING, READY);
    expect([pick(), pick(), pick()]).toEqual([2, 2, 2].map(address));
  });

  it('uses an ejected backend rather than one whose connection failed', () => {
    const { pick, address } = backends(TRANSIENT_FAILURE, ejected(READY));
    expect([pick(), pick()]).toEqual([1, 1].map(address));
  });

  it('falls back to the failed backends in turn when no backend is usable', () => {
    const { pick, address } = backends(TRANSIENT_FAILURE, TRANSIENT_FAILURE);
    expect([pick(), pick()]).toEqual([0, 1].map(address));
  });

  it('never returns an address to avoid', () => {
    const { pick, address } = backends(READY, READY, READY);
    expect(pick([address(0), address(1)])).toBe(address(2));
    expect(pick([address(0), address(1)])).toBe(address(2));
  });

  it('prefers a failing backend not tried yet to giving up', () => {
    const { pick, address } = backends(READY, TRANSIENT_FAILURE);
    expect(pick([address(0)])).toBe(address(1));
  });

  it('reports an empty picker and a picker whose instances were all tried', () => {
    expect(backends().pick()).toBe('empty');
    const { pick, address } = backends(READY, READY);
    expect(pick([address(0), address(1)])).toBe('exhausted');
  });
});
