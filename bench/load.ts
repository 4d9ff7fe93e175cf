/**
 * The calls of the benchmarks: the one client every row uses, a plain grpc-js `Client` over the
 * channel under test sending the same unary echo request (grpc-js's client is the thinnest
 * there is, so the channel's own cost is as large a share of each call as it can be); a
 * closed-loop load of `concurrency` callers, each starting a call when its last ends; and
 * traffic of the same kind that keeps running while a benchmark changes membership,
 * reporting every call.
 */
import { type Channel, Client, credentials } from '@grpc/grpc-js';
import { type EchoReply, type EchoRequest, EchoService } from '../test/support/echo-service.js';
import { quantile } from './stats.js';

/** The request of every call: 33 bytes of JSON on the wire. */
export const PAYLOAD: EchoRequest = Object.freeze({ text: 'rxlb benchmark payload' });

/** A unary echo call over `channel`; resolves with the reply, which names its backend. */
export function unaryCaller(
  channel: Channel,
  request: EchoRequest = PAYLOAD,
): () => Promise<EchoReply> {
  const client = new Client('', credentials.createInsecure(), { channelOverride: channel });
  const { path, requestSerialize, responseDeserialize } = EchoService.unary;
  return () =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        path,
        requestSerialize,
        responseDeserialize,
        request,
        (error, reply) => {
          if (error) reject(error);
          else if (reply) resolve(reply);
          else reject(new Error('no reply'));
        },
      );
    });
}

export interface LoadResult {
  readonly calls: number;
  readonly errors: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  /** CPU time this process spent per successful call, in µs (user + system). */
  readonly cpuUsPerCall: number;
  /** The first error, if any, for the report. */
  readonly firstError: string | undefined;
}

/** Keeps `concurrency` calls in flight for `durationMs`, then waits for the last ones. */
export async function runLoad(
  call: () => Promise<unknown>,
  concurrency: number,
  durationMs: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + durationMs;
  const caller = async () => {
    for (let t = performance.now(); t < end; t = performance.now()) {
      try {
        await call();
        latencies.push(performance.now() - t);
      } catch (error) {
        errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  const seconds = (performance.now() - start) / 1e3;
  const used = process.cpuUsage(cpu);
  return {
    calls: latencies.length,
    errors,
    seconds,
    callsPerSecond: latencies.length / seconds,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    p999Ms: quantile(latencies, 0.999),
    cpuUsPerCall: (used.user + used.system) / Math.max(1, latencies.length),
    firstError,
  };
}

export interface CallRecord {
  /** `performance.now()` when the call started and when it ended. */
  readonly start: number;
  readonly end: number;
  /** The backend that answered; undefined when the call failed. */
  readonly backend: string | undefined;
}

export interface Traffic {
  /** Calls that failed so far. */
  readonly errors: number;
  readonly calls: number;
  /** Stops starting calls and resolves once the last one has ended. */
  stop(): Promise<void>;
}

/** Calls that keep running while a benchmark changes membership, each reported to `onCall`. */
export function startTraffic(
  call: () => Promise<EchoReply>,
  concurrency: number,
  onCall: (record: CallRecord) => void = () => {},
): Traffic {
  let running = true;
  let calls = 0;
  let errors = 0;
  const caller = async () => {
    while (running) {
      const start = performance.now();
      let backend: string | undefined;
      try {
        backend = (await call()).backend;
        calls += 1;
      } catch {
        errors += 1;
      }
      onCall({ start, end: performance.now(), backend });
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, caller));
  return {
    get errors() {
      return errors;
    },
    get calls() {
      return calls;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}
