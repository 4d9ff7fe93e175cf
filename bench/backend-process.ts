/**
 * The gRPC backends of the macro benchmarks, run in a child process (see backends.ts): echo
 * servers on 127.0.0.1. It sends `{ addresses }` once they listen, answers `'cpu'` with its
 * `process.cpuUsage()` and `'connections'` with the number of
 * client connections open to its servers, makes a server slow on `{ delay: { index, ms } }`
 * (every call then waits `ms` before it is handled; 0 makes it fast again) and answers
 * `{ delayed: index }`, and exits when its parent disconnects.
 */
import { startEchoServers } from '../test/support/echo-server.js';
import { field } from './reflect.js';

const count = Number(process.argv[2] ?? '3');
const servers = await startEchoServers(count);

process.on('message', (message) => {
  const delay = field(message, 'delay');
  const index = field(delay, 'index');
  const ms = field(delay, 'ms');
  if (typeof index === 'number' && typeof ms === 'number') {
    const server = servers[index];
    if (server) server.delayMs = ms;
    process.send?.({ delayed: index });
  }
  if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  if (message === 'connections') {
    process.send?.({ connections: servers.reduce((sum, server) => sum + server.connections, 0) });
  }
});
process.on('disconnect', () => {
  for (const server of servers) server.stop();
  process.exit(0);
});
process.send?.({ addresses: servers.map((server) => server.address) });
