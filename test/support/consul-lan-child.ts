/**
 * A ConsulTestServer in its own process, for the LAN tests: `node --import tsx
 * consul-lan-child.ts <nodeName> [datacenter]` prints `{"address": ...}` on a line once it
 * listens, and stops when its stdin ends (the test closes it, or dies). It never calls
 * process.exit: the process ends only if stop() left no timer or socket behind.
 */
import { ConsulTestServer } from '../../src/testing/index.js';

const [nodeName = 'child', datacenter = 'dc1'] = process.argv.slice(2);
const server = await new ConsulTestServer({ nodeName, datacenter }).start();
process.stdout.write(`${JSON.stringify({ address: server.address })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  process.stdin.pause();
  void server.stop();
});
