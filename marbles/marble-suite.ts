import type { Observable } from 'rxjs';

/**
 * One behaviour of an operator as a marble diagram. `test/operators/marbles.test.ts` runs it
 * with RxJS's `TestScheduler` (run mode: one character per frame); `scripts/marbles.ts` draws
 * it into `docs/marbles/`. Marble syntax is RxJS's: `-` frame, `|` complete, `#` error,
 * `^` subscribe, `!` unsubscribe.
 */
export interface MarbleCase<In, Out> {
  /** The behaviour, as a sentence. Also names the diagram: `<suite>-<title in kebab-case>.svg`. */
  readonly title: string;
  /** The source, a cold observable. */
  readonly source: string;
  readonly sourceValues: Readonly<Record<string, In>>;
  /** What the source emits at `#`. */
  readonly sourceError?: unknown;
  /**
   * A second input the operator takes as an argument (e.g. `whenNobody`'s `registered$`), a
   * cold observable: its marbles, values, error and expected subscriptions.
   */
  readonly second?: {
    readonly marbles: string;
    readonly values: Readonly<Record<string, In>>;
    readonly error?: unknown;
    readonly subscriptions?: readonly string[];
  };
  /** When the consumer unsubscribes (the second argument of `expectObservable`). */
  readonly unsubscribe?: string;
  /** Resubscribe this many times after an error: the case pipes `retry(n)` after the operator. */
  readonly retry?: number;
  readonly expected: string;
  readonly expectedValues: Readonly<Record<string, Out>>;
  /** What the output emits at `#`. */
  readonly expectedError?: unknown;
  /** The subscriptions the source must see, one marble per subscription. */
  readonly subscriptions?: readonly string[];
}

/** All cases of one operator, with what the test runner and the diagram script need. */
export interface MarbleSuite<In, Out> {
  /** Prefix of the diagrams' file names, e.g. `'diff'`. */
  readonly name: string;
  /** The operator as the diagrams write it, e.g. `'diff()'`. */
  readonly operator: string;
  /**
   * The operator under test, applied to one run of a case's source (and `second` input, when
   * the case has one), with outputs projected
   * to plain values that `toEqual` can compare. (Method syntax: suites of different types
   * then fit in one `MarbleSuite<unknown, unknown>[]`.)
   */
  pipe(source: Observable<In>, second?: Observable<In>): Observable<Out>;
  /** What the diagrams call a case's `second` input, e.g. `'registered$'`. */
  readonly secondName?: string;
  /** How a source value is written in a diagram's legend. */
  describeInput(value: In): string;
  /** How an output value is written in a diagram's legend. */
  describeOutput(value: Out): string;
  readonly cases: readonly MarbleCase<In, Out>[];
}
