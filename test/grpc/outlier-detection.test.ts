import { config as rxjsConfig } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { CHANNEL_DEFAULTS } from '../../src/grpc/options.js';
import {
  type Ejectable,
  type EjectionEvent,
  type OutlierDetectionConfig,
  OutlierDetector,
} from '../../src/grpc/outlier-detection.js';
import { manualClock } from '../support/manual-clock.js';

const [a, b, c, d] = ['10.0.0.1:1', '10.0.0.2:1', '10.0.0.3:1', '10.0.0.4:1'];
const BASE = CHANNEL_DEFAULTS.outlierDetection.baseEjectionTime;

/**
 * A detector over backends at `addresses`, with the default options but these, recording what
 * it says; `fail` and `succeed` play the channel's part: the backend counts its connection
 * failures in a row (not while ejected), and the balancer asks for a review at the threshold
 * and ends ejections whose time is up.
 */
function setup(addresses: string[], options: Partial<OutlierDetectionConfig> = {}) {
  const clock = manualClock();
  const events: EjectionEvent[] = [];
  const config: OutlierDetectionConfig = {
    ...CHANNEL_DEFAULTS.outlierDetection,
    clock,
    onEjection: (event) => events.push(event),
    ...options,
  };
  const detector = new OutlierDetector(config, () => 'echo');
  let members: Stub[] = addresses.map(backendAt);
  const byAddress = (address: string) => {
    const found = members.find((member) => member.address === address);
    if (!found) throw new Error(`${address} is no member`);
    return found;
  };
  const ejected = () =>
    new Set(members.filter((member) => member.ejection).map((member) => member.address));
  return {
    detector,
    clock,
    events,
    ejected,
    byAddress,
    fail(address: string, times = 1) {
      const backend = byAddress(address);
      for (let i = 0; i < times; i++) {
        if (backend.ejection) continue;
        backend.consecutiveFailures++;
        backend.lastFailure = `failure #${i + 1}`;
        if (backend.consecutiveFailures >= config.consecutiveFailures) {
          detector.review(backend, members);
        }
      }
    },
    /** `address` ended `ok` calls well and `failed` for its own sake since the last sweep. */
    calls(address: string, ok: number, failed: number) {
      const backend = byAddress(address);
      backend.intervalSuccesses += ok;
      backend.intervalFailures += failed;
    },
    /** An interval's sweep, as the balancer's timer makes it: who was ejected, by which rule. */
    sweep() {
      return detector.sweep(members).map(({ backend, reason }) => [backend.address, reason]);
    },
    succeed(address: string) {
      const backend = byAddress(address);
      if (!backend.ejection) backend.consecutiveFailures = 0;
    },
    /** Moves time on, ending the ejections whose time is up, as the balancer's timer does. */
    advance(ms: number) {
      clock.advance(ms);
      return detector.expire(members).map((member) => member.address);
    },
    /** Discovery's members are now those at `addresses`. */
    retain(addresses: string[]) {
      const left = members.filter((member) => !addresses.includes(member.address));
      members = addresses.map(
        (address) => members.find((member) => member.address === address) ?? backendAt(address),
      );
      return detector.membersChanged(members, left).map((member) => member.address);
    },
  };
}

/** A backend as outlier detection sees it, whose failures the test counts. */
interface Stub extends Ejectable {
  lastFailure: string;
}

function backendAt(address: string): Stub {
  return {
    address,
    consecutiveFailures: 0,
    intervalSuccesses: 0,
    intervalFailures: 0,
    lastFailure: '',
    ejection: undefined,
    ejections: 0,
    returnedAt: 0,
  };
}

describe('OutlierDetector', () => {
  it('ejects a backend at 5 failures in a row, and reports it with the rule', () => {
    const { clock, events, ejected, fail } = setup([a, b]);
    fail(a, 4);
    expect(ejected()).toEqual(new Set());
    fail(a);
    expect(ejected()).toEqual(new Set([a]));
    expect(events).toEqual([
      {
        type: 'ejected',
        service: 'echo',
        address: a,
        reason: 'consecutiveFailures',
        detail: '5 failures in a row',
        lastError: 'failure #1',
        ejections: 1,
        durationMs: BASE,
        until: clock.now() + BASE,
      },
    ]);
  });

  it('returns an ejected backend at once when its connection is made again, saying why', () => {
    const { detector, events, ejected, fail, byAddress } = setup([a, b]);
    fail(a, 5);
    expect(detector.reconnected(byAddress(b))).toBe(false); // not ejected: nothing to say
    expect(detector.reconnected(byAddress(a))).toBe(true);
    expect(ejected()).toEqual(new Set());
    expect(events.map((event) => [event.type, event.address, event.reason])).toEqual([
      ['ejected', a, 'consecutiveFailures'],
      ['unejected', a, 'reconnected'],
    ]);
  });

  it('starts counting again after a success', () => {
    const { ejected, fail, succeed } = setup([a, b]);
    fail(a, 4);
    succeed(a);
    fail(a, 4);
    expect(ejected()).toEqual(new Set());
  });

  it('returns a backend to picking when its ejection time ends, and says when that is', () => {
    const { detector, events, ejected, fail, advance, byAddress } = setup([a, b]);
    fail(a, 5);
    expect(detector.nextExpiry([byAddress(a), byAddress(b)])).toBe(byAddress(a).ejection?.until);
    expect(advance(BASE - 1)).toEqual([]);
    expect(ejected()).toEqual(new Set([a]));
    expect(advance(1)).toEqual([a]);
    expect(ejected()).toEqual(new Set());
    expect(events.at(-1)).toEqual({
      type: 'unejected',
      service: 'echo',
      address: a,
      reason: 'expired',
      ejections: 1,
    });
    expect(detector.nextExpiry([byAddress(a), byAddress(b)])).toBeUndefined();
  });

  it('ejects again for base × n after n ejections in a row, up to maxEjectionTime', () => {
    const { events, fail, advance } = setup([a, b], { maxEjectionTime: 3.5 * BASE });
    const durations: number[] = [];
    for (let i = 0; i < 5; i++) {
      fail(a, 5);
      const event = events.at(-1);
      if (event?.type === 'ejected') durations.push(event.durationMs);
      advance(event?.type === 'ejected' ? event.durationMs : 0);
    }
    expect(durations).toEqual([1, 2, 3, 3.5, 3.5].map((n) => n * BASE));
  });

  it('forgets one ejection for every baseEjectionTime spent in picking', () => {
    const { events, fail, advance } = setup([a, b]);
    const eject = () => {
      fail(a, 5);
      const event = events.at(-1);
      if (event?.type !== 'ejected') throw new Error('not ejected');
      advance(event.durationMs);
      return event.ejections;
    };
    expect([eject(), eject(), eject()]).toEqual([1, 2, 3]);
    advance(2 * BASE);
    expect(eject()).toBe(2);
    advance(10 * BASE);
    expect(eject()).toBe(1);
  });

  it('never ejects more than maxEjectionPercent of the members, then ejects when room is made', () => {
    const { ejected, fail, advance } = setup([a, b, c, d]);
    fail(a, 5);
    advance(1);
    fail(b, 5);
    fail(c, 5);
    expect(ejected()).toEqual(new Set([a, b]));
    advance(BASE - 1);
    expect(ejected()).toEqual(new Set([b]));
    fail(c);
    expect(ejected()).toEqual(new Set([b, c]));
  });

  it('never ejects a single backend at the default 50 %, and does at 100 %', () => {
    const half = setup([a]);
    half.fail(a, 50);
    expect(half.ejected()).toEqual(new Set());
    const all = setup([a], { maxEjectionPercent: 100 });
    all.fail(a, 5);
    expect(all.ejected()).toEqual(new Set([a]));
  });

  it('starts a backend afresh when it returns: failures before it count no more', () => {
    const { ejected, fail, advance, byAddress } = setup([a, b]);
    fail(a, 5);
    advance(BASE);
    expect(byAddress(a).consecutiveFailures).toBe(0);
    fail(a, 4);
    expect(ejected()).toEqual(new Set());
  });

  it('returns a backend discovery removed', () => {
    const { events, ejected, fail, retain } = setup([a, b, c]);
    fail(a, 5);
    retain([b, c]);
    expect(ejected()).toEqual(new Set());
    expect(events.at(-1)).toMatchObject({ type: 'unejected', address: a, reason: 'removed' });
  });

  it('returns the soonest back when discovery shrinks the pool under the share', () => {
    const { events, ejected, fail, advance, retain } = setup([a, b, c, d]);
    fail(a, 5);
    advance(1);
    fail(b, 5);
    expect(retain([a, b, c])).toEqual([a]);
    expect(ejected()).toEqual(new Set([b]));
    expect(events.at(-1)).toMatchObject({ address: a, reason: 'maxEjectionPercent' });
  });

  it('keeps no timer: the balancer that owns the backends wakes it', () => {
    const { clock, fail } = setup([a, b]);
    fail(a, 5);
    expect(clock.pending).toBe(0);
  });

  describe('a throwing onEjection', () => {
    afterEach(() => {
      rxjsConfig.onUnhandledError = null;
    });

    it("does not break ejection; the error goes to RxJS's onUnhandledError", async () => {
      const errors: unknown[] = [];
      rxjsConfig.onUnhandledError = (error) => errors.push(error);
      const boom = new Error('boom');
      const { ejected, fail } = setup([a, b], {
        onEjection: () => {
          throw boom;
        },
      });
      fail(a, 5);
      expect(ejected()).toEqual(new Set([a]));
      await Promise.resolve();
      expect(errors).toEqual([boom]);
    });
  });

  describe("over an interval's calls (gRFC A50)", () => {
    const [e, f] = ['10.0.0.5:1', '10.0.0.6:1'];
    const failurePercentageEjection = {
      threshold: 50,
      enforcementPercentage: 100,
      minimumHosts: 3,
      requestVolume: 10,
    };

    it('ejects by failure percentage a backend whose failed share exceeds the threshold, and starts the counts over', () => {
      const { calls, sweep, events, byAddress } = setup([a, b, c], {
        failurePercentageEjection,
        maxEjectionPercent: 100,
      });
      calls(a, 20, 0);
      calls(b, 9, 11); // 55 %: above 50
      calls(c, 10, 10); // 50 %: not above
      expect(sweep()).toEqual([[b, 'failurePercentage']]);
      expect(events[0]).toMatchObject({
        reason: 'failurePercentage',
        detail: '55 % of 20 calls failed',
      });
      expect([byAddress(a).intervalSuccesses, byAddress(c).intervalFailures]).toEqual([0, 0]);
      expect(sweep()).toEqual([]); // a new interval: nothing counted yet
    });

    it('leaves out backends under requestVolume, and judges none while fewer than minimumHosts qualify', () => {
      const { calls, sweep } = setup([a, b, c], {
        failurePercentageEjection,
        maxEjectionPercent: 100,
      });
      calls(a, 20, 0);
      calls(b, 0, 20);
      calls(c, 0, 9); // under requestVolume: not a candidate, so 2 < minimumHosts
      expect(sweep()).toEqual([]);
      calls(a, 20, 0);
      calls(b, 0, 20);
      calls(c, 5, 5);
      expect(sweep()).toEqual([[b, 'failurePercentage']]);
    });

    it('ejects by success rate the backends further below the mean than stdevFactor / 1000 deviations', () => {
      const successRateEjection = {
        stdevFactor: 1000,
        enforcementPercentage: 100,
        minimumHosts: 5,
        requestVolume: 100,
      };
      const { calls, sweep, events } = setup([a, b, c, d, e, f], {
        successRateEjection,
        maxEjectionPercent: 50,
      });
      for (const x of [a, b, c, d, e]) calls(x, 100, 0);
      calls(f, 40, 60); // rates 100 ×5 and 40: mean 90, stdev 22.4, floor 67.6
      expect(sweep()).toEqual([[f, 'successRate']]);
      expect(events[0]).toMatchObject({ detail: 'success rate 40 % of 100 calls, below 67.6 %' });
    });

    it('enforces an ejection with a chance of enforcementPercentage', () => {
      const draws = [0.5, 0.3];
      const { calls, sweep } = setup([a, b, c], {
        failurePercentageEjection: { ...failurePercentageEjection, enforcementPercentage: 40 },
        maxEjectionPercent: 100,
        random: () => draws.shift() ?? 0,
      });
      const fail = () => {
        calls(a, 20, 0);
        calls(b, 20, 0);
        calls(c, 0, 20);
      };
      fail();
      expect(sweep()).toEqual([]); // 50 ≥ 40: not enforced
      fail();
      expect(sweep()).toEqual([[c, 'failurePercentage']]); // 30 < 40
    });

    it('never ejects more than maxEjectionPercent by its rules either', () => {
      const { calls, sweep } = setup([a, b, c], { failurePercentageEjection });
      calls(a, 0, 20);
      calls(b, 0, 20);
      calls(c, 20, 0);
      expect(sweep()).toEqual([[a, 'failurePercentage']]); // floor(3 × 50 %) = 1
    });
  });
});

describe('OutlierDetector, the edges of its rules', () => {
  const [e, f] = ['10.0.0.5:1', '10.0.0.6:1'];
  const rate = {
    stdevFactor: 1900,
    enforcementPercentage: 100,
    minimumHosts: 3,
    requestVolume: 100,
  };

  it('reviews a backend under the threshold without ejecting it, and says whether it ejected', () => {
    const { detector, events, ejected, byAddress } = setup([a, b]);
    const backend = byAddress(a);
    backend.consecutiveFailures = 4;
    expect(detector.review(backend, [backend, byAddress(b)])).toBe(false);
    expect(ejected()).toEqual(new Set());
    backend.consecutiveFailures = 5;
    expect(detector.review(backend, [backend, byAddress(b)])).toBe(true);
    // already out: a second review changes nothing and says nothing
    backend.consecutiveFailures = 5;
    expect(detector.review(backend, [backend, byAddress(b)])).toBe(false);
    expect(events.map((event) => event.type)).toEqual(['ejected']);
  });

  it('sweeps only when success-rate or failure-percentage ejection is configured', () => {
    const sweeps = (options: Partial<OutlierDetectionConfig>) =>
      setup([a], options).detector.sweeps;
    expect(sweeps({ successRateEjection: undefined, failurePercentageEjection: undefined })).toBe(
      false,
    );
    expect(sweeps({ successRateEjection: rate, failurePercentageEjection: undefined })).toBe(true);
    expect(
      sweeps({
        successRateEjection: undefined,
        failurePercentageEjection: {
          threshold: 50,
          enforcementPercentage: 100,
          minimumHosts: 1,
          requestVolume: 1,
        },
      }),
    ).toBe(true);
  });

  it('ejects by success rate below mean − stdevFactor / 1000 deviations, and reports the whole event', () => {
    const { calls, sweep, events, clock } = setup([a, b, c, d, e], {
      successRateEjection: rate,
      maxEjectionPercent: 100,
    });
    for (const x of [a, b, c, d]) calls(x, 100, 0);
    calls(e, 40, 60); // mean 88, stdev 24: floor 88 − 1.9 × 24 = 42.4
    expect(sweep()).toEqual([[e, 'successRate']]);
    expect(events).toEqual([
      {
        type: 'ejected',
        service: 'echo',
        address: e,
        reason: 'successRate',
        detail: 'success rate 40 % of 100 calls, below 42.4 %',
        lastError: '',
        ejections: 1,
        durationMs: BASE,
        until: clock.now() + BASE,
      },
    ]);
  });

  it('ejects no one by success rate when all are alike (a rate at the floor is not below it)', () => {
    const { calls, sweep } = setup([a, b, c], {
      successRateEjection: rate,
      maxEjectionPercent: 100,
    });
    for (const x of [a, b, c]) calls(x, 50, 50);
    expect(sweep()).toEqual([]);
  });

  it('judges success rates only among backends of requestVolume, once minimumHosts of them have it', () => {
    const half = { ...rate, stdevFactor: 500 };
    const { calls, sweep } = setup([a, b, c, d], {
      successRateEjection: half,
      maxEjectionPercent: 100,
    });
    // d is far worse but has too few calls: not judged, and not counted in the mean
    const interval = (ok: number) => {
      calls(a, 100, 0);
      calls(b, 100, 0);
      calls(c, ok, 100 - ok);
      calls(d, 0, 99);
    };
    interval(10); // three candidates, exactly minimumHosts: c is judged (floor 48.8)
    expect(sweep()).toEqual([[c, 'successRate']]);
    const fewer = setup([a, b, c], { successRateEjection: half, maxEjectionPercent: 100 });
    fewer.calls(a, 100, 0);
    fewer.calls(b, 0, 100);
    fewer.calls(c, 0, 99);
    expect(fewer.sweep()).toEqual([]); // two candidates: too few to judge
  });

  it('never ejects with enforcementPercentage 0, whatever the draw', () => {
    const { calls, sweep } = setup([a, b, c], {
      failurePercentageEjection: {
        threshold: 50,
        enforcementPercentage: 0,
        minimumHosts: 3,
        requestVolume: 10,
      },
      successRateEjection: { ...rate, enforcementPercentage: 0, requestVolume: 10 },
      maxEjectionPercent: 100,
      random: () => 0,
    });
    calls(a, 20, 0);
    calls(b, 20, 0);
    calls(c, 0, 20);
    expect(sweep()).toEqual([]);
  });

  it('does not eject again, nor report, a backend a sweep finds failing while it is out', () => {
    const { calls, sweep, fail, events } = setup([a, b, c], {
      failurePercentageEjection: {
        threshold: 50,
        enforcementPercentage: 100,
        minimumHosts: 3,
        requestVolume: 10,
      },
      maxEjectionPercent: 100,
    });
    fail(c, 5);
    calls(a, 20, 0);
    calls(b, 20, 0);
    calls(c, 0, 20); // calls that were in flight when it was ejected
    expect(sweep()).toEqual([]);
    expect(events.map((event) => [event.type, event.address, event.reason])).toEqual([
      ['ejected', c, 'consecutiveFailures'],
    ]);
  });

  it('says when the soonest ejection ends, whatever the order of the members', () => {
    const { detector, fail, clock, byAddress } = setup([a, b, c, d], { maxEjectionPercent: 100 });
    fail(b, 5);
    const first = clock.now() + BASE;
    clock.advance(1_000);
    fail(a, 5);
    const members = [a, b, c, d].map(byAddress);
    expect(detector.nextExpiry(members)).toBe(first);
    expect(detector.nextExpiry([...members].reverse())).toBe(first);
    expect(detector.nextExpiry([byAddress(a), byAddress(c)])).toBe(first + 1_000);
  });

  it('returns the soonest back first when discovery shrinks the pool, whatever their order', () => {
    const { events, ejected, fail, clock, retain } = setup([a, b, c, d, e, f]);
    fail(c, 5);
    clock.advance(1);
    fail(b, 5);
    clock.advance(1);
    fail(a, 5); // back last
    // three members left, one may stay out: c and b, sooner back, return, in that order
    expect(retain([a, b, c])).toEqual([c, b]);
    expect(ejected()).toEqual(new Set([a]));
    expect(events.slice(-2).map((event) => [event.address, event.reason])).toEqual([
      [c, 'maxEjectionPercent'],
      [b, 'maxEjectionPercent'],
    ]);
  });
});

describe('the system clock of outlier detection', () => {
  it('tells the time of Date.now(), runs a timer once, and cancels one', async () => {
    const { systemClock } = await import('../../src/grpc/outlier-detection.js');
    const before = Date.now();
    expect(systemClock.now()).toBeGreaterThanOrEqual(before);
    expect(systemClock.now()).toBeLessThanOrEqual(Date.now());
    const ran: string[] = [];
    systemClock.setTimer(() => ran.push('kept'), 5);
    const cancel = systemClock.setTimer(() => ran.push('cancelled'), 5);
    cancel();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ran).toEqual(['kept']);
  });
});
