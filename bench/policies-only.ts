/**
 * `npx tsx bench/policies-only.ts [--quick]`: only the benchmarks of the load-aware policies
 * (policies side by side, a backend turning slow, their picks beside the floors), with their
 * targets, for focused runs while working on a policy. Prints; writes nothing.
 */
import { startBackends } from './backends.js';
import { FULL, QUICK } from './config.js';
import { POLICY_PICK_CASES, runMicro } from './micro.js';
import { POLICY_BACKENDS, runPolicyLoad } from './policy-load.js';
import { policySections } from './policy-report.js';
import { ensureBuilt, loadRxlb } from './rxlb.js';
import { markdownTable, microTable } from './table.js';
import { policyTargets } from './targets.js';
import { runTurnSlow } from './turn-slow.js';

const config = process.argv.includes('--quick') ? QUICK : FULL;
ensureBuilt((line) => console.error(line));
const { api } = await loadRxlb('dist');
const backends = await startBackends(POLICY_BACKENDS);
try {
  const micro = await runMicro(
    api,
    backends.addresses.slice(0, 3),
    config.micro,
    POLICY_PICK_CASES,
  );
  const load = await runPolicyLoad(api, backends, config.policies.load);
  const turnSlow = await runTurnSlow(api, backends, config.policies.turnSlow);
  const results = { micro, policies: { load, turnSlow } };
  const targets = policyTargets(results);
  console.log(
    markdownTable(
      ['target', 'measured', 'met'],
      targets.map((t) => [t.target, t.measured, t.met ? 'yes' : '**no**']),
    ),
  );
  console.log(`\n${policySections(results).join('\n\n')}\n\n${microTable(micro)}`);
} finally {
  await backends.close();
}
