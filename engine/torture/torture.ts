// `npm run torture`: the big versions of the crash and fuzz torture. Prints counts; exits 1 on any violation.
//   TORTURE_SEED (default: time-based, printed), TORTURE_CRASH_POINTS per configuration (default 2500),
//   TORTURE_FUZZ_CASES (default 3000).
import { crashConfigs, describe, runCrash } from './crash.js';
import { describeCase, loadSeeds, runFuzz } from './fuzz.js';

const seed = Number(process.env.TORTURE_SEED ?? Date.now() % 2 ** 31);
const points = Number(process.env.TORTURE_CRASH_POINTS ?? 2500);
const fuzzCases = Number(process.env.TORTURE_FUZZ_CASES ?? 3000);
const log = (s: string) => process.stdout.write(s + '\n');

log(`torture seed ${seed} (rerun with TORTURE_SEED=${seed})`);
let crashPoints = 0;
let violations = 0;
let t0 = Date.now();
for (const c of crashConfigs(seed, points, 400)) {
  const r = runCrash(c);
  crashPoints += r.crashPoints;
  // direct mode is expected to break (no journal); it counts as a violation only if it never does
  const bad = c.mode === 'direct' ? (r.verifyFailures ? 0 : 1) : r.violations.length;
  violations += bad;
  log((bad ? 'VIOLATION ' : '') + describe(r));
}
log(`crash: ${crashPoints} crash points, ${violations} violations (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

t0 = Date.now();
const seeds = loadSeeds(16 << 20);
const sum = runFuzz(seeds, fuzzCases, seed, { writableEvery: 3, maxMs: 30000, onCase: (c) => c.outcome !== 'typed-error' && c.outcome !== 'valid-open' && log(describeCase(c)) });
log(`fuzz: ${sum.cases} cases, ${sum.typedErrors} typed errors, ${sum.validOpens} valid opens, ${sum.failures.length} failures, slowest case ${sum.slowestMs.toFixed(0)} ms (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
process.exitCode = violations || sum.failures.length ? 1 : 0;
