// Where scrub and wipe keep their position and findings: ours, not the kernel's, so never in the superblock.
// A small JSON file beside the image (IMAGE.scrub.json), or under INTEGRITY_STUDIO_STATE_DIR (or
// $XDG_STATE_HOME/integrity-studio) when that is set or the image's folder is not writable (block devices).
// The file names the volume by its salt and size, so a state left by another volume is never taken for ours.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Volume } from '../volume.js';
import { errnoCode, IntegrityStudioError } from '../errors.js';
import type { JobKind, JobRun, JobSpec, UncheckedCounts } from './types.js';
import { changesSince, fingerprintOf, type VolumeFingerprint } from './fingerprint.js';
import { DamageLog, emptyDamageState, type DamageKind, type DamageSource, type DamageState } from './damage.js';
import type { DamageSummary } from '../api.js';

export type { VolumeFingerprint } from './fingerprint.js';

/** How often a running job's state file is brought up to date (position, findings, rate): others (the dashboard,
 *  another CLI) read it, and a crash loses at most this much of a scrub's work. */
export const PERSIST_MS = 1000;

/** The marker a run keeps in its state file while it goes on, brought up to date every PERSIST_MS. */
export interface RunningMarker {
  pid: number;
  /** the pid's start time (/proc/PID/stat), to tell a reused pid */
  start: string | null;
  by: 'cli' | 'dashboard';
  since: string;
  /** where this run started and when it was last seen, where, and how fast */
  from_sector?: number;
  at?: string;
  position_sector?: number;
  bytes_per_second?: number;
}

/** The result of a scrub that reached the end: kept while a newer scrub runs, so known damage stays visible until
 *  it is checked again. */
export interface FinishedScan {
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  total_sectors: number;
  checked_blocks: number;
  mismatches: number;
  read_errors: number;
  /** its damage log (kept beside the new scrub's as DAMAGE.prev) and what the state file said of it */
  damage: DamageState;
  damage_file: string;
  unchecked?: UncheckedCounts;
  measured_on?: VolumeFingerprint | null;
  changed_during?: string[];
}

/** Runs kept per job (newest last). */
export const MAX_RUNS = 20;

export interface JobStateFile {
  kind: JobKind;
  state: 'paused' | 'done';
  position_sector: number;
  total_sectors: number;
  /** bad blocks found (the ranges are in the damage log) */
  mismatches: number;
  checked_blocks: number;
  /** blocks the scrub passed over as unverifiable, by reason (recalculating: at/past recalc_sector; dirty-bitmap) */
  unchecked?: UncheckedCounts;
  /** blocks whose read failed (EIO), counted apart from mismatches */
  read_errors?: number;
  /** the scrub's damage log: its file's valid length, the open ranges and a bounded summary (engine/jobs/damage.ts) */
  damage?: DamageState;
  /** before the damage log, the ranges were kept here (read once, into a log) */
  bad_ranges?: Array<[number, number]>;
  read_error_ranges?: Array<[number, number]>;
  /** ISO time the scrub (from sector 0) started, when it reached the end, and the checking time summed over runs */
  started_at?: string;
  finished_at?: string | null;
  duration_ms?: number;
  /** the last MAX_RUNS runs, newest last */
  runs?: JobRun[];
  /** set while a run is going on: its process (and the pid's start time, to tell a reused pid), who runs it, and
   *  where it was last seen; a marker whose process is gone is an interrupted run */
  running?: RunningMarker | null;
  /** the volume when this scrub started (from sector 0), and when it reached the end (done) */
  started_on?: VolumeFingerprint | null;
  measured_on?: VolumeFingerprint | null;
  /** what changed while it was being scanned (between started_on and measured_on) */
  changed_during?: string[];
  /** the last scrub that reached the end before this one started (its findings stay known until checked again) */
  last_finished?: FinishedScan | null;
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
  return process.env.INTEGRITY_STUDIO_STATE_DIR || path.join(process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state'), 'integrity-studio');
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
  if (
    !j ||
    typeof j.position_sector !== 'number' ||
    (j.bad_ranges !== undefined && !Array.isArray(j.bad_ranges)) ||
    (j.damage !== undefined && typeof j.damage?.bytes !== 'number')
  )
    return null;
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
    const code = errnoCode(e);
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
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* nothing more to do */
    }
    throw e;
  }
}

/** Adds the block starting at `sector` to merged ascending ranges (blocks arrive in ascending order). */
export function addBadBlock(ranges: Array<[number, number]>, sector: number, spb: number): void {
  const last = ranges[ranges.length - 1];
  if (last && last[1] === sector) last[1] = sector + spb;
  else ranges.push([sector, sector + spb]);
}

/** The run a marker left behind when its process died: interrupted, continuing from the last saved position. */
export function interruptedRun(kind: JobKind, r: RunningMarker, savedSector: number, fallbackEnd?: string): JobRun {
  const ended = r.at ?? fallbackEnd ?? null;
  return {
    job: kind,
    by: r.by,
    started_at: r.since,
    ended_at: ended,
    duration_ms: ended ? Math.max(0, Date.parse(ended) - Date.parse(r.since)) : null,
    result: 'interrupted',
    from_sector: r.from_sector ?? savedSector,
    to_sector: savedSector,
    ...(r.position_sector !== undefined ? { reached_sector: r.position_sector } : {}),
  };
}

/** A state file's marker of a run whose process is gone (killed, crashed): null when none or when it is alive. */
export function deadMarker(st: { running?: RunningMarker | null } | null): RunningMarker | null {
  const r = st?.running;
  if (!r || r.pid === process.pid) return null;
  return runningElsewhere(st as JobStateFile) ? null : r;
}

/** Where a scrub's damage log is: beside its state file (IMAGE.scrub.damage). */
export function damagePath(stateFile: string): string {
  return stateFile.replace(/\.json$/, '') + '.damage';
}

/** A finished scrub as the next one keeps it: its damage log moved aside (DAMAGE.prev). */
function finishedOf(st: JobStateFile, stateFile: string): FinishedScan | null {
  const log = damagePath(stateFile),
    prev = `${log}.prev`;
  const spb = 1;
  let damage = st.damage;
  if (!damage) {
    // a state file from before the damage log: its ranges become one
    damage = emptyDamageState(st.total_sectors);
    const l = new DamageLog(log, damage, spb);
    fs.writeFileSync(log, Buffer.alloc(0), { mode: 0o600 });
    for (const [kind, ranges] of [
      ['bad', st.bad_ranges ?? []],
      ['read-error', st.read_error_ranges ?? []],
    ] as Array<[DamageKind, Array<[number, number]>]>) {
      for (const [a, b] of ranges) for (let x = a; x < b; x++) l.add(kind, x);
    }
    l.finish();
  }
  try {
    fs.renameSync(log, prev);
  } catch {
    if (damage.bytes) return null; // its log is gone: nothing to carry that could be trusted
  }
  return {
    started_at: st.started_at ?? null,
    finished_at: st.finished_at ?? st.updated ?? null,
    duration_ms: st.duration_ms ?? null,
    total_sectors: st.total_sectors,
    checked_blocks: st.checked_blocks,
    mismatches: st.mismatches,
    read_errors: st.read_errors ?? 0,
    damage,
    damage_file: prev,
    unchecked: st.unchecked,
    measured_on: st.measured_on ?? null,
    ...(st.changed_during?.length ? { changed_during: st.changed_during } : {}),
  };
}

/**
 * The paused state of a scrub or wipe to resume, or a fresh one (also with `reset`). A run that died without
 * ending (its marker's process is gone) goes into the history as interrupted; a fresh scrub keeps the last
 * finished one's findings (last_finished).
 */
export function resumeJobState(vol: Volume, kind: JobKind, reset?: boolean): JobStateFile {
  const previous = readJobState(vol, kind);
  let runs = previous?.runs ?? [];
  const dead = deadMarker(previous);
  if (previous && dead) {
    runs = pushRun(runs, interruptedRun(kind, dead, previous.position_sector, previous.updated));
    previous.running = null;
  }
  if (!reset && previous && previous.state === 'paused')
    return { ...previous, runs, unchecked: { recalculating: 0, 'dirty-bitmap': 0, ...previous.unchecked } };
  const file = jobStatePath(vol.path, kind);
  return {
    kind,
    state: 'paused',
    position_sector: 0,
    total_sectors: vol.geometry.provided_data_sectors,
    mismatches: 0,
    checked_blocks: 0,
    unchecked: { recalculating: 0, 'dirty-bitmap': 0 },
    read_errors: 0,
    started_at: new Date().toISOString(),
    finished_at: null,
    duration_ms: 0,
    runs,
    started_on: kind === 'scrub' ? fingerprintOf(vol) : null,
    last_finished: kind === 'scrub' && previous?.state === 'done' ? finishedOf(previous, file) : (previous?.last_finished ?? null),
  };
}

/**
 * The bookkeeping of one scrub run (the plain scrub and the LUKS2 one): the state to resume or a fresh one, the
 * running marker, the state file brought up to date every PERSIST_MS / PERSIST_SECTORS, and the run's record at its
 * end (with the volume's fingerprint when the scrub reached the end).
 */
export class ScanRecorder {
  readonly st: JobStateFile;
  readonly start: number;
  readonly runStartedAt: string;
  private readonly t0 = Date.now();
  private readonly baseDuration: number;
  private lastPersist = Date.now();
  private sectorsSincePersist = 0;
  private lastSeen: { t: number; pos: number };
  /** the ranges found, in their log (engine/jobs/damage.ts); only a bounded summary is in memory */
  readonly damage: DamageLog;

  constructor(
    private readonly vol: Volume,
    private readonly spec: JobSpec,
    private readonly persistSectors: number,
    st?: JobStateFile,
    spb = vol.geometry.sectors_per_block,
  ) {
    this.st = st ?? resumeJobState(vol, 'scrub', spec.reset);
    this.runStartedAt = new Date(this.t0).toISOString();
    this.st.read_errors ??= 0;
    const legacy =
      !this.st.damage && (this.st.bad_ranges?.length || this.st.read_error_ranges?.length)
        ? { bad: this.st.bad_ranges ?? [], read: this.st.read_error_ranges ?? [] }
        : null;
    this.damage = DamageLog.resume(damagePath(jobStatePath(vol.path, 'scrub')), this.st.damage, this.st.total_sectors, spb);
    if (legacy) {
      // a paused scrub from before the damage log: its ranges go into one
      for (const [a, b] of legacy.bad) for (let x = a; x < b; x += spb) this.damage.add('bad', x);
      for (const [a, b] of legacy.read) for (let x = a; x < b; x += spb) this.damage.add('read-error', x);
    }
    this.st.damage = this.damage.state;
    delete this.st.bad_ranges;
    delete this.st.read_error_ranges;
    this.st.started_at ??= this.runStartedAt;
    this.st.unchecked = { recalculating: 0, 'dirty-bitmap': 0, ...this.st.unchecked };
    this.baseDuration = this.st.duration_ms ?? 0;
    this.start = this.st.position_sector;
    this.lastSeen = { t: this.t0, pos: this.start };
  }

  /** a bad block (tag mismatch / authentication failure) or an unreadable one, at `sector` (ascending) */
  found(kind: DamageKind, sector: number): void {
    this.damage.add(kind, sector);
    if (kind === 'bad') this.st.mismatches++;
    else this.st.read_errors = (this.st.read_errors ?? 0) + 1;
  }

  mark(): { log: ReturnType<DamageLog['mark']>; mismatches: number; read_errors: number } {
    return { log: this.damage.mark(), mismatches: this.st.mismatches, read_errors: this.st.read_errors ?? 0 };
  }

  /** takes back what was found since `m` (its chunk is read again on resume) */
  rollback(m: ReturnType<ScanRecorder['mark']>): void {
    this.damage.rollback(m.log);
    this.st.mismatches = m.mismatches;
    this.st.read_errors = m.read_errors;
  }

  /** what is known so far: counts, the first ranges, the coarse map (bounded, whatever the count) */
  summary(): DamageSummary {
    return this.damage.summary();
  }

  /** marks the state file: this run is going on, in this process */
  begin(): void {
    this.st.running = {
      ...runningMarker(this.spec.by ?? 'cli'),
      from_sector: this.start,
      at: this.runStartedAt,
      position_sector: this.start,
      bytes_per_second: 0,
    };
    writeJobState(this.vol, this.st);
  }

  /** after each chunk (the position and findings already advanced by `sectors`): persists when it is time */
  step(sectors: number): void {
    this.sectorsSincePersist += sectors;
    const now = Date.now();
    if (this.sectorsSincePersist < this.persistSectors && now - this.lastPersist < PERSIST_MS) return;
    const r = this.st.running;
    if (r) {
      const dt = now - this.lastSeen.t;
      r.bytes_per_second = dt > 0 ? Math.round(((this.st.position_sector - this.lastSeen.pos) * 512 * 1000) / dt) : 0;
      r.at = new Date(now).toISOString();
      r.position_sector = this.st.position_sector;
      this.lastSeen = { t: now, pos: this.st.position_sector };
    }
    this.st.duration_ms = this.baseDuration + (now - this.t0);
    // the ranges before the state that counts them: a crash between the two leaves a longer log, cut back on resume
    this.damage.flush();
    writeJobState(this.vol, this.st);
    this.lastPersist = now;
    this.sectorsSincePersist = 0;
  }

  /** the run's end: its record in the history; a scrub that reached the end is dated and fingerprinted */
  finish(result: JobRun['result'], error?: string): void {
    const st = this.st;
    st.running = null;
    st.duration_ms = this.baseDuration + (Date.now() - this.t0);
    if (result === 'done') {
      this.damage.finish();
      st.state = 'done';
      st.finished_at = new Date().toISOString();
      st.measured_on = fingerprintOf(this.vol);
      const during = changesSince(st.started_on, st.measured_on);
      if (during.length) st.changed_during = during;
    } else {
      this.damage.flush();
      st.finished_at = null;
    }
    const u = st.unchecked!;
    st.runs = pushRun(st.runs, {
      job: 'scrub',
      by: this.spec.by ?? 'cli',
      started_at: this.runStartedAt,
      ended_at: new Date().toISOString(),
      duration_ms: Date.now() - this.t0,
      result,
      from_sector: this.start,
      to_sector: st.position_sector,
      bad_blocks: st.mismatches,
      read_errors: st.read_errors,
      unchecked_blocks: u.recalculating + u['dirty-bitmap'],
      ...(error ? { error } : {}),
    });
    writeJobState(this.vol, st);
  }
}

/** Appends a run, keeping the last MAX_RUNS. */
export function pushRun(runs: JobRun[] | undefined, run: JobRun): JobRun[] {
  const out = [...(runs ?? []), run];
  return out.slice(Math.max(0, out.length - MAX_RUNS));
}

/** The recalc history file (jobStatePath(device, 'recalc')): runs, and the marker of a run going on (where it
 *  was last seen); the position itself stays in the superblock, as the kernel's. */
export interface RecalcHistoryFile {
  kind: 'recalc';
  volume?: string;
  runs: JobRun[];
  running?: RunningMarker | null;
  updated?: string;
}

export function readRecalcHistory(device: string, id?: string): RecalcHistoryFile | null {
  let j: RecalcHistoryFile;
  try {
    j = JSON.parse(fs.readFileSync(jobStatePath(device, 'recalc'), 'utf8')) as RecalcHistoryFile;
  } catch {
    return null;
  }
  if (j?.kind !== 'recalc' || !Array.isArray(j.runs)) return null;
  if (id && j.volume !== id) return null;
  return j;
}

/** Ends a recalculation run: its record appended, the running marker cleared. */
export function appendRecalcRun(vol: Volume, run: JobRun): void {
  const id = volumeId(vol);
  const prev = readRecalcHistory(vol.path, id);
  writeJsonDurably(jobStatePath(vol.path, 'recalc'), {
    kind: 'recalc',
    volume: id,
    runs: pushRun(prev?.runs, run),
    running: null,
    updated: new Date().toISOString(),
  });
}

/**
 * A recalculation run begins (or reports where it is): the marker others read, kept every PERSIST_MS. A marker
 * left by a run that died is recorded first as an interrupted run, continuing from the superblock's recalc_sector.
 */
export function markRecalcRunning(vol: Volume, marker: RunningMarker): void {
  const id = volumeId(vol);
  const prev = readRecalcHistory(vol.path, id);
  let runs = prev?.runs ?? [];
  const dead = deadMarker(prev);
  if (dead && dead.since !== marker.since) runs = pushRun(runs, interruptedRun('recalc', dead, Number(vol.sb.recalc_sector), prev?.updated));
  writeJsonDurably(jobStatePath(vol.path, 'recalc'), { kind: 'recalc', volume: id, runs, running: marker, updated: new Date().toISOString() });
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
export function runningMarker(by: 'cli' | 'dashboard'): RunningMarker {
  return { pid: process.pid, start: pidStart(process.pid), by, since: new Date().toISOString() };
}

/** Whether the run a state file says is going on is alive in another process (a crashed one is not). */
export function runningElsewhere(st: { running?: RunningMarker | null } | null): boolean {
  const r = st?.running;
  if (!r || typeof r.pid !== 'number' || r.pid === process.pid) return false;
  try {
    process.kill(r.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return r.start === null || pidStart(r.pid) === r.start;
}

/** The current scrub's damage log of `device` (its state file's), or null when there is none. */
export function scrubDamage(device: string, id?: string): DamageSource | null {
  const file = jobStatePath(device, 'scrub');
  const st = readJobStateAt(file, id);
  return st?.damage ? { file: damagePath(file), state: st.damage } : null;
}
