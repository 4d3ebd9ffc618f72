// Where scrub and wipe keep their position and findings: ours, not the kernel's, so never in the superblock.
// A small JSON file beside the image (IMAGE.scrub.json), or under INTEGRITY_STUDIO_STATE_DIR (or
// $XDG_STATE_HOME/integrity-studio) when that is set or the image's folder is not writable (block devices).
// The file names the volume by its salt and size, so a state left by another volume is never taken for ours.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Volume } from '../volume.js';
import { IntegrityStudioError } from '../errors.js';
import type { JobKind, JobRun, UncheckedCounts } from './types.js';

/** Runs kept per job (newest last). */
export const MAX_RUNS = 20;

export interface JobStateFile {
  kind: JobKind;
  state: 'paused' | 'done';
  position_sector: number;
  total_sectors: number;
  mismatches: number;
  /** merged [first, end) sector ranges of bad blocks, ascending */
  bad_ranges: Array<[number, number]>;
  checked_blocks: number;
  /** blocks the scrub passed over as unverifiable, by reason (recalculating: at/past recalc_sector; dirty-bitmap) */
  unchecked?: UncheckedCounts;
  /** blocks whose read failed (EIO), as merged [first, end) ranges (issue 12 fills them; 0 / [] until then) */
  read_errors?: number;
  read_error_ranges?: Array<[number, number]>;
  /** ISO time the scrub (from sector 0) started, when it reached the end, and the checking time summed over runs */
  started_at?: string;
  finished_at?: string | null;
  duration_ms?: number;
  /** the last MAX_RUNS runs, newest last */
  runs?: JobRun[];
  /** set while a run is going on: its process (and the pid's start time, to tell a reused pid) and who runs it */
  running?: { pid: number; start: string | null; by: 'cli' | 'dashboard'; since: string } | null;
  /** identity of the volume: salt (hex) and provided_data_sectors */
  volume?: string;
  updated?: string;
}

function volumeId(vol: Volume): string {
  return volumeIdOf(vol.sb);
}

/** The identity a state file records: the superblock's salt and provided_data_sectors. */
export function volumeIdOf(sb: { salt: Uint8Array; provided_data_sectors: number | bigint }): string {
  return `${Buffer.from(sb.salt).toString('hex')}:${sb.provided_data_sectors}`;
}

/** Where state files go when not beside their image (also the live scrub's, engine/live/scrub-state.ts). */
export function stateDir(): string {
  return (
    process.env.INTEGRITY_STUDIO_STATE_DIR ||
    path.join(process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state'), 'integrity-studio')
  );
}

export function jobStatePath(device: string, kind: JobKind): string {
  const abs = path.resolve(device);
  const beside = `${abs}.${kind}.json`;
  const inStateDir = () => path.join(stateDir(), `${abs.replace(/[^A-Za-z0-9._-]+/g, '_')}.${kind}.json`);
  if (process.env.INTEGRITY_STUDIO_STATE_DIR || abs.startsWith('/dev/')) return inStateDir();
  try {
    fs.accessSync(path.dirname(abs), fs.constants.W_OK);
    return beside;
  } catch {
    return inStateDir();
  }
}

export function readJobState(vol: Volume, kind: JobKind): JobStateFile | null {
  return readJobStateAt(jobStatePath(vol.path, kind), volumeId(vol));
}

export function readJobStateAt(file: string, id?: string): JobStateFile | null {
  let j: JobStateFile;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8')) as JobStateFile;
  } catch {
    return null;
  }
  if (!j || typeof j.position_sector !== 'number' || !Array.isArray(j.bad_ranges)) return null;
  if (j.runs !== undefined && !Array.isArray(j.runs)) j.runs = [];
  if (id && j.volume !== id) return null;
  return j;
}

export function writeJobState(vol: Volume, st: JobStateFile): void {
  const file = jobStatePath(vol.path, st.kind);
  try {
    writeJsonDurably(file, { ...st, volume: volumeId(vol), updated: new Date().toISOString() });
  } catch (e) {
    // ENOSPC (a full file system), EIO, EROFS: the saved position is the old file's, and the message says so
    const old = readJobStateAt(file, volumeId(vol));
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new IntegrityStudioError(
      `could not save the ${st.kind} state to ${file}: ${code === 'ENOSPC' ? 'no space left on device (the file system is full)' : (e as Error).message}; ` +
        (old ? `the saved position is still sector ${old.position_sector} (as it was)` : 'no position had been saved before'),
      code,
    );
  }
}

/** Written whole to a temporary, fsynced, renamed over the old file: a crash leaves the old state or the new one. */
export function writeJsonDurably(file: string, body: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  // written whole, made durable, then renamed over the old one: a crash leaves the old state or the new one
  try {
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      const buf = Buffer.from(JSON.stringify(body) + '\n');
      // a full file system may take part of a write before it refuses the rest
      for (let done = 0; done < buf.length; ) done += fs.writeSync(fd, buf, done, buf.length - done);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    // the old file stays as it was; no half-written temporary is left behind
    try { fs.rmSync(tmp, { force: true }); } catch { /* nothing more to do */ }
    throw e;
  }
}

/** Adds the block starting at `sector` to merged ascending ranges (blocks arrive in ascending order). */
export function addBadBlock(ranges: Array<[number, number]>, sector: number, spb: number): void {
  const last = ranges[ranges.length - 1];
  if (last && last[1] === sector) last[1] = sector + spb;
  else ranges.push([sector, sector + spb]);
}

/** The paused state of a scrub or wipe to resume, or a fresh one (also with `reset`). */
export function resumeJobState(vol: Volume, kind: JobKind, reset?: boolean): JobStateFile {
  const previous = readJobState(vol, kind);
  if (!reset && previous && previous.state === 'paused') return { ...previous, unchecked: { recalculating: 0, 'dirty-bitmap': 0, ...previous.unchecked } };
  return {
    kind, state: 'paused', position_sector: 0, total_sectors: vol.geometry.provided_data_sectors, mismatches: 0, bad_ranges: [], checked_blocks: 0,
    unchecked: { recalculating: 0, 'dirty-bitmap': 0 }, read_errors: 0, read_error_ranges: [],
    started_at: new Date().toISOString(), finished_at: null, duration_ms: 0, runs: previous?.runs ?? [],
  };
}

/** Appends a run, keeping the last MAX_RUNS. */
export function pushRun(runs: JobRun[] | undefined, run: JobRun): JobRun[] {
  const out = [...(runs ?? []), run];
  return out.slice(Math.max(0, out.length - MAX_RUNS));
}

/** The recalc history file (jobStatePath(device, 'recalc')): runs only; the position stays in the superblock. */
export interface RecalcHistoryFile {
  kind: 'recalc';
  volume?: string;
  runs: JobRun[];
  updated?: string;
}

export function readRecalcHistory(device: string, id?: string): RecalcHistoryFile | null {
  let j: RecalcHistoryFile;
  try {
    j = JSON.parse(fs.readFileSync(jobStatePath(device, 'recalc'), 'utf8')) as RecalcHistoryFile;
  } catch {
    return null;
  }
  if (!j || j.kind !== 'recalc' || !Array.isArray(j.runs)) return null;
  if (id && j.volume !== id) return null;
  return j;
}

export function appendRecalcRun(vol: Volume, run: JobRun): void {
  const id = volumeId(vol);
  const prev = readRecalcHistory(vol.path, id);
  writeJsonDurably(jobStatePath(vol.path, 'recalc'), { kind: 'recalc', volume: id, runs: pushRun(prev?.runs, run), updated: new Date().toISOString() });
}

function pidStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** The marker a run leaves in its state file while it goes on (cleared when it ends). */
export function runningMarker(by: 'cli' | 'dashboard'): NonNullable<JobStateFile['running']> {
  return { pid: process.pid, start: pidStart(process.pid), by, since: new Date().toISOString() };
}

/** Whether the run a state file says is going on is alive in another process (a crashed one is not). */
export function runningElsewhere(st: Pick<JobStateFile, 'running'> | null): boolean {
  const r = st?.running;
  if (!r || typeof r.pid !== 'number' || r.pid === process.pid) return false;
  try {
    process.kill(r.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return r.start === null || pidStart(r.pid) === r.start;
}
