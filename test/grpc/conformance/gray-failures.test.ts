/**
 * Conformance with grpc-js, part 5: a backend that is up but fails every call at once (a bad
 * deploy, a lost database), while discovery still lists it. rxlb's policies with default
 * options, beside grpc-js's round_robin alone and under its outlier_detection with gRFC A50's
 * failure-percentage ejection, all at the same time on the same backends, no retry middleware.
 * Then a backend whose health service says NOT_SERVING, with the service config's
 * healthCheckConfig given to both sides (gRFC A17: grpc-js has no client-side health checking).
 */
import { type Channel, credentials, Channel as GrpcChannel, status } from '@grpc/grpc-js';
import { createClientFactory } from 'nice-grpc';
import { type OperatorFunction, of } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBalancedChannel } from '../../../src/grpc/balanced-channel.js';
import { retryOnAnotherInstance } from '../../../src/grpc/retry-on-another-instance.js';
import type { Update } from '../../../src/instance.js';
import { diff } from '../../../src/operators/diff.js';
import { leastRequest } from '../../../src/operators/least-request.js';
import { peakEwma } from '../../../src/operators/peak-ewma.js';
import { roundRobin } from '../../../src/operators/round-robin.js';
import { weightedRoundRobin } from '../../../src/operators/weighted-round-robin.js';
import type { Picker } from '../../../src/picker.js';
import { type EchoServer, startEchoServers } from '../../support/echo-server.js';
import { EchoService } from '../../support/echo-service.js';
import { type HealthServer, startHealthServers } from '../../support/health-server.js';
import { type Outcome, unary } from './calls.js';
import { conformanceReport } from './report.js';
import { ROUND_ROBIN } from './sides.js';

const report = conformanceReport('gray-failures');
let servers: EchoServer[] = [];
const channels: Channel[] = [];
let healthServers: HealthServer[] = [];
afterEach(() => {
  for (const channel of channels.splice(0)) channel.close();
  for (const server of servers) server.stop();
  for (const server of healthServers.splice(0)) server.stop();
});

const CALLERS = 16;
const RUN_MS = 3_000;

/**
 * grpc-js's outlier_detection over round_robin with A50's failure-percentage ejection, in the
 * service config's JSON as grpc-js reads it: A50's defaults, but `minimum_hosts` 3 (5 by
 * default, more than these backends) and an interval of 1 s (10 s by default, longer than the
 * run); `max_ejection_percent` 50 as rxlb's (10 by default: no backend of 3).
 */
const OUTLIER_DETECTION = JSON.stringify({
  loadBalancingConfig: [
    {
      outlier_detection: {
        interval: { seconds: 1, nanos: 0 },
        max_ejection_percent: 50,
        failure_percentage_ejection: {
          threshold: 85,
          enforcement_percentage: 100,
          minimum_hosts: 3,
          request_volume: 50,
        },
        child_policy: [{ round_robin: {} }],
      },
    },
  ],
});

type Policy = () => OperatorFunction<readonly Update[], Picker>;
const POLICIES: readonly (readonly [string, Policy])[] = [
  ['roundRobin()', () => roundRobin()],
  ['weightedRoundRobin()', () => weightedRoundRobin()],
  ['leastRequest()', () => leastRequest()],
  ['peakEwma()', () => peakEwma()],
];

/** `CALLERS` callers on `channel` for `RUN_MS`, each sending `request` call after call. */
async function traffic(channel: Channel, failWith: status, failOn: string): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const end = performance.now() + RUN_MS;
  const caller = async () => {
    while (performance.now() < end) {
      const request = { text: '', failWith, failOn };
      outcomes.push(await unary(channel, { request, deadlineMs: 5_000 }));
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, caller));
  return outcomes;
}

const share = (outcomes: readonly Outcome[]) =>
  outcomes.filter((o) => o.code !== status.OK).length / outcomes.length;
const percent = (value: number) => `${(100 * value).toFixed(1)} %`;

describe('conformance: one backend of three fails every call at once', () => {
  it.each([
    ['INTERNAL', status.INTERNAL],
    ['UNAVAILABLE (sent by the server)', status.UNAVAILABLE],
  ] as const)(
    'with %s: every rxlb policy fails at most max(5 percent, 1.5 times) what grpc-js with A50 failure-percentage ejection fails',
    async (name, code) => {
      servers = await startEchoServers(3);
      const addresses = servers.map((server) => server.address);
      const failOn = addresses[2] as string;
      const grpcJs = (config: string) =>
        new GrpcChannel(`ipv4:${addresses.join(',')}`, credentials.createInsecure(), {
          'grpc.service_config': config,
        });
      const sides: [string, Channel][] = [
        ['grpc-js round_robin', grpcJs(ROUND_ROBIN)],
        ['grpc-js round_robin + outlier_detection', grpcJs(OUTLIER_DETECTION)],
        ...POLICIES.map(([label, policy]): [string, Channel] => [
          label,
          createBalancedChannel(of(addresses).pipe(diff(), policy()), { name: 'echo' }),
        ]),
      ];
      channels.push(...sides.map(([, channel]) => channel));
      // Connected first: a call each, waiting for a backend.
      await Promise.all(sides.map(([, c]) => unary(c, { waitForReady: true, deadlineMs: 5_000 })));
      const results = await Promise.all(
        sides.map(
          async ([label, channel]) => [label, await traffic(channel, code, failOn)] as const,
        ),
      );
      const failed = new Map(results.map(([label, outcomes]) => [label, share(outcomes)]));
      const calls = new Map(results.map(([label, outcomes]) => [label, outcomes.length]));
      const cell = (labels: readonly string[]) =>
        labels.map((l) => `${l}: ${percent(failed.get(l) ?? 1)} of ${calls.get(l)}`).join('; ');
      report({
        scenario: `1 of 3 backends answers every call with ${name} at once, ${CALLERS} callers, ${RUN_MS / 1000} s, default options, no retry: failed calls`,
        rxlb: cell(POLICIES.map(([label]) => label)),
        'grpc-js': cell(['grpc-js round_robin', 'grpc-js round_robin + outlier_detection']),
      });
      const reference = failed.get('grpc-js round_robin + outlier_detection') ?? 1;
      const bound = Math.max(0.05, 1.5 * reference);
      for (const [label] of POLICIES) {
        expect(failed.get(label), label).toBeLessThanOrEqual(bound);
      }
      // the control: round robin alone sends the failing backend its third
      expect(failed.get('grpc-js round_robin')).toBeGreaterThan(0.25);
    },
    30_000,
  );
});

describe('conformance: a retry storm, every backend answering UNAVAILABLE', () => {
  it('sends at most 1.25 attempts per call plus the floor of its budget (3 without a budget)', async () => {
    servers = await startEchoServers(6); // three for each side: attempts are counted at the servers
    const ours = servers.slice(0, 3).map((server) => server.address);
    const theirs = servers.slice(3).map((server) => server.address);
    const failing = { text: '', failWith: status.UNAVAILABLE };
    // grpc-js: its retry policy with gRFC A6's throttling, as its service config takes them
    const grpcJs = new GrpcChannel(`ipv4:${theirs.join(',')}`, credentials.createInsecure(), {
      'grpc.service_config': JSON.stringify({
        loadBalancingConfig: [{ round_robin: {} }],
        methodConfig: [
          {
            name: [{ service: 'rxlb.test.Echo' }],
            retryPolicy: {
              maxAttempts: 3,
              initialBackoff: '0.01s',
              maxBackoff: '0.1s',
              backoffMultiplier: 2,
              retryableStatusCodes: ['UNAVAILABLE'],
            },
          },
        ],
        retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
      }),
    });
    const balanced = createBalancedChannel(of(ours).pipe(diff(), roundRobin()), { name: 'echo' });
    channels.push(grpcJs, balanced);
    const client = createClientFactory()
      .use(retryOnAnotherInstance())
      .create(EchoService, balanced);
    await Promise.all([
      unary(grpcJs, { waitForReady: true, deadlineMs: 5_000 }),
      client.unary({ text: '' }),
    ]);
    const before = servers.map((server) => server.received);
    const end = performance.now() + RUN_MS;
    const run = async (call: () => Promise<unknown>) => {
      let calls = 0;
      const caller = async () => {
        while (performance.now() < end) {
          await call();
          calls++;
        }
      };
      await Promise.all(Array.from({ length: CALLERS }, caller));
      return calls;
    };
    const [rxlbCalls, grpcJsCalls] = await Promise.all([
      run(() => client.unary(failing).catch(() => undefined)),
      run(() => unary(grpcJs, { request: failing, deadlineMs: 5_000 })),
    ]);
    const attempts = (from: number) =>
      servers
        .slice(from, from + 3)
        .reduce((sum, server, i) => sum + server.received - (before[from + i] ?? 0), 0);
    const perCall = (n: number, calls: number) =>
      `${(n / calls).toFixed(2)} attempts per call (${calls} calls)`;
    report({
      scenario: `every backend answers UNAVAILABLE, ${CALLERS} callers, ${RUN_MS / 1000} s, retries up to 3 attempts (rxlb: retryOnAnotherInstance(), default budget; grpc-js: retryPolicy with retryThrottling 10 / 0.1)`,
      rxlb: perCall(attempts(0), rxlbCalls),
      'grpc-js': perCall(attempts(3), grpcJsCalls),
    });
    // the budget: 20 % of the calls, plus 10 a second over its 10 s window
    expect(attempts(0)).toBeLessThanOrEqual(1.25 * rxlbCalls + 10 * 10);
  }, 30_000);
});

describe('conformance: a backend whose health service says NOT_SERVING while discovery lists it', () => {
  it('rxlb sends it no call from 200 ms after it says so (grpc-js, without A17, keeps sending)', async () => {
    healthServers = await startHealthServers(3);
    const addresses = healthServers.map((server) => server.address);
    const sick = healthServers[2] as HealthServer;
    // gRPC's switch, given to both: grpc-js reads the policy and ignores healthCheckConfig
    const healthCheckConfig = { serviceName: '' };
    const grpcJs = new GrpcChannel(`ipv4:${addresses.join(',')}`, credentials.createInsecure(), {
      'grpc.service_config': JSON.stringify({ ...JSON.parse(ROUND_ROBIN), healthCheckConfig }),
    });
    let heardAt: number | undefined;
    const balanced = createBalancedChannel(of(addresses).pipe(diff(), roundRobin()), {
      name: 'echo',
      channelOptions: { 'grpc.service_config': JSON.stringify({ healthCheckConfig }) },
      healthCheck: {
        onHealthChange: ({ address, health }) => {
          if (address === sick.address && health === 'NOT_SERVING') heardAt ??= performance.now();
        },
      },
    });
    channels.push(grpcJs, balanced);
    const sides = [
      ['rxlb', balanced],
      ['grpc-js', grpcJs],
    ] as const;
    await Promise.all(sides.map(([, c]) => unary(c, { waitForReady: true, deadlineMs: 5_000 })));
    const sent: Record<string, { at: number; backend: string | undefined }[]> = {
      rxlb: [],
      'grpc-js': [],
    };
    let running = true;
    const caller = async (side: 'rxlb' | 'grpc-js', channel: Channel) => {
      while (running) {
        const at = performance.now();
        const { backend } = await unary(channel, { deadlineMs: 5_000 });
        sent[side]?.push({ at, backend });
      }
    };
    const load = Promise.all(
      sides.flatMap(([side, channel]) =>
        Array.from({ length: CALLERS }, () => caller(side, channel)),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sickAt = performance.now();
    sick.health.setStatus('unhealthy');
    // the signal: rxlb's channel hears NOT_SERVING; then more calls, 200 ms and beyond
    await vi.waitFor(() => expect(heardAt).toBeDefined(), { interval: 2 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    running = false;
    await load;
    const late = (side: string) => (sent[side] ?? []).filter((c) => c.at >= sickAt + 200);
    const reached = (side: string) => late(side).filter((c) => c.backend === sick.address).length;
    const cell = (side: string) =>
      `${reached(side)} of ${late(side).length} calls sent from 200 ms after the switch reached it`;
    report({
      scenario: `1 of 3 backends says NOT_SERVING on its health service (healthCheckConfig in the service config of both), discovery still lists it, ${CALLERS} callers`,
      rxlb: `${cell('rxlb')} (its channel heard it ${((heardAt ?? Number.NaN) - sickAt).toFixed(0)} ms after)`,
      'grpc-js': cell('grpc-js'),
    });
    expect(late('rxlb').length).toBeGreaterThan(0);
    expect(reached('rxlb')).toBe(0);
    // the control: grpc-js keeps its share going to the backend
    expect(reached('grpc-js')).toBeGreaterThan(0);
  }, 30_000);
});
