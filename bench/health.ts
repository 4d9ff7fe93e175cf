/**
 * Client-side health checking (gRFC A17): how long after a backend's health service says
 * NOT_SERVING calls stop reaching it, and how soon after SERVING they come back, through rxlb's
 * channel checking health, beside channels that do not check (rxlb's by default, and grpc-js's
 * round_robin: grpc-js has no A17), while discovery keeps listing the backend (a static list
 * here; Consul's check would notice at its next `interval`, 10 s by default).
 *
 * Five servers with nice-grpc-server-health in the backends' process; the last one's health
 * service is switched while `concurrency` callers go on. The time to no more calls is from the
 * moment the switch is sent (the backends' process hears it over IPC) to the start of the
 * last call that reached the backend; a call that started in the last `windowMs` before it
 * says SERVING again means the calls never stopped. The time back is from SERVING to the start
 * of the first call that reached it after.
 */
import type { Channel } from '@grpc/grpc-js';
import { of } from 'rxjs';
import type { Backends } from './backends.js';
import { roundRobinChannel } from './channels.js';
import { runLoad, unaryCaller } from './load.js';
import { rotate } from './macro.js';
import type { RxlbApi } from './rxlb.js';
import { sleep } from './stats.js';

export interface HealthBenchConfig {
  /** Runs of every channel, interleaved. */
  readonly runs: number;
  /** Calls with every backend serving, before NOT_SERVING; then as long NOT_SERVING and SERVING. */
  readonly phaseMs: number;
  readonly windowMs: number;
  readonly concurrency: number;
}

/** How many health servers the channels balance over; the last one is switched. */
export const HEALTH_BACKENDS = 5;

export const HEALTH_CHANNELS = Object.freeze({
  checked: 'rxlb roundRobin(), healthCheck: {}',
  unchecked: 'rxlb roundRobin(), no health check (default)',
  grpcJs: 'grpc-js round_robin (no client-side health checking)',
});

interface HealthChannel {
  readonly name: string;
  open(rxlb: RxlbApi, addresses: readonly string[]): Channel;
}

const CHANNELS: readonly HealthChannel[] = [
  {
    name: HEALTH_CHANNELS.checked,
    open: (rxlb, addresses) =>
      rxlb.createBalancedChannel(of(addresses).pipe(rxlb.diff(), rxlb.roundRobin()), {
        name: 'echo',
        healthCheck: {},
      }),
  },
  {
    name: HEALTH_CHANNELS.unchecked,
    open: (rxlb, addresses) =>
      rxlb.createBalancedChannel(of(addresses).pipe(rxlb.diff(), rxlb.roundRobin()), {
        name: 'echo',
      }),
  },
  { name: HEALTH_CHANNELS.grpcJs, open: (_rxlb, addresses) => roundRobinChannel(addresses) },
];

export interface HealthRow {
  readonly channel: string;
  /** Per run: ms from NOT_SERVING to the start of the last call that reached it; Infinity: never. */
  readonly stoppedMs: readonly number[];
  /** Per run: calls that started after NOT_SERVING was sent and reached it. */
  readonly callsAfter: readonly number[];
  /** Per run: ms from SERVING to the start of the first call that reached it after. */
  readonly backMs: readonly number[];
}

/** One call: when it started (performance.now()) and whether the switched backend served it. */
interface Sample {
  readonly at: number;
  readonly switched: boolean;
}

/**
 * When calls stopped reaching the switched backend, from `sickAt`: the start of the last one
 * before `wellAt`, 0 when none, Infinity when one started in the last `windowMs` before it.
 */
export function stoppedAfter(
  samples: readonly Sample[],
  sickAt: number,
  wellAt: number,
  windowMs: number,
): number {
  const reached = samples.filter((s) => s.switched && s.at >= sickAt && s.at < wellAt);
  const last = Math.max(sickAt, ...reached.map((s) => s.at));
  return last >= wellAt - windowMs ? Number.POSITIVE_INFINITY : last - sickAt;
}

async function runOnce(
  rxlb: RxlbApi,
  backends: Backends,
  addresses: readonly string[],
  config: HealthBenchConfig,
  kind: HealthChannel,
) {
  const index = addresses.length - 1;
  const switched = addresses[index];
  const channel = kind.open(rxlb, addresses);
  const call = unaryCaller(channel);
  const samples: Sample[] = [];
  const recorded = async () => {
    const at = performance.now();
    const reply = await call();
    samples.push({ at, switched: reply.backend === switched });
  };
  try {
    await runLoad(recorded, config.concurrency, config.phaseMs / 2); // connections, JIT
    samples.length = 0;
    const load = runLoad(recorded, config.concurrency, 3 * config.phaseMs);
    await sleep(config.phaseMs);
    const sickAt = performance.now();
    await backends.setServing(index, false);
    await sleep(Math.max(0, sickAt + config.phaseMs - performance.now()));
    const wellAt = performance.now();
    await backends.setServing(index, true);
    await load;
    const back = samples.filter((s) => s.switched && s.at >= wellAt).map((s) => s.at);
    return {
      stoppedMs: stoppedAfter(samples, sickAt, wellAt, config.windowMs),
      callsAfter: samples.filter((s) => s.switched && s.at >= sickAt && s.at < wellAt).length,
      backMs: back.length > 0 ? Math.min(...back) - wellAt : Number.POSITIVE_INFINITY,
    };
  } finally {
    channel.close();
    await backends.setServing(index, true);
  }
}

/** Every channel, `runs` times, over the same five health servers. */
export async function runHealth(
  rxlb: RxlbApi,
  backends: Backends,
  config: HealthBenchConfig,
): Promise<HealthRow[]> {
  const addresses = await backends.healthServers(HEALTH_BACKENDS);
  const rows = new Map(
    CHANNELS.map((c) => [
      c.name,
      { stoppedMs: [] as number[], callsAfter: [] as number[], backMs: [] as number[] },
    ]),
  );
  for (let run = 0; run < config.runs; run++) {
    for (const kind of rotate(CHANNELS, run)) {
      const result = await runOnce(rxlb, backends, addresses, config, kind);
      const row = rows.get(kind.name);
      row?.stoppedMs.push(result.stoppedMs);
      row?.callsAfter.push(result.callsAfter);
      row?.backMs.push(result.backMs);
    }
  }
  return [...rows].map(([channel, row]) => ({ channel, ...row }));
}
