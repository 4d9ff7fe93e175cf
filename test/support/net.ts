import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Where {@link freePort} takes its ports: below the system's ephemeral range, so that no
 * `listen(0)` of another test file running at the same time can be given one of them while
 * this file's channels keep reconnecting to it (a dead backend coming alive as somebody
 * else's server, and that server seeing a stranger's connections). Linux's range starts at
 * `ip_local_port_range` (32768 by default); macOS's and Windows's start higher.
 */
function band(): { start: number; size: number } {
  let ephemeralLow = 32_768;
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/);
    if (Number(low) > 0) ephemeralLow = Number(low);
  } catch {}
  const low = 10_000;
  const high = Math.max(low + 5_000, Math.min(ephemeralLow, 30_000));
  // A slice of each vitest worker's own, so that two files running at once never draw alike.
  const slots = 4;
  const slot = (Number(process.env.VITEST_POOL_ID ?? 1) - 1) % slots;
  const size = Math.floor((high - low) / slots);
  return { start: low + Math.max(0, slot) * size, size };
}

const { start, size } = band();
/** The next port to try: from a random place in the slice, then in order, never twice. */
let cursor = Math.floor(Math.random() * size);
let handedOut = 0;

/** Whether nothing listens on `port` of 127.0.0.1 now (it can be bound). */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * A port on 127.0.0.1 that nothing listens on (it was free a moment ago), outside the range
 * from which the system gives ports to `listen(0)`: for a dead backend, or for a server the
 * test starts there later.
 */
export async function freePort(): Promise<number> {
  while (handedOut < size) {
    const port = start + (cursor % size);
    cursor++;
    handedOut++;
    if (await isFree(port)) return port;
  }
  throw new Error(`no free port left in ${start}-${start + size - 1}`);
}

/** `n` ports as {@link freePort} gives them. */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freePort());
  return ports;
}
