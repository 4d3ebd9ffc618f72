// startJob: runs recalc / scrub / wipe in a worker thread and turns its reports into JobProgress events with
// rate and ETA, at most MAX_EVENTS_PER_SECOND of them plus the final one. pause() asks the worker to stop at its
// next chunk boundary (it persists the position); the handle's `finished` resolves with the last event.
import { Worker } from 'node:worker_threads';
import type { JobHandle, JobProgress, JobSpec, JobState } from './types.js';
import type { RawProgress } from './run.js';
import type { JobWorkerData, JobWorkerMessage } from '../worker/messages.js';
import { SB_FLAG_RECALCULATING, SECTOR_SIZE } from '../layout/superblock.js';
import { FileDevice } from '../io/device.js';
import { readSuperblock } from '../volume.js';
import { jobStatePath, readJobStateAt, volumeIdOf, type JobStateFile } from './state.js';

export const MAX_EVENTS_PER_SECOND = 10;
const MIN_INTERVAL_MS = 1000 / MAX_EVENTS_PER_SECOND;

export { jobStatePath, readJobStateAt } from './state.js';
export type { JobStateFile } from './state.js';

/** The scrub state file of `device` (paused or done), if any, whichever volume wrote it. */
export function readScrubState(device: string): JobStateFile | null {
  return readJobStateAt(jobStatePath(device, 'scrub'));
}

export interface JobStatus {
  provided_data_sectors: number;
  recalculating: boolean;
  recalc_sector: number;
  /** our scrub / wipe state files for this volume (checked against its salt and size), if any */
  scrub: JobStateFile | null;
  wipe: JobStateFile | null;
}

/** Where the long jobs of `device` stand: the superblock's recalculation and our state files. Reads only. */
export function jobStatus(device: string, _opts: { dataDevice?: string } = {}): JobStatus {
  const dev = FileDevice.open(device, { readOnly: true });
  try {
    const sb = readSuperblock(dev);
    const id = volumeIdOf(sb);
    return {
      provided_data_sectors: Number(sb.provided_data_sectors),
      recalculating: !!(sb.flags & SB_FLAG_RECALCULATING),
      recalc_sector: Number(sb.recalc_sector),
      scrub: readJobStateAt(jobStatePath(device, 'scrub'), id),
      wipe: readJobStateAt(jobStatePath(device, 'wipe'), id),
    };
  } finally {
    dev.close();
  }
}

/**
 * Rate over a sliding window of recent samples, so a pause/resume or a slow start does not skew the ETA. No rate
 * is given until the samples span MIN_SPAN_MS: the first chunk of a job is read at once (a speed limit paces the
 * ones after it), so a rate from the first two samples alone would be far above both the limit and the truth.
 */
export class RateMeter {
  static readonly MIN_SPAN_MS = 1000;
  private samples: Array<[number, number]> = [];
  private first: [number, number] | null = null;
  constructor(private readonly windowMs = 3000) {}
  add(t: number, position: number): void {
    this.first ??= [t, position];
    this.samples.push([t, position]);
    while (this.samples.length > 2 && t - this.samples[1]![0] >= this.windowMs) this.samples.shift();
  }
  bytesPerSecond(): number {
    if (this.samples.length < 2) return 0;
    const [t0, p0] = this.samples[0]!;
    const [t1, p1] = this.samples[this.samples.length - 1]!;
    return t1 - t0 >= RateMeter.MIN_SPAN_MS ? ((p1 - p0) * SECTOR_SIZE * 1000) / (t1 - t0) : 0;
  }
  /** the run's average from its first sample to `t` (its final event: a run shorter than the window still has one) */
  average(t: number, position: number): number {
    if (!this.first || t <= this.first[0]) return 0;
    return ((position - this.first[1]) * SECTOR_SIZE * 1000) / (t - this.first[0]);
  }
}

export function toProgress(spec: JobSpec, p: RawProgress, state: JobState, rate: number, error?: string): JobProgress {
  const left = (p.total - p.position) * SECTOR_SIZE;
  return {
    job: spec.kind,
    state,
    position_sector: p.position,
    total_sectors: p.total,
    start_sector: p.start,
    sectors_per_block: p.sectors_per_block,
    bytes_per_second: Math.round(rate),
    eta_ms: state === 'running' ? (rate > 0 ? Math.round((left / rate) * 1000) : null) : state === 'done' ? 0 : null,
    mismatches: p.mismatches,
    bad_ranges: p.damage?.bad_ranges ?? [],
    ...(p.checked_blocks !== undefined ? { checked_blocks: p.checked_blocks } : {}),
    ...(p.unchecked
      ? {
          unchecked_blocks: p.unchecked.recalculating + p.unchecked['dirty-bitmap'],
          unchecked: [
            { reason: 'recalculating' as const, blocks: p.unchecked.recalculating },
            { reason: 'dirty-bitmap' as const, blocks: p.unchecked['dirty-bitmap'] },
          ].filter((u) => u.blocks > 0),
        }
      : {}),
    ...(p.read_errors !== undefined ? { read_errors: p.read_errors, read_error_ranges: p.damage?.read_error_ranges ?? [] } : {}),
    ...(p.damage ? { damage: p.damage } : {}),
    ...(p.started_at ? { started_at: p.started_at } : {}),
    ...(p.run_started_at ? { run_started_at: p.run_started_at } : {}),
    journal: p.journal,
    ...(error ? { error } : {}),
  };
}

export function startJob(spec: JobSpec, onProgress: (p: JobProgress) => void): JobHandle {
  const control = new SharedArrayBuffer(4);
  const flag = new Int32Array(control);
  const data: JobWorkerData = { spec, control };
  const worker = new Worker(new URL('../worker/job-worker.js', import.meta.url), { workerData: data });
  const meter = new RateMeter();
  let lastSent = 0;
  let latest: RawProgress = { position: 0, total: 0, start: 0, sectors_per_block: 1, mismatches: 0, journal: null };
  let pending: ReturnType<typeof setTimeout> | null = null;
  let ended = false;

  const send = () => {
    pending = null;
    if (ended) return;
    // timers may fire a little early: never send two events closer than MIN_INTERVAL_MS
    const early = MIN_INTERVAL_MS - (Date.now() - lastSent);
    if (early > 0) {
      pending = setTimeout(send, early);
      return;
    }
    onProgress(toProgress(spec, latest, 'running', meter.bytesPerSecond()));
    // measured after the listeners ran, so the spacing they see is at least MIN_INTERVAL_MS
    lastSent = Date.now();
  };

  const finished = new Promise<JobProgress>((resolve) => {
    const finish = (p: JobProgress) => {
      if (ended) return;
      ended = true;
      if (pending) clearTimeout(pending);
      onProgress(p);
      resolve(p);
    };
    worker.on('message', (m: JobWorkerMessage) => {
      if (m.type === 'progress') {
        latest = m.p;
        meter.add(Date.now(), m.p.position);
        const wait = MIN_INTERVAL_MS - (Date.now() - lastSent);
        if (wait <= 0) send();
        else if (!pending) pending = setTimeout(send, wait);
      } else if (m.type === 'final') {
        latest = m.p;
        meter.add(Date.now(), m.p.position);
        finish(toProgress(spec, m.p, m.done ? 'done' : 'paused', meter.bytesPerSecond() || meter.average(Date.now(), m.p.position)));
      } else {
        finish(toProgress(spec, latest, 'failed', 0, m.error));
      }
    });
    worker.on('error', (e) => finish(toProgress(spec, latest, 'failed', 0, `job worker failed: ${e.message}`)));
    worker.on('exit', (code) => finish(toProgress(spec, latest, 'failed', 0, `job worker exited (code ${code}) before finishing`)));
  });

  return {
    spec: { kind: spec.kind, device: spec.device },
    pause() {
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0); // ends a --max-rate wait at once
      return finished;
    },
    finished,
  };
}
