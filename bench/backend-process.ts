/**
 * The gRPC backends of the macro benchmarks, run in a child process (see backends.ts): echo
 * servers on 127.0.0.1. It sends `{ addresses }` once they listen, answers `'cpu'` with its
 * `process.cpuUsage()` and `'connections'` with the number of
 * client connections open to its servers, and exits when its parent disconnects.
 */
import { startEchoServers } from '../test/support/echo-server.js';

const count = Number(process.argv[2] ?? '3');
const servers = await startEchoServers(count);

process.on('message', (message) => {
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
