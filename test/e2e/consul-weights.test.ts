/**
 * Consul's weights, end to end: echo servers registered in ConsulTestServer with
 * `Weights.Passing` 3 and 1, and a client balancing over them through consulInstances$ →
 * diff() → weightedRoundRobin() → createBalancedChannel(), with the retry middleware.
 */
import { createClientFactory } from 'nice-grpc';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  consulInstances$,
  createBalancedChannel,
  diff,
  retryOnAnotherInstance,
  weightedRoundRobin,
} from '../../src/index.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { type EchoServer, startEchoServers } from '../support/echo-server.js';
import { EchoService } from '../support/echo-service.js';
import { tally } from '../support/fixture.js';
import { allReady } from '../support/ready.js';

let consul: ConsulTestServer;
let servers: EchoServer[];
beforeEach(async () => {
  consul = await new ConsulTestServer().start();
  servers = await startEchoServers(2);
});
afterEach(async () => {
  for (const server of servers) server.stop();
  await consul.stop();
});

describe('Consul weights through weightedRoundRobin()', () => {
  it('sends calls 3:1 to instances registered with Weights.Passing 3 and 1', async () => {
    servers.forEach((server, i) => {
      server.release();
      consul.registerService({
        Name: 'echo',
        ID: `echo-${i}`,
        Address: '127.0.0.1',
        Port: Number(server.address.split(':')[1]),
        Weights: { Passing: i === 0 ? 3 : 1, Warning: 1 },
      });
    });
    const picker$ = consulInstances$('echo', { address: consul.address, wait: '5s' }).pipe(
      diff(),
      weightedRoundRobin(),
    );
    const channel = createBalancedChannel(picker$, { name: 'echo' });
    try {
      await allReady(channel);
      const client = createClientFactory()
        .use(retryOnAnotherInstance())
        .create(EchoService, channel);
      const replies = [];
      for (let i = 0; i < 400; i++) replies.push(await client.unary({ text: '' }));
      const counts = tally(replies);
      expect(servers.map((server) => counts.get(server.address))).toEqual([300, 100]);
    } finally {
      channel.close();
    }
  });
});
