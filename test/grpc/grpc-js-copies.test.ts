/**
 * An app whose rxlb resolves another copy of `@grpc/grpc-js` than its own (rxlb installed from
 * a folder, `npm link`): here the app's copy is grpc-js 1.14.0 (the `grpc-js-1.14.0` alias),
 * rxlb's the installed one. The whole app as a user has it (nice-grpc, retries, a symlinked
 * rxlb) runs in test/package/packed.test.ts; this pins, in process, which copy a channel is
 * built of and what its calls' errors carry.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as installed from '@grpc/grpc-js';
import { BehaviorSubject } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BalancedChannel, createBalancedChannel } from '../../src/grpc/balanced-channel.js';
import type { BalancedChannelOptions } from '../../src/grpc/options.js';
import type { Picker } from '../../src/picker.js';
import { type EchoServer, startEchoServer } from '../support/echo-server.js';
import { EchoService } from '../support/echo-service.js';
import { roundRobinPicker } from '../support/pickers.js';

// loaded as the app would: require() (or import) of its own copy
const require = createRequire(import.meta.url);
const app = require('grpc-js-1.14.0') as typeof installed;

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

  it('builds the channel of option "grpc" with credentials of that same copy', async () => {
    const server = await startEchoServer();
    servers.push(server);
    const made = channel([server.address], {
      grpc: app,
      credentials: app.credentials.createInsecure() as never,
    });
    expect(made).toBeInstanceOf(app.Channel);
    await expect(call(made, 'hi')).resolves.toMatchObject({ backend: server.address });
  });

  it('refuses as option "grpc" whatever lacks a part of the grpc-js API it uses, with one message', () => {
    const must =
      'createBalancedChannel(): option "grpc" must be the @grpc/grpc-js module, 1.14.0 or later';
    const { statusOrFromValue: _, ...withoutStatusOr } = app.experimental;
    const broken: Record<string, unknown> = {
      null: null,
      'a name': '@grpc/grpc-js',
      'no Channel': { ...app, Channel: undefined },
      'no Metadata': { ...app, Metadata: undefined },
      'no credentials': { ...app, credentials: undefined },
      'no experimental': { ...app, experimental: undefined },
      'experimental null': { ...app, experimental: null },
      'no statusOrFromValue': { ...app, experimental: withoutStatusOr },
    };
    for (const [what, grpc] of Object.entries(broken)) {
      expect(() => channel([], { grpc: grpc as never }), what).toThrow(must);
    }
    expect(() => channel([], { grpc: null as never })).toThrow(
      `${must} (import * as grpc from '@grpc/grpc-js'), got null`,
    );
  });

  it('refuses null credentials as not grpc-js credentials', () => {
    expect(() => channel([], { credentials: null as never })).toThrow(
      'createBalancedChannel(): option "credentials" must be a ChannelCredentials of @grpc/grpc-js, e.g. credentials.createSsl(), got null',
    );
  });
});

/** Copies of grpc-js written for a test, loaded with require() as an app loads its own. */
describe('createBalancedChannel with credentials of a copy of grpc-js it finds loaded', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rxlb-grpc-js-copies-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes `files` as the package `name`'s build/src/ and returns that folder. */
  function copy(name: string, files: Record<string, string>): string {
    const src = join(dir, name, 'node_modules', '@grpc', 'grpc-js', 'build', 'src');
    mkdirSync(src, { recursive: true });
    for (const [file, text] of Object.entries(files)) writeFileSync(join(src, file), text);
    return src;
  }

  it('refuses credentials of a grpc-js older than 1.14, saying so', () => {
    // grpc-js 1.13's shape: no LeafLoadBalancer, no statusOrFromValue
    const src = copy('old', {
      'index.js': `
        class ChannelCredentials {}
        class InsecureChannelCredentialsImpl extends ChannelCredentials {}
        exports.ChannelCredentials = ChannelCredentials;
        exports.Channel = class Channel {};
        exports.Metadata = class Metadata {};
        exports.credentials = { createInsecure: () => new InsecureChannelCredentialsImpl() };
        exports.experimental = { registerResolver() {}, registerLoadBalancerType() {} };
      `,
    });
    const old = require(join(src, 'index.js')) as typeof installed;
    expect(() => channel([], { credentials: old.credentials.createInsecure() })).toThrow(
      'createBalancedChannel(): option "credentials" must be a ChannelCredentials of @grpc/grpc-js 1.14.0 or later: these are of an older copy',
    );
  });

  it("finds the copy by its package's entry point, even when a module of it was loaded first", async () => {
    // an app that imported grpc-js's channel-credentials module itself, before grpc-js: the
    // copy is grpc-js 1.14.0 with a ChannelCredentials class of its own
    const app114 = JSON.stringify(require.resolve('grpc-js-1.14.0'));
    const src = copy('deep', {
      'channel-credentials.js': `
        const grpc = require(${app114});
        class ChannelCredentials extends grpc.credentials.createInsecure().constructor {}
        exports.ChannelCredentials = ChannelCredentials;
      `,
      'index.js': `
        const { ChannelCredentials } = require('./channel-credentials.js');
        module.exports = { ...require(${app114}), ChannelCredentials };
      `,
    });
    require(join(src, 'channel-credentials.js'));
    const deep = require(join(src, 'index.js')) as typeof installed;
    const server = await startEchoServer();
    servers.push(server);
    const made = channel([server.address], {
      credentials: new (
        deep.ChannelCredentials as unknown as new () => installed.ChannelCredentials
      )(),
    });
    expect(made).toBeInstanceOf(app.Channel);
    await expect(call(made, 'hi')).resolves.toMatchObject({ backend: server.address });
  });
});
