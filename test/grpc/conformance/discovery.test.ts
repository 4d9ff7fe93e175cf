/**
 * Conformance with grpc-js, part 3: discovery that fails before it ever answered. grpc-js's
 * DNS resolver fails calls at once with "Name resolution failed"; rxlb's channel over
 * `consulInstances$` must fail them as fast, with Consul's error, and recover by itself.
 */
import { credentials, Channel as GrpcChannel, status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { consulInstances$ } from '../../../src/consul/instances.js';
import { createBalancedChannel } from '../../../src/grpc/balanced-channel.js';
import { diff } from '../../../src/operators/diff.js';
import { roundRobin } from '../../../src/operators/round-robin.js';
import { ConsulTestServer } from '../../../src/testing/index.js';
import { type EchoServer, startEchoServer } from '../../support/echo-server.js';
import { freePort } from '../../support/net.js';
import { unary } from './calls.js';
import { conformanceReport } from './report.js';
import { ROUND_ROBIN } from './sides.js';

const report = conformanceReport('discovery');
const stops: (() => unknown)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe('conformance with grpc-js: discovery failing before its first answer', () => {
  it('fails a call without deadline at once with the discovery error, then recovers by itself', async () => {
    const port = await freePort();
    const channel = createBalancedChannel(
      consulInstances$('greeter', { address: `127.0.0.1:${port}`, backoff: { maxMs: 200 } }).pipe(
        diff(),
        roundRobin(),
      ),
    );
    stops.push(() => channel.close());
    const dns = new GrpcChannel(
      'dns:///rxlb-conformance.invalid:50051',
      credentials.createInsecure(),
      {
        'grpc.service_config': ROUND_ROBIN,
      },
    );
    stops.push(() => dns.close());

    const [rxlb, grpcJs] = await Promise.all([unary(channel), unary(dns)]);
    report({
      scenario:
        'discovery unreachable (Consul refused; grpc-js: a DNS name that does not resolve), a call without deadline',
      rxlb: `${status[rxlb.code]} in ${rxlb.ms.toFixed(0)} ms: ${rxlb.details}`,
      'grpc-js': `${status[grpcJs.code]} in ${grpcJs.ms.toFixed(0)} ms: ${grpcJs.details}`,
    });
    expect(grpcJs.code).toBe(status.UNAVAILABLE);
    expect(rxlb).toMatchObject({
      code: status.UNAVAILABLE,
      details: expect.stringMatching(
        new RegExp(`^no instance of "greeter" known yet: .*127\\.0\\.0\\.1:${port}.*ECONNREFUSED`),
      ),
    });
    expect(rxlb.ms).toBeLessThan(5_000);

    // A waitForReady call waits through it, and everything recovers once Consul answers.
    const patient = unary(channel, { waitForReady: true, deadlineMs: 15_000 });
    const backend: EchoServer = await startEchoServer();
    stops.push(() => backend.stop());
    const consul = await new ConsulTestServer({ port }).start();
    stops.push(() => consul.stop());
    const backendPort = Number(backend.address.split(':')[1]);
    consul.registerService({ Name: 'greeter', ID: 'g1', Address: '127.0.0.1', Port: backendPort });
    await expect(patient).resolves.toMatchObject({ code: status.OK, backend: backend.address });
    await expect(unary(channel)).resolves.toMatchObject({ code: status.OK });
  });

  it('names the service of consulInstances$ in its messages when the channel has no name', async () => {
    const consul = await new ConsulTestServer().start();
    stops.push(() => consul.stop());
    const channel = createBalancedChannel(
      consulInstances$('greeter', { address: consul.address, whenNobody: false }).pipe(
        diff(),
        roundRobin(),
      ),
    );
    stops.push(() => channel.close());
    await expect(unary(channel)).resolves.toMatchObject({
      code: status.UNAVAILABLE,
      details: 'no healthy instance of "greeter"',
    });
  });
});
