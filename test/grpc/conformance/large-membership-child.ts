/**
 * Run by large-membership.test.ts, one process per side, with --expose-gc: a channel over a
 * large membership (a file of addresses, most of them dead ports), its first call, one caller
 * for a while, the heap before and after, and what `close()` leaves open. Prints one JSON
 * object; then it has nothing left to do and must exit by itself.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { unary } from './calls.js';
import { openChannel, type SideName } from './sides.js';

const [side, file, duration] = process.argv.slice(2) as [SideName, string, string];
const addresses = JSON.parse(readFileSync(file, 'utf8')) as string[];
const gc = globalThis.gc;
if (!gc) throw new Error('run with --expose-gc');

async function memory(): Promise<{ heap: number; rss: number }> {
  gc?.();
  await sleep(20);
  gc?.();
  const { heapUsed, rss } = process.memoryUsage();
  return { heap: heapUsed, rss };
}

/** Sockets and pending connects, apart from stdio and the IPC channel. */
function sockets(): number {
  return process
    .getActiveResourcesInfo()
    .filter((name) => name === 'TCPSocketWrap' || name === 'TCPConnectWrap').length;
}

const before = await memory();
const channel = openChannel(side, addresses);
const first = await unary(channel, { deadlineMs: 10_000 });
const latencies: number[] = [];
let failed = 0;
let firstFailure: string | undefined;
const end = performance.now() + Number(duration);
while (performance.now() < end) {
  const outcome = await unary(channel, { deadlineMs: 5_000 });
  if (outcome.code === status.OK) latencies.push(outcome.ms);
  else {
    failed++;
    firstFailure ??= `${status[outcome.code]} after ${outcome.ms.toFixed(0)} ms: ${outcome.details}`;
  }
}
const after = await memory();
channel.close();
const closedAt = performance.now();
await sleep(500);
const socketsAfterClose = sockets();
// Then until none is left, for at most 5 s more.
while (sockets() > 0 && performance.now() - closedAt < 5_500) await sleep(20);
const socketsGoneMs = sockets() === 0 ? performance.now() - closedAt : Number.POSITIVE_INFINITY;
latencies.sort((a, b) => a - b);
process.stdout.write(
  JSON.stringify({
    firstCode: first.code,
    firstMs: first.ms,
    calls: latencies.length,
    failed,
    firstFailure,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? Number.NaN,
    heapGrowth: after.heap - before.heap,
    rssGrowth: after.rss - before.rss,
    socketsAfterClose,
    socketsGoneMs,
  }),
);
