/**
 * What `backends()` says of each backend's connection: its last connection error as grpc-js's
 * cause alone, nothing while it never failed, and `'PENDING'` health before a backend that is
 * checked ever connects. And the channel's target and its refusal of what is not an Observable.
 */
import { BehaviorSubject } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { connectionError } from '../../src/grpc/backend.js';
import { type BalancedChannel, createBalancedChannel } from '../../src/grpc/balanced-channel.js';
import { useEchoServers } from '../support/fixture.js';
import { freePort } from '../support/net.js';
import { roundRobinPicker } from '../support/pickers.js';

const fixture = useEchoServers(1);

const report = (channel: BalancedChannel) =>
  channel.backends().map(({ instance, state, health, lastError }) => ({
    address: instance.address,
    state,
    health,
    lastError,
  }));

describe("a backend's status", () => {
  it("says grpc-js's cause of a connection failure alone, and nothing for a backend that never failed", async () => {
    const ok = fixture.server(0).address;
    const refused = `127.0.0.1:${await freePort()}`;
    const channel = fixture.channel(new BehaviorSubject(roundRobinPicker([ok, refused])));
    await vi.waitFor(
      () =>
        expect(report(channel)).toStrictEqual([
          { address: ok, state: 'READY', health: 'UNCHECKED', lastError: undefined },
          {
            address: refused,
            state: 'TRANSIENT_FAILURE',
            health: 'UNCHECKED',
            // grpc-js's cause, without pick_first's frame (`No connection established...`)
            lastError: expect.stringMatching(new RegExp(`^connect ECONNREFUSED ${refused}$`)),
          },
        ]),
      { timeout: 10_000, interval: 10 },
    );
  });

  it('is PENDING health, while the channel checks health, for a backend that never connected', async () => {
    const refused = `127.0.0.1:${await freePort()}`;
    const channel = fixture.channel(new BehaviorSubject(roundRobinPicker([refused])), {
      name: 'echo',
      healthCheck: {},
    });
    await vi.waitFor(
      () =>
        expect(report(channel).map((b) => [b.state, b.health])).toEqual([
          ['TRANSIENT_FAILURE', 'PENDING'],
        ]),
      { timeout: 10_000, interval: 10 },
    );
  });

  it("reads the cause out of pick_first's message, and keeps a message of another shape whole", () => {
    const cause = 'connect ECONNREFUSED 10.0.0.7:50051';
    expect(connectionError(`No connection established. Last error: ${cause}`)).toBe(cause);
    expect(
      connectionError(
        `No connection established. Last error: ${cause}. Resolution note: dns says nothing new`,
      ),
    ).toBe(cause);
    expect(connectionError('Last error: a\nb. Resolution note: c')).toBe('a\nb');
    expect(connectionError('socket hang up')).toBe('socket hang up');
    // as grpc-js 1.14 writes a cause: an Error's own text, the prefix left out
    expect(connectionError(`No connection established. Last error: Error: ${cause}`)).toBe(cause);
  });
});

describe('createBalancedChannel()', () => {
  it('names its target after the channel, "unnamed" without a name, its name URI-encoded', () => {
    const picker$ = new BehaviorSubject(roundRobinPicker([fixture.server(0).address]));
    expect(fixture.channel(picker$, {}).getTarget()).toBe('rxlb:///unnamed');
    expect(fixture.channel(picker$, { name: 'my svc' }).getTarget()).toBe('rxlb:///my%20svc');
  });

  it('refuses null as picker$ with its own TypeError', () => {
    expect(() => createBalancedChannel(null as never)).toThrow(
      new TypeError('createBalancedChannel(): picker$ must be an Observable of Picker'),
    );
  });
});
