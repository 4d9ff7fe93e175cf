/**
 * The benchmarks' one entry, `npm run bench -- [flags]`:
 *
 * - no flags: every benchmark (micro, macro, convergence, load on Consul, weighted shares,
 *   subsetting, failover, health checks, policies, memory), printed as Markdown with the targets and written
 *   to bench/RESULTS.md.
 * - `--quick`: the same steps, small, in seconds (with `--only` too). Prints only, so that a
 *   check never overwrites the committed results with rough figures.
 * - `--only micro`: the micro table alone, with the targets that read it.
 * - `--only macro [--rounds N] [--cell-ms N]`: the side-by-side unary calls alone (rxlb's
 *   channel, grpc-js round_robin, one plain channel), with the a/b targets and, per
 *   concurrency, the geometric mean of the per-round a/b ratios with its 95 % confidence
 *   interval: how finely this machine can tell the two apart.
 * - `--only policies`: the load-aware policies alone (side by side, a backend turning slow,
 *   their picks beside the floors), with their targets, for focused runs on a policy.
 * - `--only affinity`: ring hash's balance, keys moved and pick cost, zone-aware routing's
 *   local shares, on the pickers, with their targets.
 * - `--only health`: a backend whose health service says NOT_SERVING, then SERVING, through
 *   rxlb's channel checking health and channels that do not, with its targets.
 *
 * Only the full run writes anything.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runAffinity } from './affinity.js';
import { type Backends, startBackends } from './backends.js';
import { FULL, QUICK } from './config.js';
import { runHealth } from './health.js';
import { roundRatios, runMacro } from './macro.js';
import { POLICY_PICK_CASES, runMicro } from './micro.js';
import { runGrayFailures, runPolicyLoad, runTurnSlow } from './policies.js';
import {
  affinitySection,
  healthSection,
  macroTable,
  microTable,
  policySections,
  renderResults,
  targetTable,
} from './report.js';
import { ensureBuilt, loadRxlb, type RxlbApi } from './rxlb.js';
import { ratioInterval } from './stats.js';
import { BACKENDS, runSuite } from './suite.js';
import {
  affinityTargets,
  evaluateTargets,
  healthTargets,
  macroTargets,
  microTargets,
  policyTargets,
} from './targets.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    'cell-ms': { type: 'string' },
  },
});
const config = flags.quick ? QUICK : FULL;

/** One part of the benchmarks, over the backends; prints what it measured. */
const PARTS: Readonly<Record<string, (api: RxlbApi, backends: Backends) => Promise<void>>> = {
  async micro(api, backends) {
    const micro = await runMicro(api, backends.addresses, config.micro);
    console.log(`${targetTable(microTargets({ micro }))}\n\n${microTable(micro)}`);
  },

  async macro(api, backends) {
    // At least two rounds, for an interval (the quick configuration has one).
    const rounds =
      flags.rounds === undefined ? Math.max(2, config.macro.rounds) : Number(flags.rounds);
    if (!(Number.isInteger(rounds) && rounds >= 2)) throw new TypeError('--rounds: an integer ≥ 2');
    const cellMs = flags['cell-ms'] === undefined ? config.macro.cellMs : Number(flags['cell-ms']);
    if (!(Number.isInteger(cellMs) && cellMs >= 100)) {
      throw new TypeError('--cell-ms: an integer ≥ 100');
    }
    const { rows, cells } = await runMacro(api, backends, { ...config.macro, rounds, cellMs });
    const macro = { macro: rows };
    console.log(`${macroTable(macro)}\n\n${targetTable(macroTargets(macro))}\n`);
    for (const concurrency of config.macro.concurrencies) {
      const ratios = roundRatios(cells, 'rxlb', 'grpc-js', concurrency);
      const { mean, low, high } = ratioInterval(ratios);
      const range = `${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)}`;
      console.log(
        `concurrency ${concurrency}: per-round a/b, geometric mean ${mean.toFixed(3)}, 95 % interval ${low.toFixed(3)} to ${high.toFixed(3)} (${ratios.length} rounds; each ${range})`,
      );
    }
  },

  async affinity(api) {
    const affinity = runAffinity(api);
    console.log(`${targetTable(affinityTargets({ affinity }))}\n\n${affinitySection(affinity)}`);
  },

  async health(api, backends) {
    const health = await runHealth(api, backends, config.health);
    console.log(`${targetTable(healthTargets({ health }))}\n\n${healthSection({ health })}`);
  },

  async policies(api, backends) {
    const addresses = backends.addresses.slice(0, 3);
    const micro = await runMicro(api, addresses, config.micro, POLICY_PICK_CASES);
    const load = await runPolicyLoad(api, backends, config.policies.load);
    const turnSlow = await runTurnSlow(api, backends, config.policies.turnSlow);
    const grayFailures = await runGrayFailures(api, backends, config.policies.grayFailures);
    const results = { micro, policies: { load, turnSlow, grayFailures } };
    const sections = policySections(results).join('\n\n');
    console.log(`${targetTable(policyTargets(results))}\n\n${sections}\n\n${microTable(micro)}`);
  },
};

const part = flags.only === undefined ? undefined : PARTS[flags.only];
if (flags.only !== undefined && part === undefined) {
  throw new TypeError(`--only: one of ${Object.keys(PARTS).join(', ')}`);
}
if ((flags.rounds !== undefined || flags['cell-ms'] !== undefined) && flags.only !== 'macro') {
  throw new TypeError('--rounds and --cell-ms go with --only macro');
}

const only = flags.only === undefined ? '' : `, only ${flags.only}`;
console.error(`rxlb benchmarks (${config.name}${only}): node ${process.version}`);
const log = (line: string) => console.error(`  ${line}`);
ensureBuilt(log);
const rxlb = await loadRxlb('dist');
if (part) {
  const backends = await startBackends(BACKENDS);
  try {
    await part(rxlb.api, backends);
  } finally {
    await backends.close();
  }
} else {
  const results = await runSuite(config, rxlb, log);
  const targets = evaluateTargets(results);
  const markdown = `${renderResults(results, targets)}\n`;
  console.log(markdown);
  if (flags.quick) {
    console.error('--quick: bench/RESULTS.md left as it is.');
  } else {
    writeFileSync(new URL('./RESULTS.md', import.meta.url), markdown);
    console.error('wrote bench/RESULTS.md');
  }
  const missed = targets.filter((t) => !t.met).length;
  console.error(`${targets.length - missed} of ${targets.length} targets met`);
}
