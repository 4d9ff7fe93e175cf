/**
 * One Watch stream of the channel's health checks (gRFC A17) as its listener hears it, against
 * a real health service on 127.0.0.1: every message, then how the stream ended, and nothing
 * once it is cancelled.
 */
import * as grpc from '@grpc/grpc-js';
import { ServerError, Status } from 'nice-grpc';
import { HealthCheckResponse_ServingStatus as Serving } from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ServingStatus, watchOn } from '../../src/grpc/health-service.js';
import {
  type HealthServer,
  startHealthServer,
  type WatchOverride,
} from '../support/health-server.js';

let server: HealthServer | undefined;
let channel: grpc.Channel | undefined;
afterEach(() => {
  channel?.close();
  server?.stop();
  channel = undefined;
  server = undefined;
});

/** Watch streams on a connection to a server whose Watch calls `watch` answers. */
async function watchesOf(watch: WatchOverride) {
  server = await startHealthServer({ watch });
  const connection = new grpc.Channel(server.address, grpc.credentials.createInsecure(), {});
  channel = connection;
  const subchannel = {
    getChannel: () => connection,
  } as unknown as grpc.experimental.SubchannelInterface;
  const open = watchOn(grpc, subchannel, server.address);
  const heard: (ServingStatus | [string, string])[] = [];
  const cancel = open('echo', {
    answer: (status) => heard.push(status),
    ended: (code, details) => heard.push([Status[code] ?? String(code), details]),
  });
  return { heard, cancel, server };
}

describe('watchOn', () => {
  it('hears every message of a stream, then its end with the status and details, once', async () => {
    const { heard } = await watchesOf(async function* () {
      yield { status: Serving.SERVING };
      yield { status: Serving.NOT_SERVING };
      yield { status: Serving.SERVICE_UNKNOWN };
      throw new ServerError(Status.UNAVAILABLE, 'going away');
    });
    await vi.waitFor(() => expect(heard).toHaveLength(4));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard).toEqual([
      'SERVING',
      'NOT_SERVING',
      'SERVICE_UNKNOWN',
      ['UNAVAILABLE', 'going away'],
    ]);
  });

  it('hears the last messages of a burst before the end, however soon the status came', async () => {
    const { heard } = await watchesOf(async function* () {
      for (let i = 0; i < 500; i++)
        yield { status: i % 2 === 0 ? Serving.SERVING : Serving.NOT_SERVING };
      throw new ServerError(Status.UNAVAILABLE, 'going away');
    });
    await vi.waitFor(() => expect(heard.at(-1)).toEqual(['UNAVAILABLE', 'going away']));
    expect(heard).toHaveLength(501);
    expect(heard.slice(-3)).toEqual(['SERVING', 'NOT_SERVING', ['UNAVAILABLE', 'going away']]);
  });

  it('hears nothing more once cancelled, not even the end it caused, and the server sees the stream go', async () => {
    const { heard, cancel, server } = await watchesOf(async function* (_n, _request, context) {
      yield { status: Serving.SERVING };
      await new Promise((resolve) => context.signal.addEventListener('abort', resolve));
    });
    await vi.waitFor(() => expect(heard).toEqual(['SERVING']));
    cancel();
    cancel(); // twice: no harm
    await vi.waitFor(() => expect(server.openWatches).toBe(0));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard).toEqual(['SERVING']);
  });
});
