/**
 * What a pick may know of its call (`Call` in src/picker.ts), as a policy of the balanced
 * channel reads it during `pick()`: a header's text values joined as HTTP/2 joins them, no
 * binary header, the method while the channel's metrics are on, nothing after the pick.
 */
import * as grpc from '@grpc/grpc-js';
import { createClient, Metadata } from 'nice-grpc';
import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Backends, Call, Instance } from '../../src/index.js';
import { diff } from '../../src/operators/diff.js';
import { policyOperator } from '../../src/operators/policy-operator.js';
import { EchoService } from '../support/echo-service.js';
import { useEchoServers } from '../support/fixture.js';
import { grpcJsUnary } from '../support/grpc-js-client.js';
import { testMeters } from '../support/metrics.js';
import { allReady } from '../support/ready.js';

const fixture = useEchoServers(1);

interface Seen {
  readonly method: string;
  readonly key: string | undefined;
  readonly binary: string | undefined;
  readonly absent: string | undefined;
}

/** A policy that notes what each pick reads of its call, and keeps the call to read it later. */
function recording(seen: Seen[], kept: Call[]) {
  return policyOperator('recording()', (members: readonly Instance[]) => ({
    instances: members,
    pick(backends?: Backends, call?: Call) {
      if (call) {
        seen.push({
          method: call.method,
          key: call.metadata.get('x-key'),
          binary: call.metadata.get('x-key-bin'),
          absent: call.metadata.get('x-none'),
        });
        kept.push(call);
      }
      return backends ? backends.usable[0]?.instance : members[0];
    },
  }));
}

describe("a pick's Call", () => {
  it('reads a header, its values joined with ",", never a binary one, and nothing after the pick', async () => {
    const seen: Seen[] = [];
    const kept: Call[] = [];
    const channel = fixture.channel(of(fixture.addresses()).pipe(diff(), recording(seen, kept)));
    await allReady(channel);
    const client = createClient(EchoService, channel);
    const once = Metadata({ 'x-key': 'user-1' });
    once.set('x-key-bin', new Uint8Array([1, 2]));
    await client.unary({ text: '' }, { metadata: once });
    // nice-grpc's Metadata joins a header's values itself (with ', '): send them apart
    const twice = new grpc.Metadata();
    twice.add('x-key', 'a');
    twice.add('x-key', 'b');
    await grpcJsUnary(channel, { text: '' }, { metadata: twice });
    await client.unary({ text: '' });

    expect(seen).toEqual([
      { method: '', key: 'user-1', binary: undefined, absent: undefined },
      { method: '', key: 'a,b', binary: undefined, absent: undefined },
      { method: '', key: undefined, binary: undefined, absent: undefined },
    ]);
    // valid during its pick only: the channel reuses it, and it knows nothing in between
    expect(kept[0]?.metadata.get('x-key')).toBeUndefined();
  });

  it("knows the call's method while the channel's metrics are on", async () => {
    const seen: Seen[] = [];
    const meters = testMeters();
    const channel = fixture.channel(of(fixture.addresses()).pipe(diff(), recording(seen, [])), {
      name: 'echo',
      meterProvider: meters.meterProvider,
    });
    await allReady(channel);
    await createClient(EchoService, channel).unary({ text: '' });
    await meters.shutdown();
    expect(seen.map(({ method }) => method)).toEqual(['/rxlb.test.Echo/Unary']);
  });
});
