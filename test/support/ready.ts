import type { BalancedChannel } from '../../src/grpc/balanced-channel.js';

/**
 * Resolves once every backend of a balanced channel is READY (and serving, when the channel
 * checks health), without making a call. The channel picks among those backends, so a test that counts which backend got which call
 * waits for this first: from then on the picker's rotation is followed exactly.
 */
export async function allReady(channel: BalancedChannel, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const backends = channel.backends();
    const usable = (backend: (typeof backends)[number]) =>
      backend.state === 'READY' &&
      ['SERVING', 'UNIMPLEMENTED', 'UNCHECKED'].includes(backend.health);
    if (backends.length > 0 && backends.every(usable)) return;
    if (Date.now() > deadline) {
      const states = backends.map((b) => `${b.instance.address} ${b.state} ${b.health}`);
      throw new Error(`backends not all READY after ${timeoutMs} ms: ${states.join(', ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
