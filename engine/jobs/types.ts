// The contract of long jobs (recalculate, scrub, wipe) between the engine's job runner (engine/jobs/) and its
// hosts (the CLI, host EngineHost, `serve`). Plain data only: every value crosses worker_threads and IPC.
import type { CryptSegment } from '../crypt/volume.js';
import type { VolumeOptions } from '../volume.js';
import type { JobKind, JobProgress } from '../api.js';

// the data a job reports crosses IPC to the dashboard: it is defined in the contract
export type { JobKind, JobProgress, JobRun, JobState, UncheckedCounts } from '../api.js';

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
