// `npm run fuzz`: the long fuzz campaign against a real `ca serve` (test/fuzz/campaign.ts says what is checked).
// Prints the seed first (to replay: --seed), then progress, then count, time, the outcome table by input kind
// and every finding with the command that replays it alone. Exit 1 if anything was found.
//
//   npm run fuzz                                  # 10,000 cases, a random seed
//   npm run fuzz -- --cases 50000 --seed 1234     # a longer run, reproducibly
//   npm run fuzz -- --seed 1234 --case 17,4211    # replay single cases of a run
import { parseArgs } from 'node:util';
import { randomInt } from 'node:crypto';
import { formatTable, runCampaign } from './campaign.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    case: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    'check-every': { type: 'string', default: '250' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(
    'npm run fuzz -- [--cases N] [--seed S] [--case i,j,...] [--concurrency C] [--check-every N]\n' +
      '  --cases        malformed inputs to send (default 10000)\n' +
      '  --seed         PRNG seed (default: random, printed); the same seed sends the same cases\n' +
      '  --case         replay only these case indexes of the seed\n' +
      '  --concurrency  cases in flight (default 16)\n' +
      '  --check-every  legitimate join + renewal and state comparison every N cases (default 250)\n',
  );
  process.exit(0);
}
const whole = (v: string, flag: string) => {
  if (!/^\d+$/.test(v)) {
    process.stderr.write(`fuzz: ${flag} takes a whole number, got "${v}"\n`);
    process.exit(2);
  }
  return Number(v);
};
const seed = values.seed === undefined ? randomInt(0, 2 ** 31) : whole(values.seed, '--seed');
const only = values.case?.split(',').map((c) => whole(c.trim(), '--case'));
const cases = whole(values.cases, '--cases');
console.log(`fuzz: seed ${seed}, ${only ? `cases ${only.join(',')}` : `${cases} cases`} (replay with: npm run fuzz -- --seed ${seed}${only ? ` --case ${only.join(',')}` : ''})`);

let lastPrint = 0;
const report = await runCampaign({
  cases,
  seed,
  only,
  concurrency: whole(values.concurrency, '--concurrency'),
  checkEvery: whole(values['check-every'], '--check-every'),
  onProgress: (done, total) => {
    if (done - lastPrint >= 1000 || done === total) {
      lastPrint = done;
      console.log(`fuzz: ${done}/${total} cases`);
    }
  },
});

const seconds = (report.durationMs / 1000).toFixed(1);
console.log(`\nfuzz: ${report.cases} cases in ${seconds} s (${(report.cases / (report.durationMs / 1000)).toFixed(0)} cases/s), seed ${report.seed}`);
console.log(`      ${report.checkpoints} checkpoints (legitimate join + renewal + state comparison), ${report.legitimateJoins} legitimate joins`);
console.log(`      accepted fuzz inputs (valid by construction, checked): ${report.acceptedFuzzJoins} joins, ${report.acceptedFuzzRenewals} renewals`);
console.log(`      valid joins inside damaged framing without an OK: ${report.unansweredValidJoins}; nodes without an accepted answer: ${report.unattributedNodes} (allowed up to the former)`);
console.log(`      nodes in the store at the end: ${report.nodesAtEnd}; CA exit code after the campaign: ${report.caExitCode}\n`);
console.log(formatTable(report));
if (report.findings.length) {
  console.log(`\nfuzz: ${report.findings.length} finding(s):`);
  for (const f of report.findings.slice(0, 100)) {
    const replay = f.index >= 0 ? `  [npm run fuzz -- --seed ${report.seed} --case ${f.index}]` : '';
    console.log(`  #${f.index} ${f.kind} ${f.how} -> ${f.outcome}: ${f.problem}${f.message ? ` (message: ${JSON.stringify(f.message)})` : ''}${replay}`);
  }
  process.exit(1);
}
console.log('\nfuzz: 0 findings (0 crashes, 0 state changes, every reply a clear status)');
process.exit(0);
