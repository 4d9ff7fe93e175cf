/**
 * Balanced channels that check health (gRFC A17) over {@link HealthServer}s, for the health
 * check tests: servers and channels made by a fixture are stopped and closed after each test.
 */
import { type Client, createClient } from 'nice-grpc';
import { BehaviorSubject, type Observable } from 'rxjs';
import { afterEach, expect, vi } from 'vitest';
import { type BalancedChannel, createBalancedChannel } from '../../src/grpc/balanced-channel.js';
import type { HealthEvent } from '../../src/grpc/health-watch.js';
import type { BalancedChannelOptions } from '../../src/grpc/options.js';
import type { BackendHealth, Picker } from '../../src/picker.js';
import { EchoService } from './echo-service.js';
import {
  type HealthServer,
  type HealthServerOptions,
  startHealthServers,
} from './health-server.js';
import { roundRobinPicker } from './pickers.js';

const Unary = { unary: EchoService.unary };
export type UnaryClient = Client<typeof Unary>;

/** Registers its after-each cleanup: what `defer()` is given runs after the test, last first. */
export function useHealthChecks() {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** `n` health servers, stopped after the test. */
  async function servers(n: number, options?: HealthServerOptions): Promise<HealthServer[]> {
    const started = await startHealthServers(n, options);
    for (const server of started) cleanup.push(() => server.stop());
    return started;
  }

  /** A channel over `picker$` that checks health, its client, and the health events it told. */
  function checkedChannel(
    picker$: Observable<Picker>,
    options: Omit<BalancedChannelOptions, 'name'> = { healthCheck: {} },
  ) {
    const events: (HealthEvent & { at: number })[] = [];
    const healthCheck = options.healthCheck;
    const channel = createBalancedChannel(picker$, {
      name: 'echo',
      ...options,
      ...(healthCheck !== undefined && {
        healthCheck: healthCheck && {
          ...healthCheck,
          onHealthChange: (event) => events.push({ ...event, at: performance.now() }),
        },
      }),
    });
    cleanup.push(() => channel.close());
    const client: UnaryClient = createClient(Unary, channel);
    return { channel, client, events };
  }

  return { servers, checkedChannel, defer: (step: () => unknown) => cleanup.push(step) };
}

/** A picker$ over `list`, whose next() changes the members. */
export const over = (list: readonly HealthServer[]) =>
  new BehaviorSubject(roundRobinPicker(list.map((server) => server.address)));

/** The health of each backend of `channel`, by address. */
export function healthOf(channel: BalancedChannel): Record<string, BackendHealth> {
  return Object.fromEntries(channel.backends().map((b) => [b.instance.address, b.health]));
}

export async function allServing(channel: BalancedChannel, count: number): Promise<void> {
  await vi.waitFor(() => {
    const backends = channel.backends();
    expect(backends).toHaveLength(count);
    expect(backends.every((b) => b.state === 'READY' && b.health === 'SERVING')).toBe(true);
  });
}

/** Who answered `n` calls, one after the other. */
export async function answers(client: UnaryClient, n: number): Promise<string[]> {
  const backends: string[] = [];
  for (let i = 0; i < n; i++) backends.push((await client.unary({ text: `${i}` })).backend);
  return backends;
}

/**
 * `callers` callers sending call after call until `stop()`, each call recorded with when it
 * went out; `inFlight` counts the calls sent and not answered.
 */
export function traffic(client: UnaryClient, callers = 4) {
  const calls: { startedAt: number; backend: string }[] = [];
  let running = true;
  let inFlight = 0;
  const caller = async () => {
    while (running) {
      const startedAt = performance.now();
      inFlight++;
      try {
        const { backend } = await client.unary({ text: '' });
        calls.push({ startedAt, backend });
      } finally {
        inFlight--;
      }
    }
  };
  const done = Promise.all(Array.from({ length: callers }, caller));
  return {
    calls,
    get inFlight() {
      return inFlight;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}
