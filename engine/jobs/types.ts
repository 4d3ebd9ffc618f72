// The contract of long jobs (recalculate, scrub, wipe) between the engine's job runner (engine/jobs/) and its
// hosts (the CLI, host EngineHost, `serve`). Plain data only: every value crosses worker_threads and IPC.
import type { JournalState } from '../integrity/journal-writer.js';
import type { CryptSegment } from '../crypt/volume.js';
import type { VolumeOptions } from '../volume.js';
import type { DamageSummary, UncheckedReason } from '../api.js';

export type JobKind = 'recalc' | 'scrub' | 'wipe';
/** interrupted: never reported by a running job; a host says it of a job whose process died (its state file's
 *  running marker outlived it) */
export type JobState = 'running' | 'paused' | 'done' | 'failed' | 'interrupted';

/** Blocks a scrub passed over as unverifiable, by reason: at/past recalc_sector, or in a dirty bitmap region. */
export interface UncheckedCounts {
  recalculating: number;
  'dirty-bitmap': number;
}

/** One run of a job (start → pause/finish/failure), newest last; kept in the job's state file, so the CLI and the
 *  dashboard show the same history. */
export interface JobRun {
  job: JobKind;
  /** who ran it */
  by: 'cli' | 'dashboard';
  started_at: string;
  ended_at: string | null;
  duration_ms: number | null;
  /** interrupted: its process died (killed, crashed, power lost) while it ran: to_sector is the last position saved
   *  (where it continues), reached_sector where it had been seen last */
  result: 'running' | 'paused' | 'done' | 'failed' | 'interrupted';
  from_sector: number;
  to_sector: number;
  reached_sector?: number;
  bad_blocks?: number;
  read_errors?: number;
  unchecked_blocks?: number;
  error?: string;
}

/** One progress event, throttled by the runner to at most 10 per second (plus the final one). */
export interface JobProgress {
  job: JobKind;
  state: JobState;
  /** logical 512-byte sector the job has reached (everything before it is done) */
  position_sector: number;
  /** sector the job ends at (provided_data_sectors for the whole volume) */
  total_sectors: number;
  /** 512-byte sectors per block of the volume (bad ranges are whole blocks); always set by startJob, optional so
   *  hosts that build a JobProgress themselves (a paused recalc read from the superblock) need not know it */
  sectors_per_block?: number;
  /** where this run started (after a resume, the persisted position) */
  start_sector: number;
  bytes_per_second: number;
  /** null until a rate is known */
  eta_ms: number | null;
  /** bad blocks found so far (scrub; recalc and wipe report 0) */
  mismatches: number;
  /** the first bad blocks as merged [first_sector, end_sector) ranges, ascending (at most DAMAGE_FIRST_RANGES: the
   *  rest are in the scrub's damage log; `damage` counts them all) */
  bad_ranges: Array<[number, number]>;
  /** blocks checked so far (scrub) and blocks skipped as unverifiable (recalculating, dirty bitmap region) */
  checked_blocks?: number;
  unchecked_blocks?: number;
  unchecked?: Array<{ reason: Exclude<UncheckedReason, 'not-reached'>; blocks: number }>;
  /** blocks whose read failed (EIO): counted apart from mismatches (scrub); the first of their ranges */
  read_errors?: number;
  read_error_ranges?: Array<[number, number]>;
  /** scrub: what it found, bounded whatever the count (counts, the first ranges, a coarse map of the volume) */
  damage?: DamageSummary;
  /** ISO time the job started: a scrub's first run (from sector 0), a recalculation's run */
  started_at?: string;
  /** ISO time this run started (a resumed scrub's run starts later than the scrub) */
  run_started_at?: string;
  /** journal state of the volume, when it has a journal */
  journal: JournalState | null;
  /** set when state is 'failed': one line naming the problem */
  error?: string;
}

/** What to run. Keys travel as bytes inside the main process and its workers only, never to a renderer. */
export interface JobSpec {
  kind: JobKind;
  /** the device holding the superblock */
  device: string;
  /** the open options, whole (integritysetup open's: data device, algorithms, keys as bytes, mode, bitmap options);
   *  passed on to the open as they are, so none can be left out on the way (keys arrive in a worker as Uint8Array) */
  volume?: VolumeOptions;
  /** recalc --reset / scrub from the start: ignore the persisted position */
  reset?: boolean;
  /** --integrity-legacy-recalculate: allow recalculating keyed tags without the kernel's safety conditions */
  legacyRecalculate?: boolean;
  /** who runs it, recorded in the job's run history (default 'cli') */
  by?: 'cli' | 'dashboard';
  /** --max-rate: at most this many bytes of the volume per second (a scrub that leaves I/O for the users of the
   * disk, as btrfs scrub's limit or md's sync_speed_max); a pause still stops at once */
  maxBytesPerSecond?: number;
  /** scrub of a LUKS2 authenticated volume (dm-crypt over dm-integrity): the data segment and its volume key, as
   *  bytes (engine/crypt/scrub.ts runCryptScrub); the worker zeroes its copy when the job ends */
  crypt?: { segment: CryptSegment; volumeKey: Uint8Array };
}

export interface JobHandle {
  readonly spec: Readonly<Pick<JobSpec, 'kind' | 'device'>>;
  /** stops at the next chunk boundary, persists the position, resolves with the 'paused' event */
  pause(): Promise<JobProgress>;
  /** resolves with the final event ('done', 'paused' or 'failed'); never rejects */
  readonly finished: Promise<JobProgress>;
}
