// `npm run torture`: the big versions of the crash and fuzz torture. Prints counts; exits 1 on any violation.
//   TORTURE_SEED (default: time-based, printed), TORTURE_CRASH_POINTS per configuration (default 2500),
//   TORTURE_FUZZ_CASES (default 3000), TORTURE_HANG_MS (a fuzz case slower than this is a hang; default 120000),
//   TORTURE_HOST_FRAMES (frames of the host fuzz against a real serve with a recalculation running; default 100000),
//   TORTURE_ONLY=crash|fuzz|host runs one campaign.
import { crashConfigs, describe, runCrash } from './crash.js';
import { Worker } from 'node:worker_threads';
import { describeCase, type FuzzCase } from './fuzz.js';
import { runHostTorture } from './host-torture.js';

const seed = Number(process.env.TORTURE_SEED ?? Date.now() % 2 ** 31);
const points = Number(process.env.TORTURE_CRASH_POINTS ?? 2500);
const fuzzCases = Number(process.env.TORTURE_FUZZ_CASES ?? 3000);
const log = (s: string) => process.stdout.write(s + '\n');

log(`torture seed ${seed} (rerun with TORTURE_SEED=${seed})`);
const only = process.env.TORTURE_ONLY;
let crashPoints = 0;
let violations = 0;
let t0 = Date.now();
for (const c of only && only !== 'crash' ? [] : crashConfigs(seed, points, 400)) {
  const r = runCrash(c);
  crashPoints += r.crashPoints;
  // direct mode is expected to break (no journal); it counts as a violation only if it never does
  const bad = c.mode === 'direct' ? (r.verifyFailures ? 0 : 1) : r.violations.length;
  violations += bad;
  log((bad ? 'VIOLATION ' : '') + describe(r));
}
log(`crash: ${crashPoints} crash points, ${violations} violations (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

t0 = Date.now();
// fuzz in a worker: a case that takes longer than HANG_MS is a hang, reported with its seed
const HANG_MS = Number(process.env.TORTURE_HANG_MS ?? 120000);
const fuzz =
  only && only !== 'fuzz'
    ? { cases: 0, typedErrors: 0, validOpens: 0, failures: 0, slowestMs: 0, hung: false }
    : await new Promise<{ cases: number; typedErrors: number; validOpens: number; failures: number; slowestMs: number; hung: boolean }>((resolve) => {
        const w = new Worker(new URL('./fuzz-worker.js', import.meta.url), { workerData: { seed, cases: fuzzCases } });
        let next = '';
        let timer: NodeJS.Timeout | null = null;
        const arm = () => {
          if (timer) clearTimeout(timer);
          timer = setTimeout(() => {
            log(`HANG: fuzz case ${next} took more than ${HANG_MS} ms`);
            void w.terminate();
            resolve({ cases: 0, typedErrors: 0, validOpens: 0, failures: 1, slowestMs: HANG_MS, hung: true });
          }, HANG_MS);
        };
        w.on('message', (m: { type: string; case?: FuzzCase; next?: number; nextImage?: string; sum?: never }) => {
          if (m.type === 'case' && m.case && m.case.outcome !== 'typed-error' && m.case.outcome !== 'valid-open') log(describeCase(m.case));
          if (m.type === 'done') {
            if (timer) clearTimeout(timer);
            resolve({ ...(m.sum as unknown as { cases: number; typedErrors: number; validOpens: number; failures: number; slowestMs: number }), hung: false });
            return;
          }
          next = `${m.nextImage ?? ''} seed ${m.next}`;
          arm();
        });
        w.on('error', (e) => {
          if (timer) clearTimeout(timer);
          log(`fuzz worker failed: ${e.message}`);
          resolve({ cases: 0, typedErrors: 0, validOpens: 0, failures: 1, slowestMs: 0, hung: false });
        });
      });
log(
  `fuzz: ${fuzz.cases} cases, ${fuzz.typedErrors} typed errors, ${fuzz.validOpens} valid opens, ${fuzz.failures} failures, slowest case ${fuzz.slowestMs.toFixed(0)} ms (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
);
const host = only && only !== 'host' ? { failures: 0 } : await runHostTorture(seed, Number(process.env.TORTURE_HOST_FRAMES ?? 100_000), log);
process.exitCode = violations || fuzz.failures || host.failures ? 1 : 0;
