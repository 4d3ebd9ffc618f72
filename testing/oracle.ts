// Test helper: run a shell script in the kernel oracle VM (../shared/oracle/run) with disk images attached.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { SHARED } from './golden.js';
import { skipUnless } from './unavailable.js';

const RUN = path.join(SHARED, 'oracle', 'run');

/** Why the oracle cannot run here, or null when it can. */
export function oracleUnavailable(): string | null {
  if (process.env.INTEGRITY_NO_ORACLE) return 'INTEGRITY_NO_ORACLE is set';
  if (!fs.existsSync(RUN)) return `${RUN} not found`;
  const q = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' });
  if (q.status !== 0) return 'qemu-system-x86_64 is not installed (run ../shared/oracle/setup)';
  if (process.getuid && process.getuid() !== 0) return 'the oracle needs root';
  return null;
}

/**
 * The gate every oracle test starts with: `if (skipWithoutOracle(t)) return;` (or with a release). When the oracle
 * (or that release) cannot start, the test fails under CI=true and skips with the reason elsewhere.
 */
export function skipWithoutOracle(t: TestContext, release?: OracleRelease): boolean {
  const why = release ? releaseUnavailable(release) : oracleUnavailable();
  return skipUnless(t, why && `kernel oracle unavailable: ${why}`);
}

export interface OracleResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `script` (sh source) in the guest with `disks` as /dev/vda, /dev/vdb, …; files copied to /oracle/NAME;
 *  `node`: a folder the guest sees read-only at /project, with the host's node (oracle `run --node`). */
export function runOracle(
  script: string,
  disks: string[],
  opts: { files?: string[]; timeoutSec?: number; env?: Record<string, string>; release?: OracleRelease; node?: string } = {},
): OracleResult {
  const dir = fs.mkdtempSync(path.join(path.dirname(disks[0] ?? '/tmp/x'), 'oracle-'));
  const sh = path.join(dir, 'script.sh');
  fs.writeFileSync(sh, script);
  const args: string[] = [];
  for (const d of disks) args.push('--disk', d);
  for (const f of opts.files ?? []) args.push('--file', f);
  for (const [k, v] of Object.entries(opts.env ?? {})) args.push('--env', `${k}=${v}`);
  if (opts.node) args.push('--node', opts.node);
  const consoleLog = path.join(dir, 'console.log');
  args.push('--console', consoleLog, '--timeout', String(opts.timeoutSec ?? 600), sh);
  const env = opts.release ? { ...process.env, ORACLE_RELEASE: opts.release } : process.env;
  try {
    for (let boot = 1; ; boot++) {
      fs.rmSync(consoleLog, { force: true });
      const r = spawnSync(RUN, args, { encoding: 'utf8', maxBuffer: 64 << 20, env });
      const result = { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
      const console = fs.existsSync(consoleLog) ? fs.readFileSync(consoleLog, 'latin1') : '';
      const failed = bootFailedBeforeInit(console, result.status);
      if (boot < 3 && failed) {
        // the emulated guest's kernel died or hung while booting, before its init (and so the script) started:
        // nothing touched the disks, so boot again rather than report the emulator's flake as the test's failure
        process.stderr.write(`oracle: the guest kernel ${failed} while booting, before init ran (boot ${boot}); booting again\n`);
        continue;
      }
      if (boot < 3 && result.status === 125 && /cannot build the --node disk images/.test(result.stderr)) {
        // node-image (set -o pipefail) runs `mke2fs -V | head -n1`: when head exits before mke2fs's second line,
        // mke2fs dies of SIGPIPE and node-image exits silently; nothing was booted, so try again
        process.stderr.write(`oracle: run could not build the --node images (boot ${boot}); trying again\n`);
        continue;
      }
      return result;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A guest console that shows a kernel panic before the kernel started init ("Run /init as init process", printed
 * by init/main.c run_init_process): a boot that failed under emulation (seen once: a fault in enqueue_timer 1.2 s
 * into the 6.12 guest's boot), not anything the script did.
 */
/**
 * How a boot failed before init ran, or null: the kernel panicked (run exits 125), or it hung — the run timed out
 * (124) with a console that shows the kernel booting but never starting init (seen once: 7.2's boot stopped 1 s in,
 * after hpet0, under a fresh-clone CI run). A timeout after init is the script's own, never retried.
 */
export function bootFailedBeforeInit(console: string, status: number): 'panicked' | 'hung' | null {
  if (status === 125 && panickedBeforeInit(console)) return 'panicked';
  if (status === 124 && /^\[\s*\d+\.\d+\]/m.test(console) && !console.includes('Run /init as init process')) return 'hung';
  return null;
}

export function panickedBeforeInit(console: string): boolean {
  const panic = console.indexOf('Kernel panic');
  if (panic < 0 || /sysrq/i.test(console)) return false;
  const init = console.indexOf('Run /init as init process');
  return init < 0 || init > panic;
}

/** The guests the oracle boots (../shared/oracle/releases.sh): Linux 6.1, 6.12 and 7.2. */
export type OracleRelease = 'bookworm' | 'backports' | 'sid';
export const ORACLE_RELEASES: ReadonlyArray<{ release: OracleRelease; kernel: string; integritysetup: string }> = [
  { release: 'bookworm', kernel: '6.1', integritysetup: '2.6.1' },
  { release: 'backports', kernel: '6.12', integritysetup: '2.6.1' },
  { release: 'sid', kernel: '7.2', integritysetup: '2.8.8' },
];

/** Why this release cannot boot here (its setup fails: no network for its first download, …), or null. */
export function releaseUnavailable(release: OracleRelease): string | null {
  if (!releaseChecked.has(release)) releaseChecked.set(release, checkRelease(release));
  return releaseChecked.get(release)!;
}
const releaseChecked = new Map<OracleRelease, string | null>();
function checkRelease(release: OracleRelease): string | null {
  const base = oracleUnavailable();
  if (base) return base;
  const r = spawnSync(path.join(SHARED, 'oracle', 'setup'), [], { encoding: 'utf8', env: { ...process.env, ORACLE_RELEASE: release }, timeout: 900_000 });
  if (r.status !== 0) return `ORACLE_RELEASE=${release} setup failed: ${(r.stderr || r.stdout || '').trim().split('\n').slice(-1)[0]}`;
  return null;
}
