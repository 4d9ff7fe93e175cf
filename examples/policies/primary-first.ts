import { type Backends, type Instance, type Picker, policyOperator } from 'rxlb';

/** 0 for a member tagged `primary` in Consul, 1 for a standby. */
const rank = (member: Instance) => (member.tags.includes('primary') ? 0 : 1);

/**
 * Sends every call to the primary (the member tagged `primary`) while it is usable, else to
 * the first usable standby in address order; calls go back to the primary when it returns.
 */
export function primaryFirst() {
  return policyOperator('primaryFirst()', (members: readonly Instance[]): Picker => {
    const instances = [...members].sort(
      (a, b) => rank(a) - rank(b) || (a.address < b.address ? -1 : 1),
    );
    return {
      instances,
      // The channel hands the usable backends in the order of `instances`, never an empty
      // list; without backends (a test, another client), the first member.
      pick: (backends?: Backends) => (backends ? backends.usable[0]?.instance : instances[0]),
    };
  });
}
