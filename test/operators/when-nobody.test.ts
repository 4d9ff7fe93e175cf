import { defer, NEVER, Subject, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { instanceSet } from '../../marbles/fixtures.js';
import { withDiscovery } from '../../src/discovery.js';
import type { InstanceSet } from '../../src/instance.js';
import type {
  NobodyReport,
  WhenNobodyOptions,
} from '../../src/operators/internal/nobody-options.js';
import { whenNobody } from '../../src/operators/when-nobody.js';
import { record } from '../support/observe.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const C = '10.0.0.3:80';
const nobody = instanceSet();

function marbles(run: (helpers: Parameters<Parameters<TestScheduler['run']>[0]>[0]) => void) {
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(run);
}

/** Pushes sets by hand through whenNobody on a virtual clock; records emissions and reports. */
function harness(options: WhenNobodyOptions) {
  const scheduler = new TestScheduler(() => undefined);
  const source = new Subject<InstanceSet>();
  const log: string[] = [];
  const reports: NobodyReport[] = [];
  const withClock = 'policy' in options && options.policy !== 'keep-last' ? {} : { scheduler };
  const subscription = source
    .pipe(
      whenNobody({
        ...options,
        ...withClock,
        onReport: (report) => {
          reports.push(report);
          log.push(`report ${report.mode}`);
        },
      } as WhenNobodyOptions),
    )
    .subscribe((set) => log.push(`emit ${set.size}`));
  return { scheduler, source, log, reports, subscription };
}

describe('whenNobody() options', () => {
  it.each<[string, unknown, RegExp]>([
    ['not an object', null, /options must be an object/],
    ['an unknown policy', { policy: 'retry' }, /option "policy"/],
    ['a negative grace period', { graceMs: -1 }, /option "graceMs"/],
    ['a grace period as text', { graceMs: '30s' }, /option "graceMs"/],
    // a longer finite delay would make the timer fire after 1 ms: Infinity says for ever
    ['a grace period longer than a timer can wait', { graceMs: 3e9 }, /option "graceMs"/],
    ['a scheduler that is not one', { scheduler: {} }, /option "scheduler"/],
    ['an onReport that is not a function', { onReport: 'log' }, /option "onReport"/],
    ['fallback without registered$', { policy: 'fallback' }, /option "registered\$"/],
    ['panic with a promise', { policy: 'panic', registered$: Promise.resolve() }, /"registered\$"/],
    [
      'a threshold above 100',
      { policy: 'panic', registered$: NEVER, thresholdPercent: 101 },
      /option "thresholdPercent"/,
    ],
    [
      'an option of another policy',
      { policy: 'fail-fast', graceMs: 10 },
      /unknown option "graceMs" for policy "fail-fast"/,
    ],
  ])('throws a TypeError naming the option for %s', (_, options, message) => {
    expect(() => whenNobody(options as WhenNobodyOptions)).toThrow(TypeError);
    expect(() => whenNobody(options as WhenNobodyOptions)).toThrow(message);
    expect(() => whenNobody(options as WhenNobodyOptions)).toThrow(/^whenNobody\(\): /);
  });

  it.each<[string, unknown]>([
    ['a number', 42],
    ['an object without now()', { schedule: () => undefined }],
    ['an object without schedule()', { now: () => 0 }],
    ['a function', () => 0],
  ])('refuses %s as a scheduler', (_, scheduler) => {
    expect(() => whenNobody({ scheduler } as WhenNobodyOptions)).toThrow(
      /^whenNobody\(\): option "scheduler" must be an RxJS SchedulerLike/,
    );
  });

  it('names the policy that needs registered$', () => {
    expect(() => whenNobody({ policy: 'panic' } as WhenNobodyOptions)).toThrow(
      /option "registered\$" must be an Observable of every registered instance for policy "panic"/,
    );
  });

  it('takes policy "keep-last" when named, with its options', () => {
    const scheduler = new TestScheduler(() => undefined);
    expect(() =>
      whenNobody({ policy: 'keep-last', graceMs: 10, scheduler, onReport: () => {} }),
    ).not.toThrow();
  });

  it('keeps the last set for 30 s by default', () => {
    marbles(({ cold, expectObservable }) => {
      const source = cold('a e', { a: instanceSet(A), e: nobody });
      expectObservable(source.pipe(whenNobody())).toBe('a 30000ms e', {
        a: instanceSet(A),
        e: nobody,
      });
    });
  });
});

describe('whenNobody() keep-last', () => {
  it('reports the kept set, then the end of the grace period, before emitting', () => {
    const h = harness({ graceMs: 100 });
    const good = instanceSet(A, B);
    h.source.next(good);
    h.source.next(nobody);
    h.scheduler.flush();
    expect(h.log).toEqual(['emit 2', 'report kept-last', 'report empty', 'emit 0']);
    expect(h.reports[0]).toMatchObject({
      policy: 'keep-last',
      mode: 'kept-last',
      reason: 'no healthy instance: keeping the last 2 instances for up to 100 ms',
      healthy: 0,
      registered: undefined,
      served: good,
    });
    expect(h.reports[1]).toMatchObject({ mode: 'empty', served: nobody });
    expect(h.reports[1]?.reason).toBe('no healthy instance for 100 ms');
  });

  it('reports the recovery and cancels the grace timer', () => {
    const h = harness({ graceMs: 100 });
    h.source.next(instanceSet(A));
    h.source.next(nobody);
    h.source.next(instanceSet(B));
    expect(h.scheduler.actions).toHaveLength(0);
    expect(h.log).toEqual(['emit 1', 'report kept-last', 'report healthy', 'emit 1']);
    expect(h.reports[1]?.reason).toBe('1 instance healthy');
  });

  it('counts the grace period from the first empty set, not from each one', () => {
    const h = harness({ graceMs: 100 });
    h.source.next(instanceSet(A));
    h.source.next(nobody);
    h.scheduler.schedule(() => h.source.next(nobody), 50);
    h.scheduler.flush();
    expect(h.log).toEqual(['emit 1', 'report kept-last', 'report empty', 'emit 0']);
    expect(h.scheduler.now()).toBe(100);
  });

  it('leaves no timer behind when unsubscribed during the grace period', () => {
    const h = harness({ graceMs: 100 });
    h.source.next(instanceSet(A));
    h.source.next(nobody);
    expect(h.scheduler.actions).toHaveLength(1);
    h.subscription.unsubscribe();
    expect(h.scheduler.actions).toHaveLength(0);
    h.scheduler.flush();
    expect(h.log).toEqual(['emit 1', 'report kept-last']);
  });

  it('keeps the last set for ever with graceMs: Infinity, without a timer', () => {
    const h = harness({ graceMs: Number.POSITIVE_INFINITY });
    h.source.next(instanceSet(A));
    h.source.next(nobody);
    h.source.next(nobody);
    expect(h.scheduler.actions).toHaveLength(0);
    expect(h.log).toEqual(['emit 1', 'report kept-last']);
    expect(h.reports[0]?.reason).toBe('no healthy instance: keeping the last 1 instance');
  });

  it('fails fast with graceMs: 0', () => {
    const h = harness({ graceMs: 0 });
    h.source.next(instanceSet(A));
    h.source.next(nobody);
    expect(h.log).toEqual(['emit 1', 'report empty', 'emit 0']);
  });

  it('serves nobody once the grace period is over, until a set with somebody comes', () => {
    const h = harness({ graceMs: 100 });
    h.source.next(instanceSet(A));
    h.source.next(nobody);
    h.scheduler.flush();
    // still nobody: the old set does not come back for another grace period
    h.source.next(instanceSet());
    h.scheduler.flush();
    expect(h.log).toEqual(['emit 1', 'report kept-last', 'report empty', 'emit 0', 'emit 0']);
    h.source.next(instanceSet(B));
    expect(h.log.slice(5)).toEqual(['report healthy', 'emit 1']);
  });

  it('passes on, unreported, a set that only says discovery has not answered yet', () => {
    const h = harness({ graceMs: 100 });
    const unanswered = withDiscovery(instanceSet(), { service: 'greeter', unresolved: 'down' });
    h.source.next(unanswered);
    expect(h.log).toEqual(['emit 0']);
    expect(h.reports).toEqual([]);
    h.source.next(instanceSet(A));
    // after an answer, an empty set is nobody, whatever it says of discovery
    h.source.next(unanswered);
    expect(h.log).toEqual(['emit 0', 'emit 1', 'report kept-last']);
  });

  it('reports an empty first set as having nothing to keep', () => {
    const h = harness({});
    h.source.next(nobody);
    expect(h.reports).toMatchObject([
      { mode: 'empty', reason: 'no healthy instance, and no earlier set to keep' },
    ]);
  });

  it('errors the output when onReport throws, as tap() does', () => {
    const source = new Subject<InstanceSet>();
    const bug = new Error('report bug');
    const seen = record(
      source.pipe(
        whenNobody({
          policy: 'fail-fast',
          onReport: () => {
            throw bug;
          },
        }),
      ),
    );
    source.next(nobody);
    expect(seen.error).toBe(bug);
    expect(source.observed).toBe(false);
  });
});

describe('whenNobody() fail-fast', () => {
  it('reports an empty set it passes through, and the recovery', () => {
    const h = harness({ policy: 'fail-fast' });
    h.source.next(instanceSet(A));
    h.source.next(nobody);
    h.source.next(nobody);
    h.source.next(instanceSet(A));
    expect(h.log).toEqual([
      'emit 1',
      'report empty',
      'emit 0',
      'emit 0',
      'report healthy',
      'emit 1',
    ]);
    expect(h.reports[0]?.reason).toBe('no healthy instance');
  });
});

describe('whenNobody() fallback and panic', () => {
  it('reports a fallback with the number of registered instances', () => {
    const registered$ = new Subject<InstanceSet>();
    const h = harness({ policy: 'fallback', registered$ });
    registered$.next(instanceSet(A, B, C));
    h.source.next(instanceSet(A));
    h.source.next(nobody);
    expect(h.log).toEqual(['emit 1', 'report fallback', 'emit 3']);
    expect(h.reports[0]).toMatchObject({
      policy: 'fallback',
      healthy: 0,
      registered: 3,
      reason: 'no healthy instance: serving the 3 instances registered',
    });
  });

  it('reports a panic with the healthy share and the threshold', () => {
    const registered$ = new Subject<InstanceSet>();
    const h = harness({ policy: 'panic', registered$, thresholdPercent: 75 });
    registered$.next(instanceSet(A, B, C));
    h.source.next(instanceSet(A, B));
    expect(h.reports[0]).toMatchObject({
      mode: 'panic',
      reason: '2 of 3 registered instances healthy (below 75 %): serving all 3',
    });
  });

  it('never panics with thresholdPercent: 0, and serves an empty set when nobody is healthy', () => {
    const registered$ = new Subject<InstanceSet>();
    const h = harness({ policy: 'panic', registered$, thresholdPercent: 0 });
    registered$.next(instanceSet(A, B));
    h.source.next(instanceSet(A));
    h.source.next(nobody);
    expect(h.log).toEqual(['emit 1', 'report empty', 'emit 0']);
  });

  it('serves the empty set when nobody is registered either', () => {
    const registered$ = new Subject<InstanceSet>();
    const h = harness({ policy: 'fallback', registered$ });
    registered$.next(nobody);
    h.source.next(nobody);
    expect(h.reports[0]?.reason).toBe('no instance healthy or registered');
  });

  it('passes an empty set when registered$ completes without an answer', () => {
    const reports: NobodyReport[] = [];
    marbles(({ cold, expectObservable }) => {
      const source = cold('-e-|', { e: nobody });
      const output = source.pipe(
        whenNobody({
          policy: 'fallback',
          registered$: cold('--|'),
          onReport: (report) => reports.push(report),
        }),
      );
      expectObservable(output).toBe('--e|', { e: nobody });
    });
    expect(reports).toMatchObject([
      { mode: 'empty', reason: 'no healthy instance, and registered$ ended unanswered' },
    ]);
  });

  it('never subscribes to the source when registered$ fails as it is subscribed', () => {
    const failure = new Error('no catalog');
    let subscribed = 0;
    const source = defer(() => {
      subscribed += 1;
      return NEVER;
    });
    const registered$ = throwError(() => failure);
    const seen = record(source.pipe(whenNobody({ policy: 'panic', registered$ })));
    expect(seen.error).toBe(failure);
    expect(subscribed).toBe(0);
  });
});
