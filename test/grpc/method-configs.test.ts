/**
 * The service config's method configs (`methodConfig`) apply per method through a balanced
 * channel as through any grpc-js channel: the first config naming the service and method,
 * else the first naming the service alone, else the first with an empty name, whatever
 * their order in the list. With metrics on, the channel matches them itself (its config
 * selector hands the picker each call's method: src/grpc/method-config-selector.ts); with
 * metrics off, grpc-js does. Each config here has a retry policy of its own number of
 * attempts, so the picks of a call say which config it got.
 */
import * as grpc from '@grpc/grpc-js';
import { BehaviorSubject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { instanceFromAddress } from '../../src/instance.js';
import type { Backends, Picker } from '../../src/picker.js';
import { useEchoServers } from '../support/fixture.js';
import { testMeters } from '../support/metrics.js';
import { allReady } from '../support/ready.js';

const fixture = useEchoServers(1);

/** A retry policy of `maxAttempts` on UNIMPLEMENTED, which the echo server answers any method it lacks. */
function retries(maxAttempts: number) {
  return {
    maxAttempts,
    initialBackoff: '0.01s',
    maxBackoff: '0.01s',
    backoffMultiplier: 1,
    retryableStatusCodes: ['UNIMPLEMENTED'],
  };
}

const SERVICE_CONFIG = JSON.stringify({
  methodConfig: [
    { name: [{ service: 'other.Svc' }], retryPolicy: retries(2) },
    {
      name: [
        { service: 'a.Svc', method: 'Two' },
        { service: 'a.Svc', method: 'One' },
      ],
      retryPolicy: retries(3),
    },
    { name: [{ service: 'a.Svc' }], retryPolicy: retries(4) },
    { name: [{}], retryPolicy: retries(5) },
  ],
});

/** The attempts of a unary call of `path` through `channel`, counted by the picks. */
async function attempts(channel: grpc.Channel, path: string, picks: { count: number }) {
  const client = new grpc.Client('', grpc.credentials.createInsecure(), {
    channelOverride: channel,
  });
  const before = picks.count;
  const code = await new Promise<number | undefined>((resolve) => {
    client.makeUnaryRequest(
      path,
      (value: Buffer) => value,
      (value: Buffer) => value,
      Buffer.from('{}'),
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
      (error) => resolve(error?.code),
    );
  });
  expect(code).toBe(grpc.status.UNIMPLEMENTED);
  return picks.count - before;
}

describe("a balanced channel's method configs", () => {
  for (const metrics of [true, false]) {
    it(`apply as gRPC matches them: service and method, else service, else the default, whatever the order (metrics ${metrics ? 'on' : 'off'})`, async () => {
      const picks = { count: 0 };
      const [address = ''] = fixture.addresses();
      const instances = [instanceFromAddress(address)];
      const picker: Picker = {
        instances,
        pick(backends?: Backends) {
          picks.count++;
          return backends?.usable[0]?.instance ?? instances[0];
        },
      };
      const meters = testMeters();
      const channel = fixture.channel(new BehaviorSubject(picker), {
        name: 'echo',
        outlierDetection: false,
        channelOptions: { 'grpc.service_config': SERVICE_CONFIG },
        ...(metrics && { meterProvider: meters.meterProvider }),
      });
      try {
        await allReady(channel);
        const seen: Record<string, number> = {};
        for (const path of [
          '/a.Svc/One',
          '/a.Svc/Two',
          '/a.Svc/Three',
          '/b.Svc/One',
          '/other.Svc/One',
        ]) {
          seen[path] = await attempts(channel, path, picks);
        }
        expect(seen).toEqual({
          '/a.Svc/One': 3, // named with its method, in the second of the config's names
          '/a.Svc/Two': 3,
          '/a.Svc/Three': 4, // its service's config, listed after the one naming methods of it
          '/b.Svc/One': 5, // the default, listed last
          '/other.Svc/One': 2,
        });
      } finally {
        await meters.shutdown();
      }
    });
  }
});
