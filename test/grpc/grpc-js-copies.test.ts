/**
 * An app whose rxlb resolves another copy of `@grpc/grpc-js` than its own (rxlb installed from
 * a folder, `npm link`): here the app's copy is grpc-js 1.14.0 (the `grpc-js-1.14.0` alias),
 * rxlb's the installed one. The whole app as a user has it (nice-grpc, retries, a symlinked
 * rxlb) runs in test/package/packed.test.ts; this pins, in process, which copy a channel is
 * built of and what its calls' errors carry.
 */
import { createRequire } from 'node:module';
import * as installed from '@grpc/grpc-js';
import { BehaviorSubject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { type BalancedChannel, createBalancedChannel } from '../../src/grpc/balanced-channel.js';
import type { BalancedChannelOptions } from '../../src/grpc/options.js';
import type { Picker } from '../../src/picker.js';
import { type EchoServer, startEchoServer } from '../support/echo-server.js';
import { EchoService } from '../support/echo-service.js';
import { roundRobinPicker } from '../support/pickers.js';

// loaded as the app would: require() (or import) of its own copy
const app = createRequire(import.meta.url)('grpc-js-1.14.0') as typeof installed;

const channels: BalancedChannel[] = [];
const servers: EchoServer[] = [];
afterEach(() => {
  for (const channel of channels.splice(0)) channel.close();
  for (const server of servers.splice(0)) server.stop();
});

function channel(addresses: string[], options: BalancedChannelOptions): BalancedChannel {
  const made = createBalancedChannel(new BehaviorSubject<Picker>(roundRobinPicker(addresses)), {
    name: 'echo',
    ...options,
  });
  channels.push(made);
  return made;
}

/** A unary call through a plain client of the app's grpc-js, as nice-grpc makes one. */
function call(through: BalancedChannel, text: string): Promise<unknown> {
  const client = new app.Client('', app.credentials.createInsecure(), {
    channelOverride: through as never,
  });
  const { path, requestSerialize, responseDeserialize } = EchoService.unary;
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      requestSerialize,
      responseDeserialize,
      { text },
      new app.Metadata(),
      { deadline: Date.now() + 5_000 },
      (error, reply) => (error ? reject(error) : resolve(reply)),
    );
  });
}

describe('createBalancedChannel with another copy of grpc-js than rxlb', () => {
  it('builds the channel of the grpc-js whose credentials it is given', async () => {
    const server = await startEchoServer();
    servers.push(server);
    const made = channel([server.address], {
      credentials: app.credentials.createInsecure() as never,
    });
    expect(made).toBeInstanceOf(app.Channel);
    expect(made).not.toBeInstanceOf(installed.Channel);
    await expect(call(made, 'hi')).resolves.toMatchObject({ text: 'hi', backend: server.address });
  });

  it("fails a call with an error whose metadata is the app's grpc-js's, which nice-grpc needs to make a ClientError", async () => {
    const made = channel([], { credentials: app.credentials.createInsecure() as never });
    const error = await call(made, 'nobody').then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toMatchObject({
      code: app.status.UNAVAILABLE,
      details: 'no healthy instance of "echo"',
    });
    expect((error as { metadata: unknown }).metadata).toBeInstanceOf(app.Metadata);
  });

  it('builds the channel of the module given as option "grpc", with its insecure credentials', async () => {
    const server = await startEchoServer();
    servers.push(server);
    const made = channel([server.address], { grpc: app });
    expect(made).toBeInstanceOf(app.Channel);
    await expect(call(made, 'hi')).resolves.toMatchObject({ backend: server.address });
  });

  it('refuses credentials of another copy than option "grpc", naming both options', () => {
    expect(() =>
      channel([], { grpc: app, credentials: installed.credentials.createInsecure() }),
    ).toThrow(
      'createBalancedChannel(): option "credentials" must be a ChannelCredentials of the @grpc/grpc-js given as option "grpc"',
    );
  });

  it('refuses as option "grpc" what is not grpc-js 1.14 or later', () => {
    const { LeafLoadBalancer: _, ...before114 } = app.experimental;
    expect(() => channel([], { grpc: { ...app, experimental: before114 } as never })).toThrow(
      'createBalancedChannel(): option "grpc" must be the @grpc/grpc-js module, 1.14.0 or later',
    );
  });

  it('says to pass option "grpc" for credentials of a copy it cannot find', () => {
    // a copy this process did not load through require(): a bundled one, say
    class ChannelCredentials {}
    class Insecure extends ChannelCredentials {}
    expect(() => channel([], { credentials: new Insecure() as never })).toThrow(
      /option "credentials" must be .* of a copy rxlb cannot find; give that copy as option "grpc"/,
    );
  });

  it('refuses credentials that are not grpc-js credentials at all', () => {
    expect(() => channel([], { credentials: { _isSecure: () => false } as never })).toThrow(
      'createBalancedChannel(): option "credentials" must be a ChannelCredentials of @grpc/grpc-js',
    );
  });
});
