import { BitTree } from './bit-tree.js';

/**
 * One period of smooth weighted round robin, precomputed so that a pick is an array index, as
 * round robin's is. See `weightedRoundRobin()` for the rules; this file holds the arithmetic.
 *
 * The schedule is built by earliest-eligible-deadline-first (as pfair schedulers and Linux's
 * EEVDF do): over a period of `W = sum(weights)` slots, a member of weight `w` has `w` picks,
 * the `k`th due in the window `[k·W/w, (k+1)·W/w)`. Each slot takes, among the picks whose
 * window has opened, one whose window closes first. As every window fits, after any `t` slots
 * a member has had `floor(t·w/W)` or `ceil(t·w/W)` picks: its lag behind its exact share stays
 * under one pick, so any window of picks gives it its share ±1.
 * Others bound it less tightly: plain EDF (Envoy's scheduler before its random start) sends
 * the first 99 picks of weights 100:1:…:1 (101 members) to the heavy member, and nginx's smooth
 * WRR lets the lag reach 1.2 picks (weights 1,1,1,6,1,6,1,6,28,1,53; a search of 20,000 random
 * weight lists).
 */
export interface Schedule {
  /** The view member (an index into the list the schedule was built for) of each slot. */
  readonly order: Uint32Array;
  /** Which of its member's picks in the period each slot holds: 0 for the first. */
  readonly jobs: Uint32Array;
  /** Each view member's weight as scheduled: see {@link scheduledWeights}. */
  readonly weights: Uint32Array;
  /** Each view member's position among the picker's members, to compare across views. */
  readonly positions: Int32Array;
  /** Slots in one period: the sum of `weights`. */
  readonly period: number;
}

/**
 * Above this many slots, weights are scaled down: a schedule is built in O(W) time (some 30 to
 * 100 ns a slot) and a picker keeps 16 bytes a slot (the slot's member, its pick's number, and
 * the member laid out), so a schedule costs a few milliseconds and about 1 MiB at worst. The
 * price is precision: an instance's share is rounded to whole slots of 2^16, and at least one.
 */
export const MAX_PERIOD = 2 ** 16;

/**
 * The weight an instance is scheduled with, before scaling: a positive finite weight rounded
 * to the nearest integer, at least 1; 0 (drained) for 0 and negative weights; 1, as for an
 * absent weight, for anything that is not a finite number (NaN, ±Infinity, not a number).
 */
export function readWeight(weight: unknown): number {
  if (typeof weight !== 'number' || !Number.isFinite(weight)) return 1;
  return weight > 0 ? Math.max(1, Math.round(weight)) : 0;
}

/**
 * The weights of `count` view members as scheduled: {@link readWeight} of each; all 1 when all
 * are drained (0), so that calls are never stranded; scaled down in proportion when they add
 * up to more than {@link MAX_PERIOD} (each rounded to the nearest integer, at least 1 unless
 * drained); then divided by their greatest common divisor, so that equal weights schedule as
 * plain round robin does, one slot each.
 */
export function scheduledWeights(count: number, weightOf: (i: number) => unknown): Uint32Array {
  const read = new Float64Array(count);
  let total = 0;
  let max = 0;
  for (let i = 0; i < count; i++) {
    const w = readWeight(weightOf(i));
    read[i] = w;
    total += w;
    max = Math.max(max, w);
  }
  if (total === 0) read.fill(1);
  else if (total > MAX_PERIOD) {
    // Relative to the largest, so that no sum overflows whatever the weights.
    let relative = 0;
    for (let i = 0; i < count; i++) relative += (read[i] as number) / max;
    const scale = MAX_PERIOD / relative;
    for (let i = 0; i < count; i++) {
      const w = read[i] as number;
      read[i] = w > 0 ? Math.max(1, Math.round((w / max) * scale)) : 0;
    }
  }
  let divisor = 0;
  for (let i = 0; i < count && divisor !== 1; i++) divisor = gcd(divisor, read[i] as number);
  const weights = new Uint32Array(count);
  for (let i = 0; i < count; i++) weights[i] = (read[i] as number) / divisor;
  return weights;
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) {
    const r = x % y;
    x = y;
    y = r;
  }
  return x;
}

/** The sum of `weights`: the period of their schedule. */
export function periodOf(weights: Uint32Array): number {
  let period = 0;
  for (let i = 0; i < weights.length; i++) period += weights[i] as number;
  return period;
}

/** Builds one period of the schedule of `weights` (see {@link Schedule}). */
export function buildSchedule(weights: Uint32Array, positions: Int32Array): Schedule {
  const count = weights.length;
  const period = periodOf(weights);
  // scheduledWeights() keeps the period within MAX_PERIOD, plus one slot a member for rounding:
  // anything more is a bug upstream, refused before it allocates (a 2^32-slot period is 32 GiB)
  if (period > MAX_PERIOD + count) {
    throw new RangeError(
      `a schedule of ${period} slots for ${count} members exceeds ${MAX_PERIOD} + ${count}`,
    );
  }
  const order = new Uint32Array(period);
  const jobs = new Uint32Array(period);
  if (isUniform(weights)) {
    for (let slot = 0; slot < period; slot++) order[slot] = slot; // round robin
    return { order, jobs, weights, positions, period };
  }
  // The kth pick of a member of weight w may go in slots ceil(k·W/w) to ceil((k+1)·W/w) - 1.
  // EDF on those integer windows keeps every pick in its window whatever breaks its ties, so
  // ties go first come, first served: O(1) a slot, plus the bit tree's O(log₃₂ W).
  const next = new Uint32Array(count); // each member's next pick, 0-based
  const due = new Uint32Array(count); // the last slot of its window
  const link = new Int32Array(count); // the member after it in its bucket or calendar list
  const head = new Int32Array(period).fill(-1); // members due in each slot, first come first
  const tail = new Int32Array(period);
  const released = new Int32Array(period).fill(-1); // members whose window opens in each slot
  const pending = new BitTree(period); // the slots some open pick is due in
  const open = (m: number) => {
    const d = due[m] as number;
    link[m] = -1;
    if ((head[d] as number) < 0) {
      head[d] = m;
      pending.add(d);
    } else link[tail[d] as number] = m;
    tail[d] = m;
  };
  for (let m = 0; m < count; m++) {
    const w = weights[m] as number;
    if (w === 0) continue;
    due[m] = Math.ceil(period / w) - 1;
    open(m);
  }
  for (let t = 0; t < period; t++) {
    for (let m = released[t] as number; m >= 0; ) {
      const after = link[m] as number;
      open(m);
      m = after;
    }
    const d = pending.first(); // never empty: every window fits in the period
    const m = head[d] as number;
    head[d] = link[m] as number;
    if ((head[d] as number) < 0) pending.delete(d);
    const k = next[m] as number;
    order[t] = m;
    jobs[t] = k;
    const w = weights[m] as number;
    if (k + 1 === w) continue;
    next[m] = k + 1;
    due[m] = Math.ceil(((k + 2) * period) / w) - 1;
    const opens = Math.ceil(((k + 1) * period) / w); // after t: the last window ended at t or later
    link[m] = released[opens] as number;
    released[opens] = m;
  }
  return { order, jobs, weights, positions, period };
}

function isUniform(weights: Uint32Array): boolean {
  for (const w of weights) if (w !== weights[0]) return false;
  return true;
}

/**
 * Where a schedule's slot stands in a period, comparable across schedules of different views
 * of the same members: the fraction of its member's picks done when it is due (`(k+1)/w`),
 * then the member's position. With equal weights every slot stands at 1, so it orders slots
 * by member position, as round robin does.
 */
export interface SlotKey {
  readonly done: number;
  readonly weight: number;
  readonly position: number;
}

export function keyOf(schedule: Schedule, slot: number): SlotKey {
  const m = schedule.order[slot] as number;
  return {
    done: (schedule.jobs[slot] as number) + 1,
    weight: schedule.weights[m] as number,
    position: schedule.positions[m] as number,
  };
}

/** `a` against the key of `slot`: negative, 0 or positive, as `a` stands before, at or after. */
function compareAt(a: SlotKey, schedule: Schedule, slot: number): number {
  const m = schedule.order[slot] as number;
  const done = (schedule.jobs[slot] as number) + 1;
  const weight = schedule.weights[m] as number;
  return a.done * weight - done * a.weight || a.position - (schedule.positions[m] as number);
}

/**
 * The slot to go on from in `schedule` after a pick that stood at `last` in another: the one
 * after the same slot when `schedule` has it (same member, same standing), else the slot that
 * stands next after `last`, else (past the end of the period) the first-standing slot. With
 * equal weights: the first member after the last one picked, as round robin resumes. O(W).
 */
export function resumeSlot(schedule: Schedule, last: SlotKey): number {
  const { period } = schedule;
  let after = -1;
  let afterKey: SlotKey | undefined;
  let first = 0;
  let firstKey = keyOf(schedule, 0);
  for (let slot = 0; slot < period; slot++) {
    const c = compareAt(last, schedule, slot);
    if (c === 0) return slot + 1 < period ? slot + 1 : 0;
    if (c < 0 && (afterKey === undefined || compareAt(afterKey, schedule, slot) > 0)) {
      after = slot;
      afterKey = keyOf(schedule, slot);
    }
    if (compareAt(firstKey, schedule, slot) > 0) {
      first = slot;
      firstKey = keyOf(schedule, slot);
    }
  }
  return after >= 0 ? after : first;
}
