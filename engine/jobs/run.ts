// The bodies of the long jobs, synchronous, run inside a worker thread (engine/worker/job-worker.ts):
//  - recalc: the kernel's integrity_recalc (engine/integrity/bitmap-mode.ts recalculate), from the superblock's
//    recalc_sector, persisting it every RECALC_WRITE_SUPER chunks and on pause; the kernel's keyed-hash rule.
//  - scrub: every block read and verified; position and findings kept in a state file beside the image.
//  - wipe: zeroes with valid tags (engine/commands/wipe.ts), position kept in a state file.
// Each checks shouldStop() between chunks, so a pause lands on a chunk boundary with the position persisted.
import { IntegrityStudioError } from '../errors.js';
import { SB_FLAG_FIXED_HMAC, SB_FLAG_RECALCULATING, SECTOR_SIZE } from '../layout/superblock.js';
import { hasherOptionsFor, openVolume, type Volume, type VolumeOptions } from '../volume.js';
import { TagPool } from './tag-pool.js';
import { openWritable } from '../integrity/writable.js';
import { CHUNK_SECTORS } from '../integrity/target.js';
import { recalculate, RECALC_SECTORS, syncSuperblock } from '../integrity/bitmap-mode.js';
import { wipeRange } from '../commands/wipe.js';
import type { JournalState } from '../integrity/journal-writer.js';
import type { JobRun, JobSpec, UncheckedCounts } from './types.js';
import type { DamageSummary } from '../api.js';
import { appendRecalcRun, markRecalcRunning, PERSIST_MS, resumeJobState, runningMarker, ScanRecorder, writeJobState } from './state.js';

/** What a job reports as it goes (the runner turns it into throttled JobProgress events). */
export interface RawProgress {
  position: number;
  total: number;
  start: number;
  sectors_per_block: number;
  mismatches: number;
  journal: JournalState | null;
  /** scrub: blocks checked so far in this scrub (over its runs) and those passed over as unverifiable, by reason */
  checked_blocks?: number;
  unchecked?: UncheckedCounts;
  read_errors?: number;
  /** scrub: what it found, bounded (counts, the first ranges, a coarse map; the ranges are in its damage log) */
  damage?: DamageSummary;
  /** ISO time the job started (a scrub's first run) and this run started */
  started_at?: string;
  run_started_at?: string;
}

export interface JobControl {
  shouldStop(): boolean;
  progress(p: RawProgress): void;
}

export interface JobOutcome extends RawProgress {
  done: boolean;
}

/** Persist the scrub/wipe position at least this often (sectors): 256 MiB, as the kernel's recalc superblock. */
export const PERSIST_SECTORS = 256 * 2048;

/** The job's open options as the engine opens with them: every field as given (keys back to Buffers: a worker
 *  receives them as Uint8Array), the mode journal by default. */
export function volumeOptionsOf(spec: JobSpec): VolumeOptions {
  const buf = (k?: Uint8Array) => (k ? Buffer.from(k.buffer, k.byteOffset, k.byteLength) : undefined);
  const o = spec.volume ?? {};
  return {
    ...o,
    integrityKey: buf(o.integrityKey),
    journalIntegrityKey: buf(o.journalIntegrityKey),
    journalCryptKey: buf(o.journalCryptKey),
    mode: o.mode ?? 'journal',
  };
}

/**
 * dm_integrity_disable_recalculate(): with fix_hmac, a keyed internal hash needs a journal MAC key; without
 * fix_hmac, any key refuses recalculation (a forged block could get a valid tag) unless legacy_recalculate.
 */
export function recalcRefusal(vol: Volume, legacy = false): string | null {
  if (legacy) return null;
  const keyed = vol.hasher.keyed;
  const jmac = !!vol.options.journalIntegrityKey;
  const refused = vol.sb.flags & SB_FLAG_FIXED_HMAC ? keyed && !jmac : keyed || jmac;
  return refused
    ? 'recalculating with a keyed hash is disabled for security reasons (the kernel requires fix_hmac and --journal-integrity); use --integrity-legacy-recalculate if you really need it'
    : null;
}

/** The run record of a job that ends now. */
function runRecord(spec: JobSpec, startedAt: string, t0: number, result: JobRun['result'], from: number, to: number, extra: Partial<JobRun> = {}): JobRun {
  return {
    job: spec.kind,
    by: spec.by ?? 'cli',
    started_at: startedAt,
    ended_at: new Date().toISOString(),
    duration_ms: Date.now() - t0,
    result,
    from_sector: from,
    to_sector: to,
    ...extra,
  };
}

export function runRecalc(spec: JobSpec, ctl: JobControl): JobOutcome {
  const t0 = Date.now();
  const startedAt = new Date(t0).toISOString();
  const vol = openWritable(spec.device, volumeOptionsOf(spec));
  let from = vol.sb.recalc_sector;
  let recorded = false;
  try {
    const sb = vol.sb;
    const total = vol.geometry.provided_data_sectors;
    if (spec.reset) {
      sb.flags |= SB_FLAG_RECALCULATING;
      sb.recalc_sector = 0;
    } else if (!(sb.flags & SB_FLAG_RECALCULATING)) {
      throw new IntegrityStudioError(`${spec.device} is not recalculating: nothing to recalculate (use --reset to recalculate every tag)`);
    }
    const refusal = recalcRefusal(vol, spec.legacyRecalculate);
    if (refusal) throw new IntegrityStudioError(refusal);
    if (spec.reset) syncSuperblock(vol, vol.mode === 'bitmap');
    const start = sb.recalc_sector;
    from = start;
    // others see that it runs, where and how fast (the position itself is the superblock's, persisted as the kernel)
    const marker = { ...runningMarker(spec.by ?? 'cli'), since: startedAt, from_sector: start, at: startedAt, position_sector: start, bytes_per_second: 0 };
    markRecalcRunning(vol, marker);
    let seen = { t: t0, pos: start };
    const report = () => {
      ctl.progress({
        position: sb.recalc_sector,
        total,
        start,
        sectors_per_block: vol.geometry.sectors_per_block,
        mismatches: 0,
        journal: vol.journalState(),
        started_at: startedAt,
        run_started_at: startedAt,
      });
      const now = Date.now();
      if (now - seen.t < PERSIST_MS) return;
      marker.bytes_per_second = Math.round(((sb.recalc_sector - seen.pos) * SECTOR_SIZE * 1000) / (now - seen.t));
      marker.at = new Date(now).toISOString();
      marker.position_sector = sb.recalc_sector;
      seen = { t: now, pos: sb.recalc_sector };
      markRecalcRunning(vol, marker);
    };
    const pool = new TagPool(hasherOptionsFor(sb, vol.options), vol.geometry.block_size, RECALC_SECTORS * SECTOR_SIZE);
    report();
    let done: boolean;
    try {
      done = recalculate(vol, null, report, () => ctl.shouldStop(), pool);
    } finally {
      pool.close();
    }
    // a finished recalculation clears the flag; recalc_sector then reads as the end
    const at = sb.flags & SB_FLAG_RECALCULATING ? sb.recalc_sector : total;
    recorded = true;
    appendRecalcRun(vol, runRecord(spec, startedAt, t0, done ? 'done' : 'paused', start, at));
    return {
      position: sb.recalc_sector,
      total,
      start,
      sectors_per_block: vol.geometry.sectors_per_block,
      mismatches: 0,
      journal: vol.journalState(),
      started_at: startedAt,
      done,
    };
  } catch (e) {
    if (!recorded) {
      try {
        appendRecalcRun(vol, runRecord(spec, startedAt, t0, 'failed', from, vol.sb.recalc_sector, { error: (e as Error).message }));
      } catch {
        /* the history is best effort; the error below is what matters */
      }
    }
    throw e;
  } finally {
    vol.close();
  }
}

/** `vol` defaults to the spec's device opened read-only (tests give a volume over a fault-injecting device). */
export function runScrub(spec: JobSpec, ctl: JobControl, vol: Volume = openVolume(spec.device, { ...volumeOptionsOf(spec), readOnly: true })): JobOutcome {
  let pool: TagPool | null = null;
  try {
    const t = vol.target;
    const total = vol.geometry.provided_data_sectors;
    const rec = new ScanRecorder(vol, spec, PERSIST_SECTORS);
    const st = rec.st;
    const unchecked = st.unchecked!;
    const start = rec.start;
    const finish = (result: JobRun['result'], error?: string) => rec.finish(result, error);
    pool = new TagPool(hasherOptionsFor(vol.sb, vol.options), vol.geometry.block_size, CHUNK_SECTORS * SECTOR_SIZE);
    t.tagPool = pool;
    const raw = (): RawProgress => ({
      position: st.position_sector,
      total,
      start,
      sectors_per_block: vol.geometry.sectors_per_block,
      mismatches: st.mismatches,
      journal: null,
      checked_blocks: st.checked_blocks,
      unchecked: { ...unchecked },
      read_errors: st.read_errors,
      damage: rec.summary(),
      started_at: st.started_at,
      run_started_at: rec.runStartedAt,
    });
    const report = () => ctl.progress(raw());
    report();
    // others (the dashboard, another CLI) see that this scrub is going on, by whom, and where it is
    rec.begin();
    try {
      while (st.position_sector < total) {
        const s = st.position_sector;
        const n = t.contiguousRun(s, CHUNK_SECTORS);
        const before = t.stats.checked_blocks;
        const skippedBefore = { ...t.stats.unchecked };
        // the position stays at the start of a run the device stopped answering in: its findings so far are
        // dropped (found again on resume)
        const mark = rec.mark();
        try {
          verifyTolerant(
            vol,
            s,
            n,
            (b) => rec.found('bad', b),
            (b) => rec.found('read-error', b),
          );
        } catch (e) {
          if (e instanceof DeviceGone) rec.rollback(mark);
          throw e;
        }
        st.checked_blocks += t.stats.checked_blocks - before;
        unchecked.recalculating += t.stats.unchecked.recalculating - skippedBefore.recalculating;
        unchecked['dirty-bitmap'] += t.stats.unchecked['dirty-bitmap'] - skippedBefore['dirty-bitmap'];
        st.position_sector = s + n;
        report();
        if (st.position_sector < total && ctl.shouldStop()) break;
        rec.step(n);
      }
    } catch (e) {
      let saved = `its position is saved at sector ${st.position_sector}`;
      try {
        finish('failed', (e as Error).message);
      } catch (se) {
        saved = `its position could not be saved (${(se as Error).message})`;
      }
      if (e instanceof DeviceGone) throw new IntegrityStudioError(`${e.message}; the scrub stopped and ${saved}: resume it once the device is back`, 'ENODEV');
      throw e;
    }
    const done = st.position_sector >= total;
    finish(done ? 'done' : 'paused');
    return { ...raw(), done };
  } finally {
    pool?.close();
    vol.close();
  }
}

/** A read that failed in the device (EIO, EILSEQ from a kernel below, or a short read of a device that shrank). */
export function isReadError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return (
    code === 'EIO' ||
    code === 'EILSEQ' ||
    code === 'ENXIO' ||
    code === 'ENODEV' ||
    (code === 'ETRUNC' && !(e instanceof Error && /invalid range/.test(e.message)))
  );
}

/** The device stopped answering altogether (rather than one bad sector): why, or null. */
function deviceGone(vol: Volume, e: unknown): string | null {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENXIO' || code === 'ENODEV') return `${code}: the device is gone`;
  try {
    // sector 0 of each device: a disk that cannot read its superblock area is gone (removed, disconnected)
    const b = Buffer.alloc(SECTOR_SIZE);
    vol.meta.read(b, 0);
    if (vol.data !== vol.meta) vol.data.read(b, 0);
    return null;
  } catch (e2) {
    return `${(e2 as NodeJS.ErrnoException).code ?? 'EIO'}: it no longer reads even its first sector (removed, disconnected or failed)`;
  }
}

/**
 * Verifies [sector, sector + sectors) (one contiguous run). When a read fails, retries block by block, as btrfs
 * scrub separates read errors from checksum errors: unreadable blocks go to onReadError, the rest are verified.
 * Throws DeviceGone when the device no longer reads at all.
 */
export function verifyTolerant(vol: Volume, sector: number, sectors: number, onBad: (s: number) => void, onReadError: (s: number) => void): void {
  const t = vol.target;
  const spb = vol.geometry.sectors_per_block;
  try {
    t.verify(sector, sectors, onBad);
    return;
  } catch (e) {
    if (!isReadError(e)) throw e;
    // the failed read came before any block of the run was counted
  }
  for (let b = sector; b < sector + sectors; b += spb) {
    try {
      t.verify(b, spb, onBad);
    } catch (e) {
      if (!isReadError(e)) throw e;
      const gone = deviceGone(vol, e);
      if (gone) throw new DeviceGone(vol.path, b, gone);
      onReadError(b);
    }
  }
}

export class DeviceGone extends Error {
  constructor(device: string, sector: number, why: string) {
    super(`${device}: the device stopped answering reads at sector ${sector} (${why})`);
  }
}

export function runWipe(spec: JobSpec, ctl: JobControl): JobOutcome {
  const vol = openWritable(spec.device, volumeOptionsOf(spec));
  try {
    const total = vol.geometry.provided_data_sectors;
    const st = resumeJobState(vol, 'wipe', spec.reset);
    const start = st.position_sector;
    let lastPersist = start;
    const at = wipeRange(vol.target, {
      from: start,
      to: total,
      onProgress: (done) => {
        st.position_sector = start + done;
        if (st.position_sector - lastPersist >= PERSIST_SECTORS) {
          // the zeroes and tags before the position are durable before the state file says so
          vol.target.data.flush();
          if (vol.target.meta !== vol.target.data) vol.target.meta.flush();
          writeJobState(vol, st);
          lastPersist = st.position_sector;
        }
        ctl.progress({ position: st.position_sector, total, start, sectors_per_block: vol.geometry.sectors_per_block, mismatches: 0, journal: null });
      },
      shouldStop: () => ctl.shouldStop(),
    });
    st.position_sector = at;
    const done = at >= total;
    st.state = done ? 'done' : 'paused';
    writeJobState(vol, st);
    return { position: at, total, start, sectors_per_block: vol.geometry.sectors_per_block, mismatches: 0, journal: null, done };
  } finally {
    vol.close();
  }
}

export function runJob(spec: JobSpec, ctl: JobControl): JobOutcome {
  switch (spec.kind) {
    case 'recalc':
      return runRecalc(spec, ctl);
    case 'scrub':
      return runScrub(spec, ctl);
    case 'wipe':
      return runWipe(spec, ctl);
    default:
      throw new IntegrityStudioError(`unknown job "${String((spec as { kind: unknown }).kind)}"`);
  }
}
