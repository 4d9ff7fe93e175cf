import { retry } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { marbleSuites } from '../../marbles/index.js';

// Every case in marbles/ is a test here, so a diagram in docs/marbles/ shows tested behaviour.
for (const suite of marbleSuites) {
  describe(`${suite.operator} marbles`, () => {
    for (const marble of suite.cases) {
      it(marble.title, () => {
        const scheduler = new TestScheduler((actual, expected) => {
          expect(actual).toEqual(expected);
        });
        scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
          const source = cold(marble.source, marble.sourceValues, marble.sourceError);
          const { second: secondCase } = marble;
          const second =
            secondCase && cold(secondCase.marbles, secondCase.values, secondCase.error);
          const output = suite.pipe(source, second);
          expectObservable(
            marble.retry === undefined ? output : output.pipe(retry(marble.retry)),
            marble.unsubscribe,
          ).toBe(marble.expected, marble.expectedValues, marble.expectedError);
          if (marble.subscriptions !== undefined) {
            expectSubscriptions(source.subscriptions).toBe([...marble.subscriptions]);
          }
          if (second && secondCase?.subscriptions !== undefined) {
            expectSubscriptions(second.subscriptions).toBe([...secondCase.subscriptions]);
          }
        });
      });
    }
  });
}
