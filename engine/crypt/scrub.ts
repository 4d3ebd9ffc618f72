// Scrub of a LUKS2 authenticated volume: every encryption sector authenticated, every failing one listed (the
// sectors dm-crypt would log as "INTEGRITY AEAD ERROR"), 0 bytes written to the volume. Resumable as the plain
// scrub: position, findings, run history and the running marker in the same engine/jobs state file
// (IMAGE.scrub.json, named by the dm-integrity salt and size), persisted every PERSIST_SECTORS and on pause. One
// run (cryptScrubRun) for both: a job in a worker thread (runCryptScrub, the dashboard) and the CLI's scrub in its
// own thread (scrubCrypt, yielding between chunks so a signal handler can ask it to pause).
import { CHUNK_SECTORS } from '../integrity/target.js';
import { PERSIST_SECTORS, type JobControl, type JobOutcome, type RawProgress } from '../jobs/run.js';
import { resumeJobState, ScanRecorder, scrubDamage } from '../jobs/state.js';
import { allOf } from '../jobs/damage.js';
import type { JobRun, JobSpec } from '../jobs/types.js';
import { IntegrityStudioError } from '../errors.js';
import { openCryptVolume, type CryptSegment } from './volume.js';

export interface CryptScrubProgress {
  position_sector: number;
  total_sectors: number;
  start_sector: number;
  failed_sectors: number;
}

export interface CryptScrubResult extends CryptScrubProgress {
  state: 'done' | 'paused';
  sectors_per_block: number;
  /** encryption sectors authenticated in this run and the runs it resumed */
  checked_sectors: number;
  /** first 512-byte sector of every encryption sector failing authentication, ascending */
  bad_sectors: number[];
  bad_ranges: Array<[number, number]>;
}

export interface CryptScrubOptions {
  reset?: boolean;
  shouldStop?: () => boolean;
  onProgress?: (p: CryptScrubProgress) => void;
}

/**
 * The crypt scrub in this thread (the CLI): the same run as the job (cryptScrubRun), yielding to the event loop
 * between chunks so a signal handler can ask it to pause. `volumeKey` stays the caller's (a copy is used).
 */
export async function scrubCrypt(path: string, segment: CryptSegment, volumeKey: Uint8Array, o: CryptScrubOptions = {}): Promise<CryptScrubResult> {
  const spec: JobSpec = { kind: 'scrub', device: path, reset: o.reset, by: 'cli', crypt: { segment, volumeKey: new Uint8Array(volumeKey) } };
  const run = cryptScrubRun(
    spec,
    {
      shouldStop: () => o.shouldStop?.() ?? false,
      progress: (p) => o.onProgress?.({ position_sector: p.position, total_sectors: p.total, start_sector: p.start, failed_sectors: p.mismatches }),
    },
    CHUNK_SECTORS,
  );
  for (;;) {
    const step = run.next();
    if (step.done) {
      const r = step.value;
      const spb = r.sectors_per_block;
      // the whole list, from the scrub's damage log (the run kept only a bounded summary in memory)
      const log = scrubDamage(path);
      const bad_ranges = log ? allOf(log, 'bad') : [];
      const bad_sectors: number[] = [];
      for (const [a, b] of bad_ranges) for (let x = a; x < b; x += spb) bad_sectors.push(x);
      return {
        state: r.done ? 'done' : 'paused',
        position_sector: r.position,
        total_sectors: r.total,
        start_sector: r.start,
        failed_sectors: r.mismatches,
        sectors_per_block: spb,
        checked_sectors: r.checked_blocks ?? 0,
        bad_sectors,
        bad_ranges,
      };
    }
    await new Promise((res) => setImmediate(res));
  }
}

/**
 * The crypt scrub as a job of engine/jobs (run synchronously in its worker thread, engine/worker/job-worker.ts):
 * the same state file as scrubCrypt and the plain scrub (position, findings, run history, the running marker), a
 * pause at the next chunk boundary (ctl.shouldStop), progress through ctl.progress. The volume key arrives as
 * bytes in spec.crypt and is zeroed here when the job ends.
 */
/** sectors between two pause checks of the job (1 MiB: a pause lands quickly, the rate is unchanged) */
const JOB_CHUNK_SECTORS = 2048;

export function runCryptScrub(spec: JobSpec, ctl: JobControl): JobOutcome {
  const run = cryptScrubRun(spec, ctl, JOB_CHUNK_SECTORS);
  for (;;) {
    const step = run.next();
    if (step.done) return step.value;
  }
}

/** The run itself, one chunk per step (the caller decides whether to yield to the event loop between steps). */
function* cryptScrubRun(spec: JobSpec, ctl: JobControl, chunk: number): Generator<void, JobOutcome> {
  if (!spec.crypt) throw new IntegrityStudioError('runCryptScrub: no LUKS2 segment and volume key in the job');
  const key = spec.crypt.volumeKey;
  let v: ReturnType<typeof openCryptVolume>;
  try {
    v = openCryptVolume(spec.device, spec.crypt.segment, key, { readOnly: true });
  } finally {
    key.fill(0);
  }
  try {
    const spb = v.spb;
    const total = v.sectors;
    const st0 = resumeJobState(v.integrity, 'scrub', spec.reset);
    st0.total_sectors = total;
    if (st0.position_sector % spb || st0.position_sector > total)
      Object.assign(st0, { position_sector: 0, mismatches: 0, read_errors: 0, damage: undefined, checked_blocks: 0 });
    const rec = new ScanRecorder(v.integrity, spec, PERSIST_SECTORS, st0, spb);
    const st = rec.st;
    const start = rec.start;
    const raw = (): RawProgress => ({
      position: st.position_sector,
      total,
      start,
      sectors_per_block: spb,
      mismatches: st.mismatches,
      journal: null,
      checked_blocks: st.checked_blocks,
      unchecked: { recalculating: 0, 'dirty-bitmap': 0 },
      read_errors: st.read_errors,
      damage: rec.summary(),
      started_at: st.started_at,
      run_started_at: rec.runStartedAt,
    });
    const finish = (result: JobRun['result'], error?: string) => rec.finish(result, error);
    ctl.progress(raw());
    rec.begin();
    try {
      while (st.position_sector < total) {
        const s = st.position_sector;
        const n = Math.min(chunk, total - s);
        const before = v.stats.checked_sectors;
        // crypt_convert_block_aead: a sector whose tag does not authenticate is "INTEGRITY AEAD ERROR, sector N"
        v.read(s, n, null, 0, (bad) => rec.found('bad', bad));
        st.checked_blocks += v.stats.checked_sectors - before;
        st.position_sector = s + n;
        ctl.progress(raw());
        yield;
        if (st.position_sector < total && ctl.shouldStop()) break;
        rec.step(n);
      }
    } catch (e) {
      try {
        finish('failed', (e as Error).message);
      } catch {
        /* the error below is what matters */
      }
      throw e;
    }
    const done = st.position_sector >= total;
    finish(done ? 'done' : 'paused');
    return { ...raw(), done };
  } finally {
    v.close();
  }
}
