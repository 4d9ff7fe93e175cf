import { connectivityState } from '@grpc/grpc-js';
import { inspectPool } from '../../src/grpc/balanced-channel.js';

/**
 * Resolves once every backend of a balanced channel is READY, without making a call. The
 * channel prefers READY backends, so a test that counts which backend got which call waits
 * for this first: from then on the picker's rotation is followed exactly.
 */
export async function allReady(channel: object, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { live } = inspectPool(channel);
    if (live.every((backend) => backend.state === connectivityState.READY)) return;
    if (Date.now() > deadline) {
      const states = live.map(
        (backend) => `${backend.address} ${connectivityState[backend.state]}`,
      );
      throw new Error(`backends not all READY after ${timeoutMs} ms: ${states.join(', ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
