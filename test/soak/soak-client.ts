/**
 * The soak's client process, run with --expose-gc by soak.ts: the real pipeline from Consul
 * to a balanced channel, with retryOnAnotherInstance, called by concurrent callers until the
 * driver says churn is over. Then it checks the backends, closes the channel and reports; after
 * that it has nothing left to do, and must exit by itself.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ClientError, createClientFactory } from 'nice-grpc';
import { tap } from 'rxjs';
import { consulInstances$ } from '../../src/consul/instances.js';
import { createBalancedChannel } from '../../src/grpc/balanced-channel.js';
import { retryOnAnotherInstance } from '../../src/grpc/retry-on-another-instance.js';
import { diff } from '../../src/operators/diff.js';
import { roundRobin } from '../../src/operators/round-robin.js';
import type { Picker } from '../../src/picker.js';
import { EchoService } from '../support/echo-service.js';
import type { ClientMessage, ClientResult, FinishMessage, SoakClientConfig } from './protocol.js';

const config = JSON.parse(process.argv[2] ?? '{}') as SoakClientConfig;
const gc = globalThis.gc;
if (!gc || !process.send) throw new Error('run by soak.ts: with --expose-gc and an IPC channel');
const send = (message: ClientMessage) => process.send?.(message);

/** Heap in use after full collections: the median of three samples. */
async function heap(): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    gc?.();
    gc?.();
    samples.push(process.memoryUsage().heapUsed);
    await sleep(50);
  }
  return samples.sort((a, b) => a - b)[1] ?? 0;
}

let latest: Picker | undefined;
const picker$ = consulInstances$(config.service, { address: config.consul, wait: '2s' }).pipe(
  diff(),
  roundRobin(),
  tap((picker) => {
    latest = picker;
  }),
);
const channel = createBalancedChannel(picker$, { name: config.service });
const client = createClientFactory().use(retryOnAnotherInstance()).create(EchoService, channel);

let running = true;
let calls = 0;
const backends = new Set<string>();
const replies = (reply: { readonly backend: string }) => backends.add(reply.backend);
let failures = 0;
const failureSamples: string[] = [];
async function caller(i: number): Promise<void> {
  while (running) {
    try {
      // One caller in four streams: three replies per call.
      if (i % 4 === 0) {
        for await (const reply of client.serverStream({ text: 's', count: 3 })) replies(reply);
      } else {
        replies(await client.unary({ text: 'u' }));
      }
      calls++;
    } catch (error) {
      failures++;
      const text = error instanceof ClientError ? `${error.code}: ${error.details}` : String(error);
      if (failureSamples.length < 5) failureSamples.push(text);
    }
  }
}

const callers = Array.from({ length: config.callers }, (_, i) => caller(i));
while (!latest || latest.instances.length === 0) await sleep(10);
send({ type: 'started' });
await sleep(config.warmupMs);
const heapAfterWarmup = await heap();

const finish = await new Promise<FinishMessage>((resolve) => {
  process.once('message', (message) => resolve(message as FinishMessage));
});
const heapAtEnd = await heap();

// The channel settles once the watch has seen the last registrations.
const settled = () => {
  const wanted = new Set(latest?.instances.map((instance) => instance.address));
  const held = channel.backends().map((backend) => backend.instance.address);
  return (
    latest?.instances.length === finish.size &&
    held.length === wanted.size &&
    held.every((address) => wanted.has(address))
  );
};
for (let waited = 0; !settled() && waited < 10_000; waited += 20) await sleep(20);
const backendsMatchPicker = settled();
const backendCount = channel.backends().length;
running = false;
await Promise.all(callers);
channel.close();
await sleep(100);

const result: ClientResult = {
  calls,
  failures,
  failureSamples,
  backendsSeen: backends.size,
  heapAfterWarmup,
  heapAtEnd,
  pickerSize: latest?.instances.length ?? 0,
  backendCount,
  backendsMatchPicker,
  // Stdio and the IPC channel aside.
  resourcesAfterClose: process
    .getActiveResourcesInfo()
    .filter((name) => name !== 'PipeWrap' && name !== 'TTYWrap'),
};
send({ type: 'result', result });
process.disconnect();
