/**
 * `npm start -- --failover`: failover between two datacenters, in about 15 seconds.
 *
 * Starts two ConsulTestServers joined over the WAN, dc1 and dc2, two greeter server processes
 * registered in each, and a client of dc1's agent that sends steady traffic through
 *
 *   consulInstances$('greeter', { failover: ['dc2'] }).pipe(diff(), roundRobin())
 *     → createBalancedChannel()
 *
 * with the retryOnAnotherInstance() middleware. Then it empties dc1 (its node goes into
 * maintenance: Consul says nobody there is healthy), so calls move to dc2, and brings dc1
 * back, so calls return; it sums up calls per datacenter in each phase, failed calls, and how
 * long each switch took to reach the picker, and rxlb's own metrics of the run (read as in
 * examples/demo/metrics.ts). Resolves with the exit code: 0 only when the run
 * met its expectations.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createClientFactory } from 'nice-grpc';
import { filter, firstValueFrom, ReplaySubject, share, timeout } from 'rxjs';
import {
  consulInstances$,
  createBalancedChannel,
  diff,
  type FailoverStatus,
  METRICS,
  type Picker,
  retryOnAnotherInstance,
  roundRobin,
} from '../../src/index.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { GreeterDefinition } from '../greeter/generated/greeter.js';
import { spawnGreeter } from '../greeter/spawn.js';
import { type BackendRow, draw, event, freeze } from './display.js';
import { demoMetrics } from './metrics.js';

const PHASE_MS = 4_000;
const CALLERS = 8;
const SWITCH_TIMEOUT_MS = 10_000;

type Phase = 'dc1 serving' | 'dc1 emptied' | 'dc1 back';

export async function runFailoverDemo(): Promise<number> {
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  if (process.env.CONSUL_HTTP_ADDR) {
    event(now(), 'CONSUL_HTTP_ADDR is ignored: this demo needs two datacenters of its own');
  }

  // --- two datacenters, two greeters in each ------------------------------------------------
  const dc1 = await new ConsulTestServer({ datacenter: 'dc1', nodeName: 'node-dc1' }).start();
  const dc2 = await new ConsulTestServer({
    datacenter: 'dc2',
    nodeName: 'node-dc2',
    wanJoin: dc1,
  }).start();
  event(now(), `dc1 on ${dc1.address}, dc2 on ${dc2.address}, joined over the WAN`);
  const servers = await Promise.all(
    [dc1, dc1, dc2, dc2].map((consul) => spawnGreeter(consul.address)),
  );
  const datacenterOf = new Map<string, 'dc1' | 'dc2'>();
  for (const [i, server] of servers.entries())
    datacenterOf.set(server.address, i < 2 ? 'dc1' : 'dc2');
  event(
    now(),
    `greeters: ${servers.map((s) => `${s.address} (${datacenterOf.get(s.address)})`).join(', ')}`,
  );

  // --- the client: dc1's agent, failing over to dc2 ------------------------------------------
  const metrics = demoMetrics();
  const { meterProvider } = metrics;
  let serving: FailoverStatus['serving'];
  const picker$ = consulInstances$('greeter', {
    address: dc1.address,
    wait: '30s',
    failover: ['dc2'],
    meterProvider,
    onStatus: ({ failover }) => {
      const next = failover?.serving;
      if (next && next.reason !== serving?.reason)
        event(now(), `serving ${next.datacenter}: ${next.reason}`);
      serving = next;
    },
  }).pipe(diff(), roundRobin(), share({ connector: () => new ReplaySubject<Picker>(1) }));
  let picker: Picker | undefined;
  const watcher = picker$.subscribe((next) => {
    picker = next;
  });
  /** When the picker's every instance is in `dc` (undefined if it never is). */
  const pickerIn = (dc: 'dc1' | 'dc2') =>
    firstValueFrom(
      picker$.pipe(
        filter(
          (p) =>
            p.instances.length > 0 && p.instances.every((i) => datacenterOf.get(i.address) === dc),
        ),
        timeout(SWITCH_TIMEOUT_MS),
      ),
    ).then(
      () => now(),
      () => undefined,
    );
  const channel = createBalancedChannel(picker$, { name: 'greeter', meterProvider });
  const client = createClientFactory()
    .use(retryOnAnotherInstance({ meterProvider }))
    .create(GreeterDefinition, channel);
  const startedIn = await pickerIn('dc1');

  // --- traffic, counted per phase and datacenter ---------------------------------------------
  let phase: Phase = 'dc1 serving';
  const perPhase = new Map<Phase, Map<string, number>>();
  const totals = new Map<string, number>();
  let failed = 0;
  let lastFailure = '';
  let running = true;
  const caller = async () => {
    for (; running; await sleep(4)) {
      const calledIn = phase;
      try {
        const { backend } = await client.sayHello({ name: 'rxlb' });
        const counts = perPhase.get(calledIn) ?? new Map<string, number>();
        perPhase.set(calledIn, counts);
        const dc = datacenterOf.get(backend) ?? backend;
        counts.set(dc, (counts.get(dc) ?? 0) + 1);
        totals.set(backend, (totals.get(backend) ?? 0) + 1);
      } catch (error) {
        failed++;
        lastFailure = error instanceof Error ? error.message : String(error);
      }
    }
  };
  const callers = Array.from({ length: CALLERS }, caller);
  let previous = new Map<string, number>();
  const render = () => {
    const rows: BackendRow[] = servers.map(({ address }) => ({
      address,
      label: `${datacenterOf.get(address)}${picker?.instances.some((i) => i.address === address) ? '' : '  (not in picker)'}`,
      total: totals.get(address) ?? 0,
      lastSecond: (totals.get(address) ?? 0) - (previous.get(address) ?? 0),
    }));
    previous = new Map(totals);
    draw(now(), rows, failed);
  };
  const display = setInterval(render, 1_000);

  // --- empty dc1, then bring it back -----------------------------------------------------------
  await sleep(PHASE_MS);
  const emptiedAt = now();
  const toDc2 = pickerIn('dc2');
  dc1.setNodeMaintenance(true, 'demo: dc1 emptied');
  event(now(), "dc1's node went into maintenance: Consul says nobody in dc1 is healthy");
  const inDc2 = await toDc2;
  phase = 'dc1 emptied'; // calls started from here on must all go to dc2
  await sleep(PHASE_MS);
  const backAt = now();
  const toDc1 = pickerIn('dc1');
  dc1.setNodeMaintenance(false);
  event(now(), "dc1's node is out of maintenance");
  const inDc1 = await toDc1;
  phase = 'dc1 back';
  await sleep(PHASE_MS);

  // --- wind down -------------------------------------------------------------------------------
  running = false;
  await Promise.all(callers);
  clearInterval(display);
  render();
  freeze();
  const ms = (at: number | undefined, from: number) =>
    at === undefined ? 'never' : `${Math.round(at - from)} ms`;
  const calls = (p: Phase, dc: string) => perPhase.get(p)?.get(dc) ?? 0;
  console.log('\nCalls per phase (counted by when they started)');
  for (const p of ['dc1 serving', 'dc1 emptied', 'dc1 back'] as const) {
    console.log(
      `  ${p.padEnd(12)} dc1 ${String(calls(p, 'dc1')).padStart(6)}   dc2 ${String(calls(p, 'dc2')).padStart(6)}`,
    );
  }
  console.log(`  failed calls: ${failed}${failed ? ` (last: ${lastFailure})` : ''}`);
  console.log('\nSwitches reaching the picker');
  console.log(`  dc1 emptied → picker of dc2 after ${ms(inDc2, emptiedAt)}`);
  console.log(`  dc1 back    → picker of dc1 after ${ms(inDc1, backAt)}`);

  const measured = await metrics.read();
  console.log("\nMetrics (rxlb's OpenTelemetry instruments, as an exporter reads them)");
  for (const line of measured.lines) console.log(line);
  const answered = [...totals.values()].reduce((sum, n) => sum + n, 0);
  const okAttempts = measured.total(METRICS.attemptDuration, { 'grpc.status': 'OK' });

  const expectations: [string, boolean][] = [
    ['no call failed', failed === 0],
    ['dc1 served at the start', startedIn !== undefined && calls('dc1 serving', 'dc1') > 0],
    ['dc1 emptied: the picker moved to dc2', inDc2 !== undefined],
    [
      'every call started after the move went to dc2',
      calls('dc1 emptied', 'dc2') > 0 && calls('dc1 emptied', 'dc1') === 0,
    ],
    ['dc1 back: the picker moved home', inDc1 !== undefined],
    [
      'every call started after the return went to dc1',
      calls('dc1 back', 'dc1') > 0 && calls('dc1 back', 'dc2') === 0,
    ],
    [
      `the metrics saw every answered call: ${okAttempts} attempts ended OK, ${answered} calls answered`,
      okAttempts === answered,
    ],
  ];
  console.log('\nExpectations');
  for (const [text, ok] of expectations) console.log(`  ${ok ? '✔' : '✘'} ${text}`);
  const passed = expectations.every(([, ok]) => ok);
  console.log(
    passed
      ? '\nrxlb failover demo: all expectations met'
      : '\nrxlb failover demo: some expectations were not met',
  );

  watcher.unsubscribe();
  channel.close();
  await Promise.all(servers.map((server) => server.stop()));
  await dc2.stop();
  await dc1.stop();
  await metrics.shutdown();
  return passed ? 0 : 1;
}
