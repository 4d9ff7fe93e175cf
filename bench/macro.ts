/**
 * Macro benchmark: unary calls per second and latency through each channel of channels.ts,
 * over the same backends (in a child process) with the same payload. Rows are interleaved:
 * each round runs every channel once per concurrency, in an order rotated from round to round,
 * so that drift in the machine's speed hits every row alike. Rows quote medians over rounds.
 */
import { ConsulTestServer } from '../src/testing/index.js';
import type { Backends } from './backends.js';
import { type ChannelKind, KINDS, openChannel, registerAll } from './channels.js';
import { type LoadResult, runLoad, unaryCaller } from './load.js';
import type { RxlbApi } from './rxlb.js';
import { median } from './stats.js';

export interface MacroConfig {
  readonly rounds: number;
  /** How long each channel runs at each concurrency in each round. */
  readonly cellMs: number;
  /** Load on every channel before the first round (connections, JIT). */
  readonly warmupMs: number;
  readonly concurrencies: readonly number[];
}

/** One channel at one concurrency in one round. */
export interface MacroCell {
  readonly kind: ChannelKind;
  readonly concurrency: number;
  readonly round: number;
  readonly load: LoadResult;
  /** The backends' process CPU use during the cell, in % of one core. */
  readonly serverCpuPercent: number;
}

/** One channel at one concurrency: medians over the rounds. */
export interface MacroRow {
  readonly kind: ChannelKind;
  readonly concurrency: number;
  readonly callsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly clientCpuUsPerCall: number;
  readonly clientCpuPercent: number;
  readonly serverCpuPercent: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  /** Median over rounds of this row's calls/s ÷ the same round's (b) and (c). */
  readonly vsGrpcJs: number;
  readonly vsSingle: number;
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e3;
}

/** `items` rotated left by `by`: a round's order, so that drift hits every row alike. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

async function measureCell(
  call: () => Promise<unknown>,
  backends: Backends,
  concurrency: number,
  durationMs: number,
): Promise<{ load: LoadResult; serverCpuPercent: number }> {
  const before = await backends.cpuUsage();
  const load = await runLoad(call, concurrency, durationMs);
  const after = await backends.cpuUsage();
  const serverCpuPercent = ((cpuMs(after) - cpuMs(before)) / (load.seconds * 1e3)) * 100;
  return { load, serverCpuPercent };
}

/** Each round's calls/s of `kind` ÷ those of `other`, at `concurrency`. */
export function roundRatios(
  cells: readonly MacroCell[],
  kind: ChannelKind,
  other: ChannelKind,
  concurrency: number,
): number[] {
  return cells
    .filter((c) => c.kind === kind && c.concurrency === concurrency)
    .map((cell) => {
      const peer = cells.find(
        (c) => c.kind === other && c.concurrency === concurrency && c.round === cell.round,
      );
      return peer ? cell.load.callsPerSecond / peer.load.callsPerSecond : Number.NaN;
    });
}

function summarize(cells: readonly MacroCell[], kind: ChannelKind, concurrency: number): MacroRow {
  const mine = cells.filter((c) => c.kind === kind && c.concurrency === concurrency);
  const ratio = (other: ChannelKind) => median(roundRatios(cells, kind, other, concurrency));
  const of = (value: (cell: MacroCell) => number) => median(mine.map(value));
  return {
    kind,
    concurrency,
    callsPerSecond: of((c) => c.load.callsPerSecond),
    p50Ms: of((c) => c.load.p50Ms),
    p99Ms: of((c) => c.load.p99Ms),
    clientCpuUsPerCall: of((c) => c.load.cpuUsPerCall),
    clientCpuPercent: of((c) => (c.load.cpuUsPerCall * c.load.callsPerSecond) / 1e4),
    serverCpuPercent: of((c) => c.serverCpuPercent),
    errors: mine.reduce((sum, c) => sum + c.load.errors, 0),
    firstError: mine.find((c) => c.load.firstError !== undefined)?.load.firstError,
    vsGrpcJs: ratio('grpc-js'),
    vsSingle: ratio('single'),
  };
}

/** Runs every channel over the first three of `backends`; returns one row per channel and concurrency. */
export async function runMacro(
  rxlb: RxlbApi,
  backends: Backends,
  config: MacroConfig,
): Promise<{ rows: MacroRow[]; cells: MacroCell[] }> {
  const addresses = backends.addresses.slice(0, 3);
  const consul = await new ConsulTestServer().start();
  const service = 'echo';
  registerAll(consul, service, addresses);
  const channels = KINDS.map((kind) => {
    const channel = openChannel(kind, rxlb, addresses, consul.address, service);
    return { kind, channel, call: unaryCaller(channel) };
  });
  try {
    for (const { call } of channels) {
      for (const concurrency of config.concurrencies) {
        await runLoad(call, concurrency, config.warmupMs / config.concurrencies.length);
      }
    }
    const cells: MacroCell[] = [];
    for (let round = 0; round < config.rounds; round++) {
      for (const concurrency of config.concurrencies) {
        for (const { kind, call } of rotate(channels, round)) {
          const cell = await measureCell(call, backends, concurrency, config.cellMs);
          cells.push({ kind, concurrency, round, ...cell });
        }
      }
    }
    const rows = config.concurrencies.flatMap((concurrency) =>
      KINDS.map((kind) => summarize(cells, kind, concurrency)),
    );
    return { rows, cells };
  } finally {
    for (const { channel } of channels) channel.close();
    await consul.stop();
  }
}
