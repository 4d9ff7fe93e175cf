/**
 * gRFC A17's workflow on one backend's record, without a server: Watch streams opened by a
 * fake connection, time moved by hand.
 */
import { status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OpenWatch, ServingStatus, WatchListener } from '../../src/grpc/health-service.js';
import { type HealthCheckConfig, HealthWatch } from '../../src/grpc/health-watch.js';
import { CHANNEL_DEFAULTS } from '../../src/grpc/options.js';
import type { BackendHealth } from '../../src/picker.js';
import { manualClock } from '../support/manual-clock.js';

/** A stream the fake connection opened: the test answers and ends it. */
interface FakeStream {
  readonly service: string;
  readonly listener: WatchListener;
  cancelled: boolean;
  /** The test ended it (the server's status). */
  ended: boolean;
}

/** A backend's health watch on a fake connection, and what it told the backend. */
function setup(options: { random?: () => number } = {}) {
  const clock = manualClock(0);
  const config: HealthCheckConfig = {
    ...CHANNEL_DEFAULTS.healthCheck,
    serviceName: 'echo',
    onHealthChange: undefined,
    clock,
    random: options.random ?? (() => 0.5), // no jitter
  };
  const changes: [BackendHealth, BackendHealth][] = [];
  const backend = {
    address: '10.0.0.1:50051',
    health: 'PENDING' as BackendHealth,
    healthChanged(previous: BackendHealth) {
      changes.push([previous, backend.health]);
    },
  };
  const watch = new HealthWatch(config, backend);
  const streams: FakeStream[] = [];
  const opens: number[] = [];
  const open: OpenWatch = (service, listener) => {
    const stream: FakeStream = { service, listener, cancelled: false, ended: false };
    streams.push(stream);
    opens.push(clock.now());
    return () => {
      stream.cancelled = true;
    };
  };
  /** The stream opened last, which the test plays the server of. */
  const current = () => {
    const stream = streams.at(-1);
    if (!stream) throw new Error('no stream was opened');
    return stream;
  };
  /** The streams neither cancelled nor ended. */
  const live = () => streams.filter((stream) => !stream.cancelled && !stream.ended);
  const end = (stream: FakeStream, code: status) => {
    stream.ended = true;
    stream.listener.ended(code, 'ended by the test');
  };
  return {
    clock,
    watch,
    backend,
    changes,
    streams,
    opens,
    connect: () => watch.connected(open),
    answer: (answer: ServingStatus) => current().listener.answer(answer),
    end: (code: status) => end(current(), code),
    endStream: end,
    live,
  };
}

describe('HealthWatch: one backend, gRFC A17', () => {
  it('asks about the service name on a new connection, PENDING until the first answer', () => {
    const t = setup();
    t.backend.health = 'SERVING'; // what the previous connection said
    t.connect();
    expect(t.streams.map((s) => s.service)).toEqual(['echo']);
    expect(t.backend.health).toBe('PENDING');
    expect(t.changes).toEqual([]); // the connection's change says so, not the watch
    t.answer('SERVING');
    expect(t.changes).toEqual([['PENDING', 'SERVING']]);
  });

  it('follows every answer: NOT_SERVING and SERVICE_UNKNOWN out, SERVING back, repeats unheard', () => {
    const t = setup();
    t.connect();
    for (const answer of ['SERVING', 'NOT_SERVING', 'NOT_SERVING', 'SERVING'] as const) {
      t.answer(answer);
    }
    t.answer('SERVICE_UNKNOWN');
    expect(t.changes).toEqual([
      ['PENDING', 'SERVING'],
      ['SERVING', 'NOT_SERVING'],
      ['NOT_SERVING', 'SERVING'],
      ['SERVING', 'SERVICE_UNKNOWN'],
    ]);
    expect(t.streams).toHaveLength(1);
  });

  it('takes UNIMPLEMENTED as serving and does not ask that connection again', () => {
    const t = setup();
    t.connect();
    t.end(status.UNIMPLEMENTED);
    expect(t.backend.health).toBe('UNIMPLEMENTED');
    t.clock.advance(600_000);
    expect(t.streams).toHaveLength(1);
    expect(t.watch.watching || t.watch.retrying).toBe(false);
    t.connect(); // a new connection asks again
    expect(t.streams).toHaveLength(2);
  });

  it('opens a stream that ended after an answer again at once, keeping the answer', () => {
    const t = setup();
    t.connect();
    t.answer('NOT_SERVING');
    t.end(status.INTERNAL);
    expect(t.streams).toHaveLength(2);
    expect(t.backend.health).toBe('NOT_SERVING');
    t.answer('SERVING');
    t.end(status.OK); // a server that ends the stream is a broken stream too
    expect(t.streams).toHaveLength(3);
    expect(t.backend.health).toBe('SERVING');
  });

  it("backs off between attempts that end without an answer, as gRPC's connection backoff", () => {
    const t = setup();
    t.connect();
    const ended: number[] = [];
    for (let i = 0; i < 12; i++) {
      ended.push(t.clock.now());
      t.end(status.UNAVAILABLE);
      t.clock.advance(200_000);
    }
    const gaps = t.opens.slice(1).map((at, i) => at - (ended[i] ?? 0));
    expect(gaps.slice(0, 4)).toEqual([1_000, 1_600, 2_560, 4_096]);
    expect(Math.max(...gaps)).toBe(120_000);
    expect(t.backend.health).toBe('PENDING');
    // an answer resets the backoff: the next failure retries at once, the one after after 1 s
    t.answer('SERVING');
    t.end(status.UNAVAILABLE);
    t.end(status.UNAVAILABLE);
    expect(t.watch.retrying).toBe(true);
    t.clock.advance(999);
    expect(t.watch.watching).toBe(false);
    t.clock.advance(1);
    expect(t.watch.watching).toBe(true);
  });

  it('draws each backoff within ±20 %', () => {
    const low = setup({ random: () => 0 });
    const high = setup({ random: () => 0.999_999 });
    for (const t of [low, high]) {
      t.connect();
      t.end(status.UNAVAILABLE);
      t.clock.advance(2_000);
    }
    expect(low.opens).toEqual([0, 800]);
    expect(high.opens[1]).toBeCloseTo(1_200, 0);
  });

  it('stop() cancels the stream and the retry, and hears nothing more of them', () => {
    const t = setup();
    t.connect();
    t.answer('SERVING');
    const first = t.streams[0];
    t.watch.stop();
    expect(first?.cancelled).toBe(true);
    first?.listener.answer('NOT_SERVING');
    first?.listener.ended(status.CANCELLED, 'cancelled');
    expect(t.backend.health).toBe('SERVING'); // a lost connection keeps the last answer
    expect(t.streams).toHaveLength(1);
    t.connect();
    t.end(status.UNAVAILABLE);
    expect(t.watch.retrying).toBe(true);
    t.watch.stop();
    expect(t.clock.pending).toBe(0);
  });

  it("hears nothing of a previous connection's stream that ends late, and keeps the new one", () => {
    const t = setup();
    t.connect();
    t.answer('SERVING');
    const [first] = t.streams;
    t.connect(); // a new connection: a new stream, PENDING again
    if (!first) throw new Error('no first stream');
    t.endStream(first, status.UNIMPLEMENTED);
    expect(t.backend.health).toBe('PENDING');
    expect(t.watch.watching).toBe(true);
    t.answer('NOT_SERVING');
    expect(t.backend.health).toBe('NOT_SERVING');
    expect(t.streams).toHaveLength(2);
  });

  it('keeps A17 over any run of connections, answers, stream ends and time', () => {
    type Step =
      | { kind: 'connect' }
      | { kind: 'disconnect' }
      | { kind: 'answer'; answer: ServingStatus }
      | { kind: 'end'; code: status }
      | { kind: 'wait'; ms: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.constant({ kind: 'connect' as const }),
      fc.constant({ kind: 'disconnect' as const }),
      fc.record({
        kind: fc.constant('answer' as const),
        answer: fc.constantFrom<ServingStatus>(
          'SERVING',
          'NOT_SERVING',
          'SERVICE_UNKNOWN',
          'UNKNOWN',
        ),
      }),
      fc.record({
        kind: fc.constant('end' as const),
        code: fc.constantFrom(status.OK, status.UNAVAILABLE, status.INTERNAL, status.UNIMPLEMENTED),
      }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 200_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const t = setup({ random: Math.random });
        let connected = false;
        let disabled = false; // UNIMPLEMENTED on this connection
        let answered = false; // on the stream open now
        for (const s of steps) {
          const [live] = t.live();
          const before = t.backend.health;
          const opened = t.streams.length;
          if (s.kind === 'connect') {
            t.connect();
            connected = true;
            disabled = false;
            answered = false;
            // a new connection: PENDING, and a stream at once
            expect(t.backend.health).toBe('PENDING');
            expect(t.streams.length).toBe(opened + 1);
          } else if (s.kind === 'disconnect') {
            t.watch.stop();
            connected = false;
            expect(t.backend.health).toBe(before); // a lost connection keeps the last answer
          } else if (s.kind === 'answer') {
            if (!live) continue;
            live.listener.answer(s.answer);
            answered = true;
            expect(t.backend.health).toBe(s.answer);
          } else if (s.kind === 'end') {
            if (!live) continue;
            t.endStream(live, s.code);
            if (s.code === status.UNIMPLEMENTED) {
              disabled = true;
              expect(t.backend.health).toBe('UNIMPLEMENTED');
            } else {
              // a broken stream keeps the backend as it was, and is opened again: at once
              // after an answer, else after a backoff
              expect(t.backend.health).toBe(before);
              expect(t.streams.length).toBe(answered ? opened + 1 : opened);
              expect(t.watch.retrying).toBe(!answered);
            }
            answered = false;
          } else {
            const pending = t.watch.retrying;
            t.clock.advance(s.ms);
            if (pending && !t.watch.retrying) answered = false; // the retry went out
          }
          // one stream at most, open only while connected and not UNIMPLEMENTED; while it is
          // neither open nor waiting to retry, nothing asks
          expect(t.live().length).toBe(t.watch.watching ? 1 : 0);
          const asking = connected && !disabled;
          expect(t.watch.watching || t.watch.retrying).toBe(asking);
          if (asking) expect(t.watch.watching).not.toBe(t.watch.retrying);
        }
        t.watch.stop();
        expect(t.clock.pending).toBe(0);
      }),
    );
  });
});
