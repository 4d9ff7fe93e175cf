/**
 * What a balanced channel's calls say about its `picker$` (src/grpc/picker-source.ts and the
 * rxlb: resolver, src/grpc/picker-resolver.ts): an emission that is not a Picker, an error,
 * the service's name in those messages, a call before the first picker, and a channel gone
 * IDLE that stays so while `picker$` goes on.
 */
import * as grpc from '@grpc/grpc-js';
import { BehaviorSubject, concat, NEVER, type Observable, of, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { BalancedChannel } from '../../src/grpc/balanced-channel.js';
import { resolveChannelConfig } from '../../src/grpc/options.js';
import { PickerSource } from '../../src/grpc/picker-source.js';
import type { Picker } from '../../src/picker.js';
import { useEchoServers } from '../support/fixture.js';
import { grpcJsUnary } from '../support/grpc-js-client.js';
import { roundRobinPicker } from '../support/pickers.js';

const fixture = useEchoServers(1);

/** The error of a call through `channel` (which must fail). */
async function callError(channel: BalancedChannel, deadlineMs = 5_000): Promise<grpc.ServiceError> {
  return grpcJsUnary(channel, { text: '' }, { deadline: Date.now() + deadlineMs }).then(
    () => {
      throw new Error('the call succeeded');
    },
    (error: grpc.ServiceError) => error,
  );
}

describe("a balanced channel's picker$", () => {
  it('fails calls saying what picker$ emitted instead of a Picker, and which service it is', async () => {
    const emitted: [unknown, string][] = [
      [null, 'null'],
      [undefined, 'undefined'],
      [42, 'number'],
      ['round-robin', 'string'],
      [{ pick: () => undefined }, 'object'], // no instances
      [{ instances: [] }, 'object'], // no pick()
    ];
    for (const [value, what] of emitted) {
      const channel = fixture.channel(of(value) as Observable<Picker>, { name: 'greeter' });
      const error = await callError(channel);
      expect({ code: error.code, details: error.details }).toEqual({
        code: grpc.status.UNAVAILABLE,
        details: `picker$ of "greeter" emitted ${what}, not a Picker`,
      });
    }
  });

  it('fails calls with picker$\'s error, naming the service by option, by discovery, else "unnamed"', async () => {
    const discovered: Picker = {
      ...roundRobinPicker([]),
      instances: [],
      pick: () => undefined,
      discovery: { service: 'greeter-from-consul', unresolved: undefined },
    };
    const cases: [Observable<Picker>, { name?: string }, string][] = [
      [throwError(() => new Error('boom')), {}, 'picker$ of "unnamed" failed: boom'],
      [throwError(() => 'down'), { name: 'greeter' }, 'picker$ of "greeter" failed: down'],
      [
        concat(
          of(discovered),
          throwError(() => new Error('lost Consul')),
        ),
        {},
        'picker$ of "greeter-from-consul" failed: lost Consul',
      ],
    ];
    for (const [picker$, options, details] of cases) {
      const error = await callError(fixture.channel(picker$, options));
      expect({ code: error.code, details: error.details }).toEqual({
        code: grpc.status.UNAVAILABLE,
        details,
      });
    }
  });

  it('keeps a call made before picker$ says anything waiting for name resolution, to its deadline', async () => {
    const error = await callError(fixture.channel(NEVER), 300);
    expect(error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(error.details).toMatch(/^Deadline exceeded after [\d.]+s,waiting for name resolution$/);
  });

  it('leaves an IDLE channel IDLE, unconnected, when picker$ emits again', async () => {
    const server = fixture.server(0);
    const picker$ = new BehaviorSubject<Picker>(roundRobinPicker([server.address]));
    const channel = fixture.channel(picker$, {
      name: 'echo',
      channelOptions: { 'grpc.client_idle_timeout_ms': 1_000 },
    });
    await grpcJsUnary(channel, { text: 'hi' });
    const { IDLE } = grpc.connectivityState;
    const deadline = Date.now() + 10_000;
    while (channel.getConnectivityState(false) !== IDLE) {
      if (Date.now() > deadline) throw new Error('the channel did not go IDLE');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    picker$.next(roundRobinPicker([server.address]));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(channel.getConnectivityState(false)).toBe(IDLE);
    expect(channel.backends()).toEqual([]);
    // and a call wakes it
    await expect(grpcJsUnary(channel, { text: 'again' })).resolves.toMatchObject({
      backend: server.address,
    });
  });

  it("is printed in grpc-js's traces of channel options by its service's name, not its insides", () => {
    const source = new PickerSource(
      NEVER,
      resolveChannelConfig({ name: 'greeter' }),
      'rxlb:///greeter',
    );
    try {
      expect(JSON.stringify({ source }, undefined, 2)).toBe(
        '{\n  "source": "[picker$ of \\"greeter\\"]"\n}',
      );
    } finally {
      source.close();
    }
  });
});
