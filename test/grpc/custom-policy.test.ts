/**
 * The "Writing a policy" example of docs/policies.md (examples/policies/primary-first.ts, which imports only
 * `rxlb`'s public API) as the policy of a real balanced channel over echo servers on loopback:
 * a complete policy, discovery's word carried for it, failing over and back as it says.
 */
import { readFileSync } from 'node:fs';
import { ClientError, createClient, Status } from 'nice-grpc';
import { BehaviorSubject } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { primaryFirst } from '../../examples/policies/primary-first.js';
import { instance } from '../../marbles/fixtures.js';
import { withDiscovery } from '../../src/discovery.js';
import type { Instance } from '../../src/instance.js';
import { diff } from '../../src/operators/diff.js';
import { EchoService } from '../support/echo-service.js';
import { tally, useEchoServers } from '../support/fixture.js';
import { allReady } from '../support/ready.js';

const fixture = useEchoServers(3);

describe('a policy written with policyOperator() (docs/policies.md: "Writing a policy")', () => {
  it("is the guide's example, word for word", () => {
    const example = readFileSync(
      new URL('../../examples/policies/primary-first.ts', import.meta.url),
      'utf8',
    );
    const guide = readFileSync(new URL('../../docs/policies.md', import.meta.url), 'utf8');
    expect(guide).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('sends every call to the primary, to the first standby while it is gone, and back', async () => {
    const [a, b, c] = fixture.addresses() as [string, string, string];
    const primary = instance(a, { tags: ['primary'] });
    const [first] = [b, c].sort();
    const members$ = new BehaviorSubject<readonly Instance[]>([instance(c), instance(b), primary]);
    const channel = fixture.channel(members$.pipe(diff(), primaryFirst()));
    await allReady(channel);
    const client = createClient(EchoService, channel);
    const calls = async (n: number) => {
      const replies = [];
      for (let i = 0; i < n; i++) replies.push(await client.unary({ text: '' }));
      return tally(replies);
    };

    expect(await calls(20)).toEqual(new Map([[a, 20]]));
    members$.next([instance(b), instance(c)]); // the primary leaves discovery
    expect(await calls(20)).toEqual(new Map([[first, 20]]));
    members$.next([instance(b), instance(c), primary]); // and comes back
    await vi.waitFor(() =>
      expect(channel.backends().find((s) => s.instance.address === a)?.state).toBe('READY'),
    );
    expect(await calls(20)).toEqual(new Map([[a, 20]]));
  });

  it('passes over a primary whose connection is lost, without waiting for discovery', async () => {
    const [a, b] = fixture.addresses() as [string, string, string];
    const members = [instance(a, { tags: ['primary'] }), instance(b)];
    const channel = fixture.channel(new BehaviorSubject(members).pipe(diff(), primaryFirst()));
    await allReady(channel);
    fixture.server(0).kill();
    await vi.waitFor(() =>
      expect(channel.backends().find((s) => s.instance.address === a)?.state).not.toBe('READY'),
    );
    const client = createClient(EchoService, channel);
    expect((await client.unary({ text: '' })).backend).toBe(b);
  });

  it("carries discovery's word to the channel's messages", async () => {
    const empty = withDiscovery<Instance[]>([], { service: 'greeter', unresolved: undefined });
    const channel = fixture.channel(new BehaviorSubject(empty).pipe(diff(), primaryFirst()), {});
    const client = createClient(EchoService, channel);
    const failed = await client.unary({ text: '' }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(ClientError);
    expect(failed).toMatchObject({
      code: Status.UNAVAILABLE,
      details: expect.stringContaining('no healthy instance of "greeter"'),
    });
  });
});
