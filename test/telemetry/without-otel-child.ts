/**
 * Run by without-otel.test.ts with @opentelemetry/api made unresolvable: rxlb must load, a
 * balanced channel and a Consul watch must run, and nothing may throw for the missing peer.
 */
import { createClient } from 'nice-grpc';
import { firstValueFrom, of } from 'rxjs';
import { consulInstances$, createBalancedChannel, diff, roundRobin } from '../../src/index.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { startEchoServer } from '../support/echo-server.js';
import { EchoService } from '../support/echo-service.js';

let missing = false;
try {
  await import('@opentelemetry/api');
} catch {
  missing = true;
}
const server = await startEchoServer();
const consul = await new ConsulTestServer().start();
consul.registerService({
  Name: 'echo',
  Port: Number(server.address.split(':')[1]),
  Address: '127.0.0.1',
});
const set = await firstValueFrom(consulInstances$('echo', { address: consul.address }));
const channel = createBalancedChannel(of([...set.keys()]).pipe(diff(), roundRobin()));
const reply = await createClient(EchoService, channel).unary({ text: 'no metrics' });
channel.close();
server.stop();
await consul.stop();
process.stdout.write(JSON.stringify({ missing, text: reply.text }));
