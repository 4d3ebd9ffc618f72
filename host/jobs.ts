// This host's recalculations and scrubs: started in worker threads (engine/jobs), one of each kind per volume at
// most, their progress sent as throttled events with the known damage (what this scrub found, and what the last
// finished one found where this one has not been yet), paused on request or when the host closes.
import fs from 'node:fs';
import { IntegrityStudioError } from '../engine/errors.js';
import { runningElsewhere } from '../engine/jobs/state.js';
import { addSummaries, summaryFrom } from '../engine/jobs/damage.js';
import type { JobKind, JobProgress } from '../engine/api.js';
import type { JobHandle, JobSpec } from '../engine/jobs/types.js';
import type { HostContext } from './context.js';
import { requireKeys } from './keys.js';
import { engineOptions } from './requests.js';
import { knownDamageLogs } from './job-views.js';
import { scrubStateOf } from './damage-sources.js';
import { luksScrubSpec } from './luks/lifecycle.js';
import type { Entry } from './volumes.js';

/** A job this host paused on close: what `serve` prints on Ctrl-C. */
export interface PausedJob {
  id: string;
  name: string;
  path: string;
  job: JobKind;
  position_sector: number;
  total_sectors: number;
}

const JOB_WORDS: Record<JobKind, string> = { recalc: 'recalculation', scrub: 'scrub', wipe: 'wipe' };

export class Jobs {
  /** per volume, while a scrub runs here: the last finished scrub's log (its findings past the position are known) */
  private readonly carried = new WeakMap<Entry, ReturnType<typeof knownDamageLogs>['previous']>();

  constructor(private readonly ctx: HostContext) {}

  running(e: Entry): JobKind | null {
    return e.handles.recalc ? 'recalc' : e.handles.scrub ? 'scrub' : null;
  }

  /** refuses `what` while the volume is resized, replayed, formatting or has a job running */
  refuseWhileBusy(e: Entry, what: string): void {
    if (e.formatting) throw new IntegrityStudioError(`${e.name}: still formatting`, 'EBUSY');
    if (e.resizing) throw new IntegrityStudioError(`${e.name}: a resize is running; wait for it before ${what}`, 'EBUSY');
    if (e.replaying) throw new IntegrityStudioError(`${e.name}: its journal is being replayed; wait for it before ${what}`, 'EBUSY');
    const r = this.running(e);
    if (r) throw new IntegrityStudioError(`${e.name}: a ${JOB_WORDS[r]} is running; pause it before ${what}`, 'EBUSY');
  }

  private requireStarter() {
    if (!this.ctx.startJob) throw new IntegrityStudioError('recalculation and scrub are not available: this build has no engine/jobs');
    return this.ctx.startJob;
  }

  /** starts (reset: from the start) or resumes a job of `kind` on the volume */
  start(e: Entry, kind: Exclude<JobKind, 'wipe'>, reset: boolean): void {
    if (e.formatting) throw new IntegrityStudioError(`${e.name}: still formatting`, 'EBUSY');
    if (e.resizing) throw new IntegrityStudioError(`${e.name}: a resize is running; wait for it to finish`, 'EBUSY');
    if (e.replaying) throw new IntegrityStudioError(`${e.name}: its journal is being replayed; wait for it to finish`, 'EBUSY');
    const r = this.running(e);
    if (r) throw new IntegrityStudioError(`${e.name}: a ${JOB_WORDS[r]} is already running`, 'EBUSY');
    if (!fs.existsSync(e.path)) throw new IntegrityStudioError(`${e.path} is missing`, 'ENOENT');
    let spec: JobSpec;
    if (e.luks) spec = luksScrubSpec(e, kind, reset);
    else {
      requireKeys(e);
      spec = { kind, device: e.path, volume: engineOptions(e.options, e.keys), reset, by: 'dashboard' };
    }
    const startJob = this.requireStarter();
    if (e.speedLimit) spec.maxBytesPerSecond = e.speedLimit * 1048576;
    if (kind === 'scrub') {
      const { st, file } = scrubStateOf(e);
      if (runningElsewhere(st))
        throw new IntegrityStudioError(`${e.name}: a scrub is running in another process (the CLI?); wait for it or pause it there`, 'EBUSY');
      if (!reset && st?.state === 'done') throw new IntegrityStudioError(`${e.name}: the last scrub finished; use Start scrub to run a new one`);
      // a new scrub moves the finished one's log aside (DAMAGE.prev): its findings stay known until checked again
      const logs = knownDamageLogs(st, file);
      this.carried.set(e, reset && st?.state === 'done' && logs.current ? { file: `${logs.current.file}.prev`, state: logs.current.state } : logs.previous);
    }
    e.error = null;
    let h: JobHandle;
    try {
      h = startJob(spec, (p) => this.progress(e, p));
    } finally {
      spec.crypt?.volumeKey.fill(0); // the worker has its own copy (workerData is cloned when the worker is made)
    }
    e.handles[kind] = h;
    void h.finished.then((p) => {
      if (e.handles[kind] === h) delete e.handles[kind];
      this.progress(e, p, true);
      if (this.ctx.store.has(e)) this.ctx.emitVolume(e);
    });
    this.ctx.emitVolume(e);
  }

  /** a job's progress: kept for snapshots, sent as throttled events (progress, known damage, journal) */
  progress(e: Entry, p: JobProgress, final = false): void {
    e.jobs[p.job] = p;
    if (p.state === 'failed' && p.error) e.error = p.error;
    const fin = final || p.state !== 'running';
    const ev = this.ctx.events;
    ev.throttled(`${e.id}:${p.job}`, () => ({ type: 'progress', id: e.id, progress: p }), fin);
    if (p.job === 'scrub' && p.damage) {
      const damage = p.damage;
      ev.throttled(
        `${e.id}:errors`,
        () => {
          // known damage: what this scrub found, and what the last finished one found where this one has not been yet
          const prev = this.carried.get(e);
          const known = prev ? addSummaries(damage, summaryFrom(prev, p.position_sector, p.sectors_per_block ?? 1)) : damage;
          return { type: 'errors', id: e.id, count: known.bad_blocks, ranges: known.bad_ranges, damage: known };
        },
        fin,
      );
    }
    if (p.journal) ev.throttled(`${e.id}:journal`, () => ({ type: 'journal', id: e.id, journal: p.journal }), fin);
  }

  async pause(e: Entry, kind: JobKind): Promise<void> {
    const h = e.handles[kind];
    if (!h) throw new IntegrityStudioError(`${e.name}: no ${JOB_WORDS[kind]} is running`);
    const p = await h.pause();
    this.progress(e, p, true);
  }

  /** pauses every running job (their positions are saved); resolves with what it paused */
  async pauseAll(): Promise<PausedJob[]> {
    const all: Array<Promise<PausedJob | null>> = [];
    for (const e of this.ctx.store.all()) {
      for (const [kind, h] of Object.entries(e.handles) as Array<[JobKind, JobHandle]>) {
        all.push(
          h.pause().then(
            (p) =>
              p.state === 'paused'
                ? { id: e.id, name: e.name, path: e.path, job: kind, position_sector: p.position_sector, total_sectors: p.total_sectors }
                : null,
            () => null,
          ),
        );
      }
    }
    return (await Promise.all(all)).filter((p): p is PausedJob => !!p);
  }
}
