/**
 * The demo's `--policy <name>` flag: the policy it balances with, and the slow-server run that
 * comes with it. Add a policy to {@link DEMO_POLICIES} and the flag accepts it.
 */
import type { OperatorFunction } from 'rxjs';
import { leastRequest, type Picker, peakEwma, roundRobin, type Update } from '../../src/index.js';

export interface DemoPolicyEntry {
  /** The operator as the demo names it, e.g. `leastRequest()`. */
  readonly label: string;
  readonly operator: () => OperatorFunction<readonly Update[], Picker>;
}

export const DEMO_POLICIES = {
  'round-robin': { label: 'roundRobin()', operator: () => roundRobin() },
  'least-request': { label: 'leastRequest()', operator: () => leastRequest() },
  'peak-ewma': { label: 'peakEwma()', operator: () => peakEwma() },
} as const satisfies Readonly<Record<string, DemoPolicyEntry>>;

export type DemoPolicy = keyof typeof DEMO_POLICIES;

function isDemoPolicy(name: string): name is DemoPolicy {
  return Object.hasOwn(DEMO_POLICIES, name);
}

export const USAGE = `usage: npm start [-- --policy <${Object.keys(DEMO_POLICIES).join('|')}> | -- --failover]

Without flags: round robin while one server is killed and another added.
With --policy: that policy while one server turns slow for a phase.
With --failover: two datacenters, the client's going dark and coming back.`;

/** The policy `argv` names, undefined without the flag; a `TypeError` for anything else. */
export function readPolicyFlag(argv: readonly string[]): DemoPolicy | undefined {
  if (argv.length === 0) return undefined;
  const [flag, name, ...rest] = argv;
  const value = flag?.startsWith('--policy=') ? flag.slice('--policy='.length) : name;
  const extra = flag?.startsWith('--policy=') ? [name, ...rest] : rest;
  if (
    !(flag === '--policy' || flag?.startsWith('--policy=')) ||
    extra.some((a) => a !== undefined)
  ) {
    throw new TypeError(`unexpected argument ${JSON.stringify(flag)}`);
  }
  if (value === undefined || !isDemoPolicy(value)) {
    throw new TypeError(`unknown policy ${JSON.stringify(value ?? '')}`);
  }
  return value;
}
