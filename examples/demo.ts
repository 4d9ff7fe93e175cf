/**
 * `npm start`: rxlb end to end, in about 20 seconds.
 *
 * Starts a Consul (ConsulTestServer, or the real one at CONSUL_HTTP_ADDR), three greeter
 * server processes that register themselves with a gRPC health check, and a client that
 * sends steady traffic through
 *
 *   consulInstances$('greeter').pipe(diff(), roundRobin()) → createBalancedChannel()
 *
 * with the retryOnAnotherInstance() middleware and client-side health checking (gRFC A17).
 * Then it kills one server with SIGKILL, adds a new one, has one say NOT_SERVING on its health
 * service for a moment, and sums up: calls per backend, failed calls, latency per phase, how
 * long each change took to reach the client, and what rxlb's OpenTelemetry instruments
 * recorded (examples/demo/metrics.ts). Exit code 0 only when the run met its expectations.
 *
 * `npm start -- --policy <round-robin|least-request|peak-ewma>`: that policy in place of
 * roundRobin(), while one server turns 100 ms slower for a phase and then fast again; the live
 * chart shows where the calls go, and the summary whether they moved away from the slow one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createClientFactory } from 'nice-grpc';
import { ReplaySubject, share } from 'rxjs';
import {
  consulInstances$,
  createBalancedChannel,
  diff,
  METRICS,
  type Picker,
  retryOnAnotherInstance,
} from '../src/index.js';
import { ConsulTestServer } from '../src/testing/index.js';
import { type BackendRow, draw, event, freeze } from './demo/display.js';
import { demoMetrics } from './demo/metrics.js';
import { type Phase, Phases, phaseLines, shareOf } from './demo/phases.js';
import { DEMO_POLICIES, type DemoPolicy, readPolicyFlag, USAGE } from './demo/policy-flag.js';
import { GreeterDefinition } from './greeter/generated/greeter.js';
import { type GreeterProcess, spawnGreeter } from './greeter/spawn.js';

// `npm start -- --failover`: failover between two datacenters instead (examples/demo/failover.ts)
if (process.argv.includes('--failover')) {
  const { runFailoverDemo } = await import('./demo/failover.js');
  process.exit(await runFailoverDemo());
}

const PHASE_MS = 5_000;
/** How long server 1 says NOT_SERVING, and then how long the demo watches it serve again. */
const HEALTH_PHASE_MS = 2_000;
const WORKERS = 8;
const CHANGE_TIMEOUT_MS = 10_000;
const SLOW_MS = 100;

let policy: DemoPolicy | undefined;
try {
  policy = readPolicyFlag(process.argv.slice(2));
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
  process.exit(2);
}

const t0 = performance.now();
const now = () => performance.now() - t0;

// --- Consul --------------------------------------------------------------------------------
const realConsul = process.env.CONSUL_HTTP_ADDR;
const testServer = realConsul ? undefined : await new ConsulTestServer().start();
const consulAddress = realConsul ?? testServer?.address ?? '';
event(now(), realConsul ? `using Consul at ${realConsul}` : `ConsulTestServer on ${consulAddress}`);

// --- the client: discovery → picker → channel ------------------------------------------------
// rxlb's OpenTelemetry instruments, into a meter provider of the demo's own (examples/demo/metrics.ts)
const metrics = demoMetrics();
const { meterProvider } = metrics;
const balancing = DEMO_POLICIES[policy ?? 'round-robin'];
event(now(), `balancing with ${balancing.label}${policy ? '' : ', the default'}`);
let picker: Picker | undefined;
/** Woken by every picker, health event and call answered by the backend being watched. */
const waiters = new Set<() => void>();
const picker$ = consulInstances$('greeter', {
  address: consulAddress,
  wait: '30s',
  meterProvider,
  onError: ({ error, attempt, nextDelayMs }) =>
    event(now(), `consul: ${error.message} (attempt ${attempt}, next in ${nextDelayMs} ms)`),
}).pipe(diff(), balancing.operator(), share({ connector: () => new ReplaySubject<Picker>(1) }));
const watcher = picker$.subscribe((next) => {
  picker = next;
  for (const wake of [...waiters]) wake();
});
const inPicker = (address: string) =>
  picker?.instances.some((instance) => instance.address === address) ?? false;

/**
 * Resolves with the time at which `condition` holds, or undefined; checked on every picker,
 * health event and call answered by the backend being watched.
 */
function when(condition: () => boolean): Promise<number | undefined> {
  if (condition()) return Promise.resolve(now());
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), CHANGE_TIMEOUT_MS);
    const check = () => condition() && done(now());
    const done = (at: number | undefined) => {
      clearTimeout(timer);
      waiters.delete(check);
      resolve(at);
    };
    waiters.add(check);
  });
}

// Client-side health checking: a Watch stream on each connection (the servers' health service
// is nice-grpc-server-health's, the one Consul's check asks too)
const healthEvents: { at: number; address: string; health: string }[] = [];
const channel = createBalancedChannel(picker$, {
  name: 'greeter',
  meterProvider,
  healthCheck: {
    onHealthChange: ({ address, health, previous }) => {
      healthEvents.push({ at: now(), address, health });
      for (const wake of [...waiters]) wake();
      if (previous !== 'PENDING') {
        event(now(), `${labels.get(address) ?? address}: health ${previous} → ${health}`);
      }
    },
  },
});
const heard = (address: string, health: string, after: number) =>
  healthEvents.find((e) => e.address === address && e.health === health && e.at >= after)?.at;
const client = createClientFactory()
  .use(retryOnAnotherInstance({ meterProvider }))
  .create(GreeterDefinition, channel);

// --- servers ---------------------------------------------------------------------------------
const labels = new Map<string, string>();
const notes = new Map<string, string>();
const servers: GreeterProcess[] = await Promise.all(
  [1, 2, 3].map(() => spawnGreeter(consulAddress)),
);
for (const [i, server] of servers.entries()) labels.set(server.address, `server ${i + 1}`);
event(now(), `3 greeter servers registered: ${servers.map((s) => s.address).join(', ')}`);
const allIn = await when(() => servers.every((server) => inPicker(server.address)));
if (allIn === undefined) event(now(), 'the picker never saw all three servers');

// --- traffic ---------------------------------------------------------------------------------
const totals = new Map<string, number>();
/** When each call that a backend answered went out, for the backend being watched. */
let watched: { readonly address: string; readonly sentAt: number[] } | undefined;
const firstReply = new Map<string, number>();
const phases = new Phases();
let failed = 0;
let lastFailure = '';
let running = true;
async function worker(): Promise<void> {
  while (running) {
    const startedAt = now();
    try {
      const { backend } = await client.sayHello({ name: 'rxlb' });
      totals.set(backend, (totals.get(backend) ?? 0) + 1);
      if (backend === watched?.address) {
        watched.sentAt.push(startedAt);
        for (const wake of [...waiters]) wake();
      }
      phases.answered(backend, now() - startedAt);
      if (!firstReply.has(backend)) firstReply.set(backend, now());
    } catch (error) {
      failed++;
      lastFailure = error instanceof Error ? error.message : String(error);
    }
    await sleep(4);
  }
}
const workers = Array.from({ length: WORKERS }, worker);

const history: { at: number; totals: Map<string, number> }[] = [];
const render = () => {
  const at = now();
  history.push({ at, totals: new Map(totals) });
  // keep the newest snapshot that is at least a second old: the rate is over ~1 s
  while ((history[1]?.at ?? at) <= at - 1_000) history.shift();
  const before = history[0]?.totals ?? new Map<string, number>();
  const rows: BackendRow[] = [...labels].map(([address, label]) => ({
    address,
    label: `${label}${notes.get(address) ?? ''}${inPicker(address) ? '' : '  (not in picker)'}`,
    total: totals.get(address) ?? 0,
    lastSecond: (totals.get(address) ?? 0) - (before.get(address) ?? 0),
  }));
  draw(at, rows, failed);
};
const display = setInterval(render, process.stdout.isTTY ? 200 : 1_000);

const [s1, s2, s3] = servers;
if (!s1 || !s2 || !s3) throw new Error('three servers expected');
const expectations: [string, boolean][] = [
  ['the picker saw all three servers at the start', allIn !== undefined],
];
const changes: string[] = [];
const ms = (value: number | undefined) =>
  value === undefined ? 'never' : `${Math.round(value)} ms`;
const percent = (share: number) => `${Math.round(share * 100)} %`;
/** Every backend within ±20 % of the phase's mean: round robin, give or take retries. */
function fair(phase: Phase | undefined, addresses: readonly string[]) {
  const counts = addresses.map((address) => phase?.calls.get(address) ?? 0);
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
  return { counts, ok: mean > 0 && counts.every((c) => Math.abs(c - mean) <= mean * 0.2) };
}

let extra: GreeterProcess | undefined;
if (policy === undefined) {
  // --- kill one, then add one ----------------------------------------------------------------
  const steady = phases.start('three servers');
  await sleep(PHASE_MS);
  const killedAt = now();
  phases.start('server 2 killed');
  await s2.kill();
  event(now(), `killed server 2 (${s2.address}) with SIGKILL`);
  const droppedAt = await when(() => !inPicker(s2.address));
  if (droppedAt !== undefined) {
    event(
      now(),
      `the picker dropped server 2 ${Math.round(droppedAt - killedAt)} ms after the kill`,
    );
  }
  await sleep(Math.max(0, killedAt + PHASE_MS - now()));
  const spawnedAt = now();
  extra = await spawnGreeter(consulAddress);
  const newcomer = extra;
  const registeredAt = now();
  labels.set(newcomer.address, 'server 4 (new)');
  event(now(), `server 4 (${newcomer.address}) started and registered`);
  const addedAt = await when(() => inPicker(newcomer.address));
  if (addedAt !== undefined) {
    event(
      now(),
      `the picker added server 4 ${Math.round(addedAt - registeredAt)} ms after it registered`,
    );
  }
  const last = phases.start('server 4 added');
  await sleep(Math.max(0, spawnedAt + PHASE_MS - now()));
  // --- one says NOT_SERVING, then SERVING again --------------------------------------------
  const sentAt: number[] = [];
  watched = { address: s1.address, sentAt };
  const sickAt = now();
  phases.start('server 1 NOT_SERVING');
  s1.setServing(false);
  notes.set(s1.address, '  (NOT_SERVING)');
  event(now(), `server 1 (${s1.address}) says NOT_SERVING on its health service`);
  const heardAt = await when(() => heard(s1.address, 'NOT_SERVING', sickAt) !== undefined);
  const consulAt = await when(() => !inPicker(s1.address));
  if (consulAt !== undefined) {
    const after = Math.round(consulAt - sickAt);
    event(now(), `Consul's check dropped server 1 ${after} ms after it said NOT_SERVING`);
  }
  await sleep(Math.max(0, sickAt + HEALTH_PHASE_MS - now()));
  const wellAt = now();
  phases.start('server 1 SERVING again');
  s1.setServing(true);
  notes.delete(s1.address);
  event(now(), 'server 1 says SERVING again');
  const backAt = await when(() => sentAt.some((at) => at > wellAt));
  await sleep(Math.max(0, wellAt + HEALTH_PHASE_MS - now()));
  phases.start('winding down');
  // calls that went out once the channel had heard NOT_SERVING, and reached server 1 anyway
  const stray = sentAt.filter((at) => at > (heardAt ?? Infinity) && at < wellAt).length;
  const during = sentAt.filter((at) => at >= sickAt && at < wellAt);
  const lastSent = during.length > 0 ? Math.max(...during) - sickAt : undefined;
  const newcomerFirst = firstReply.get(newcomer.address);
  const phase1 = fair(steady, [s1.address, s2.address, s3.address]);
  const phase3 = fair(last, [s1.address, s3.address, newcomer.address]);
  changes.push(
    `  server 2 killed      → dropped from the picker after ${ms(droppedAt && droppedAt - killedAt)}`,
    `  server 4 registered  → added to the picker after ${ms(addedAt && addedAt - registeredAt)}`,
    `                       → first call answered after ${ms(newcomerFirst && newcomerFirst - registeredAt)}`,
    `  server 1 NOT_SERVING → out of the channel's picks after ${ms(heardAt && heardAt - sickAt)} (its health Watch); ${lastSent === undefined ? 'no call sent since reached it' : `the last call to reach it went out ${ms(lastSent)} after`}`,
    `                       → dropped from the picker after ${ms(consulAt && consulAt - sickAt)} (Consul's check, every 250 ms)`,
    `  server 1 SERVING     → answered calls again after ${ms(backAt && backAt - wellAt)} (${consulAt === undefined ? 'its health Watch' : "once Consul's check listed it again"})`,
  );
  expectations.push(
    [`the three servers shared the first phase evenly (${phase1.counts.join(' / ')})`, phase1.ok],
    ['the killed server left the picker', droppedAt !== undefined],
    [
      'the new server joined the picker and answered calls',
      addedAt !== undefined && newcomerFirst !== undefined,
    ],
    [
      `the three live servers shared the last phase evenly (${phase3.counts.join(' / ')})`,
      phase3.ok,
    ],
    ["the channel heard server 1's NOT_SERVING on its health Watch", heardAt !== undefined],
    [`no call that went out after that reached server 1 (${stray})`, stray === 0],
    ['server 1 answered calls again once SERVING', backAt !== undefined],
  );
} else {
  // --- one server turns slow, then fast again ------------------------------------------------
  const steady = phases.start('three servers');
  await sleep(PHASE_MS);
  s2.setDelay(SLOW_MS);
  notes.set(s2.address, `  (slow: +${SLOW_MS} ms)`);
  event(now(), `server 2 (${s2.address}) answers ${SLOW_MS} ms slower`);
  const slow = phases.start(`server 2 +${SLOW_MS} ms`);
  await sleep(PHASE_MS);
  s2.setDelay(0);
  notes.delete(s2.address);
  event(now(), 'server 2 is fast again');
  phases.start('server 2 fast again');
  await sleep(PHASE_MS);
  phases.start('winding down');
  const before = shareOf(steady, s2.address);
  const during = shareOf(slow, s2.address);
  const moved = `${percent(before)} of the calls before, ${percent(during)} while slow`;
  expectations.push(
    policy === 'round-robin'
      ? [`round robin kept sending server 2 its share: ${moved}`, during >= before * 0.8]
      : [`calls moved away from server 2 while it was slow: ${moved}`, during < before / 2],
    ['server 2 stayed in the picker: slow is not unhealthy', inPicker(s2.address)],
  );
}

// --- wind down -----------------------------------------------------------------------------------
running = false;
await Promise.all(workers);
clearInterval(display);
if (process.stdout.isTTY) render(); // the final picture stays on screen
freeze();

console.log('\nSummary');
for (const [address, label] of labels) {
  console.log(
    `  ${label.padEnd(16)} ${address.padEnd(16)} ${String(totals.get(address) ?? 0).padStart(7)} calls`,
  );
}
const sum = [...totals.values()].reduce((a, b) => a + b, 0);
console.log(
  `  ${'total'.padEnd(33)} ${String(sum).padStart(7)} calls, ${failed} failed${failed ? ` (last: ${lastFailure})` : ''}`,
);
console.log(`\nPhases (${balancing.label})`);
for (const line of phaseLines(phases.all.slice(0, -1), labels)) console.log(line);
if (changes.length > 0) {
  console.log('\nChanges reaching the client');
  for (const line of changes) console.log(line);
}

const measured = await metrics.read();
console.log("\nMetrics (rxlb's OpenTelemetry instruments, as an exporter reads them)");
for (const line of measured.lines) console.log(line);
const okAttempts = measured.total(METRICS.attemptDuration, { 'grpc.status': 'OK' });
expectations.push([
  `the metrics saw every answered call: ${okAttempts} attempts ended OK, ${sum} calls answered`,
  okAttempts === sum,
]);

expectations.unshift(['no call failed', failed === 0]);
console.log('\nExpectations');
for (const [text, ok] of expectations) console.log(`  ${ok ? '✔' : '✘'} ${text}`);
const passed = expectations.every(([, ok]) => ok);
console.log(
  passed ? '\nrxlb demo: all expectations met' : '\nrxlb demo: some expectations were not met',
);

watcher.unsubscribe();
channel.close();
await Promise.all([...servers, ...(extra ? [extra] : [])].map((server) => server.stop()));
await testServer?.stop();
await metrics.shutdown();
process.exitCode = passed ? 0 : 1;
// Everything is closed: the process ends by itself. Should anything leak, say so.
setTimeout(() => {
  console.error('rxlb demo: something kept the process alive after cleanup');
  process.exit(2);
}, 5_000).unref();
