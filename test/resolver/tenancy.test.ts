/**
 * A consul: target's peer, ns and partition parameters reach the health query: a plain
 * grpc-js channel connects to the instances they select.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerConsulResolver } from '../../src/index.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { type EchoServer, startEchoServer } from '../support/echo-server.js';
import { healthQueries, params } from '../support/server.js';

let consul: ConsulTestServer;
let server: EchoServer;
let port: number;
beforeEach(async () => {
  consul = await new ConsulTestServer({ enterprise: true }).start();
  server = await startEchoServer();
  port = Number(server.address.split(':')[1]);
  registerConsulResolver({ grpc, address: consul.address });
});
afterEach(async () => {
  server.stop();
  await consul.stop();
});

/** Resolves once a channel to `target` is READY, then closes it. */
async function connect(target: string): Promise<void> {
  const channel = new grpc.Channel(target, grpc.credentials.createInsecure(), {});
  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 10_000;
      const watch = (state: grpc.connectivityState) => {
        if (state === grpc.connectivityState.READY) return resolve();
        channel.watchConnectivityState(state, deadline, (error) =>
          error ? reject(error) : watch(channel.getConnectivityState(true)),
        );
      };
      watch(channel.getConnectivityState(true));
    });
  } finally {
    channel.close();
  }
}

describe('consul: target parameters of peers and tenancy', () => {
  it('peer= connects to the instances imported from that peer', async () => {
    const passing = { TTL: '1m', Status: 'passing' } as const;
    consul.importService('cluster-02', {
      Name: 'echo',
      Address: '127.0.0.1',
      Port: port,
      Check: passing,
    });
    await connect('consul:///echo?peer=cluster-02');
    const asked = healthQueries(consul.requests, 'echo').map((q) => params(q).get('peer'));
    expect(asked).toContain('cluster-02');
  });

  it('ns= and partition= connect to the instances of that namespace and partition', async () => {
    consul.registerService({
      Name: 'echo',
      Address: '127.0.0.1',
      Port: port,
      Namespace: 'team-a',
      Partition: 'eu',
    });
    await connect('consul:///echo?ns=team-a&partition=eu&passing=false');
    const [query] = healthQueries(consul.requests, 'echo').map(params);
    expect([query?.get('ns'), query?.get('partition')]).toEqual(['team-a', 'eu']);
  });
});
