/**
 * Affinity and locality (issue #21), measured on the pickers themselves (no network: what
 * is measured is where keys and calls go, which a channel does not change):
 *
 * - ringHash(): over 10,000 keys and 10 backends, the max/mean keys per backend (1 is
 *   perfect); when one of the 10 leaves, the share of the other backends' keys that move
 *   (ideal 0) and the share of all keys that move (ideal 1/10). (A pick's cost at up to 10,000
 *   members is in micro.ts.)
 * - zoneAware({ zone: 'a' }): the share of picks kept in zone a with 3 members in a and 3 in
 *   b (no callers$), and with 1 in a, 3 in b and callers 5 in a, 5 in b (Envoy's rule: a's
 *   share of the members ÷ a's share of the callers = 0.25 ÷ 0.5, so half the calls stay).
 */
import { type OperatorFunction, of, Subject } from 'rxjs';
import { added, backend, call, instance } from '../marbles/fixtures.js';
import type { Instance, Update } from '../src/instance.js';
import type { Backend, Picker } from '../src/picker.js';
import type { RxlbApi } from './rxlb.js';

export interface AffinityResults {
  readonly ring: {
    readonly keys: number;
    readonly backends: number;
    /** Keys on the busiest backend ÷ keys per backend on average. */
    readonly maxOverMean: number;
    /** Of the keys of the 9 that stay, the share whose backend changed when one left. */
    readonly othersMoved: number;
    /** Of all keys, the share whose backend changed. */
    readonly allMoved: number;
  };
  readonly zones: {
    /** 3 in a, 3 in b, no callers$: share of picks in a. */
    readonly balanced: number;
    /** 1 in a, 3 in b, callers 5 in a and 5 in b: share of picks in a. */
    readonly spill: number;
    /** Nobody in a, 3 in b: share of picks in b. */
    readonly nobodyLocal: number;
  };
}

/** The last picker `operator` makes of `batches`, emitted synchronously. */
function pickerOf(
  batches: readonly (readonly Update[])[],
  operator: OperatorFunction<readonly Update[], Picker>,
): Picker {
  const source = new Subject<readonly Update[]>();
  let last: Picker | undefined;
  const subscription = source.pipe(operator).subscribe((picker) => {
    last = picker;
  });
  for (const batch of batches) source.next(batch);
  subscription.unsubscribe();
  if (!last) throw new Error('no picker');
  return last;
}

const members = (n: number, meta?: (i: number) => Record<string, string>) =>
  Array.from({ length: n }, (_, i) =>
    instance(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:50051`, {
      meta: meta?.(i) ?? {},
    }),
  );

const usableOf = (list: readonly Instance[]): { usable: readonly Backend[] } => ({
  usable: list.map((member) => backend(member)),
});

function ringResults(rxlb: RxlbApi, keys: number): AffinityResults['ring'] {
  const ten = members(10);
  const ring = rxlb.ringHash({ key: 'x-user-id' });
  const before = pickerOf([ten.map(added)], ring);
  const gone = ten[3] as Instance;
  const after = pickerOf(
    [ten.map(added), [{ op: 'delete', address: gone.address }]],
    rxlb.ringHash({ key: 'x-user-id' }),
  );
  const all = usableOf(ten);
  const rest = usableOf(ten.filter((member) => member !== gone));
  const counts = new Map<string, number>();
  let others = 0;
  let othersMoved = 0;
  let allMoved = 0;
  for (let k = 0; k < keys; k++) {
    const c = call({ 'x-user-id': `user-${k}` });
    const first = before.pick(all, c)?.address ?? '';
    const second = after.pick(rest, c)?.address ?? '';
    counts.set(first, (counts.get(first) ?? 0) + 1);
    if (first !== second) allMoved++;
    if (first !== gone.address) {
      others++;
      if (first !== second) othersMoved++;
    }
  }
  const mean = keys / ten.length;
  return {
    keys,
    backends: ten.length,
    maxOverMean: Math.max(...counts.values()) / mean,
    othersMoved: othersMoved / others,
    allMoved: allMoved / keys,
  };
}

function zoneShare(
  rxlb: RxlbApi,
  a: number,
  b: number,
  callers: readonly Instance[] | undefined,
  zone: string,
): number {
  const list = members(a + b, (i) => ({ zone: i < a ? 'a' : 'b' }));
  const picker = pickerOf(
    [list.map(added)],
    rxlb.zoneAware({ zone: 'a', ...(callers && { callers$: of(callers) }) }),
  );
  const usable = usableOf(list);
  const picks = 100_000;
  let inZone = 0;
  for (let i = 0; i < picks; i++) {
    if (picker.pick(usable)?.meta.zone === zone) inZone++;
  }
  return inZone / picks;
}

export function runAffinity(rxlb: RxlbApi, keys = 10_000): AffinityResults {
  const callers = members(10, (i) => ({ zone: i < 5 ? 'a' : 'b' }));
  return {
    ring: ringResults(rxlb, keys),
    zones: {
      balanced: zoneShare(rxlb, 3, 3, undefined, 'a'),
      spill: zoneShare(rxlb, 1, 3, callers, 'a'),
      nobodyLocal: zoneShare(rxlb, 0, 3, undefined, 'b'),
    },
  };
}
