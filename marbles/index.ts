import { chooseDatacenterMarbles, minHealthyMarbles } from './choose-datacenter.marbles.js';
import { diffMarbles } from './diff.marbles.js';
import { leastRequestMarbles } from './least-request.marbles.js';
import type { MarbleSuite } from './marble-suite.js';
import { peakEwmaMarbles } from './peak-ewma.marbles.js';
import { ringHashMarbles } from './ring-hash.marbles.js';
import { roundRobinMarbles } from './round-robin.marbles.js';
import { subsetMarbles } from './subset.marbles.js';
import { weightedRoundRobinMarbles } from './weighted-round-robin.marbles.js';
import {
  failFastMarbles,
  fallbackMarbles,
  keepLastMarbles,
  panicMarbles,
} from './when-nobody.marbles.js';
import { zoneAwareMarbles } from './zone-aware.marbles.js';

/** Every operator's marble cases: what the tests run and `npm run marbles` draws. */
export const marbleSuites: readonly MarbleSuite<unknown, unknown>[] = [
  diffMarbles,
  roundRobinMarbles,
  weightedRoundRobinMarbles,
  subsetMarbles,
  leastRequestMarbles,
  peakEwmaMarbles,
  ringHashMarbles,
  zoneAwareMarbles,
  keepLastMarbles,
  failFastMarbles,
  fallbackMarbles,
  panicMarbles,
  chooseDatacenterMarbles,
  minHealthyMarbles,
];
