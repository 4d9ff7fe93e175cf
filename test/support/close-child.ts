/**
 * Run by close.test.ts in a child process: makes calls through a balanced channel fed by a
 * picker$ that never completes, closes the channel, and then has nothing left to do. The
 * process must exit by itself. With `--health` first, the channel checks the backends' health
 * (a Watch stream open on each connection) and makes unary calls only.
 */
import { createClientFactory } from 'nice-grpc';
import { BehaviorSubject } from 'rxjs';
import { createBalancedChannel } from '../../src/grpc/balanced-channel.js';
import { retryOnAnotherInstance } from '../../src/grpc/retry-on-another-instance.js';
import { EchoService } from './echo-service.js';
import { roundRobinPicker } from './pickers.js';
import { allReady } from './ready.js';

const health = process.argv[2] === '--health';
const addresses = process.argv.slice(health ? 3 : 2);
const channel = createBalancedChannel(new BehaviorSubject(roundRobinPicker(addresses)), {
  name: 'echo',
  ...(health && { healthCheck: {} }),
});
await allReady(channel);
const client = createClientFactory().use(retryOnAnotherInstance()).create(EchoService, channel);
const replies = [await client.unary({ text: 'one' }), await client.unary({ text: 'two' })];
if (!health) {
  for await (const reply of client.serverStream({ text: 'three', count: 2 })) replies.push(reply);
}
channel.close();
process.stdout.write(JSON.stringify(replies.map((reply) => reply.backend)));
