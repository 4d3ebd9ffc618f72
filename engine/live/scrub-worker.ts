// worker_threads entry of a live scrub: opens the mapped device with O_DIRECT, runs engine/live/scrub-run.ts,
// persists the position (engine/live/scrub-state.ts) every few seconds, on pause and at the end, and keeps to the
// speed limit with the same token bucket as engine/worker/job-worker.ts (a pause ends the wait at once).
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { alignedBuffer } from '../io/aligned.js';
import { errnoCode, IntegrityStudioError } from '../errors.js';
import { runLiveScrub, SECTOR, type LiveScrubGeometry, type LiveScrubPosition } from './scrub-run.js';
import { pushLiveRun, runningMarker, writeLiveScrubState, type LiveScrubState } from './scrub-state.js';
import { parseIntegrityStatus } from './parse.js';
import { runToolSync } from './system.js';

export interface LiveScrubWorkerData {
  /** the integrity device's dm name (its status is polled) */
  name: string;
  geometry: LiveScrubGeometry;
  state: LiveScrubState;
  maxBytesPerSecond?: number;
  by: 'cli' | 'dashboard';
  /** Int32Array over it: [0] = 1 asks the scrub to pause at the next chunk */
  control: SharedArrayBuffer;
}

export type LiveScrubWorkerMessage =
  | { type: 'progress'; p: LiveScrubPosition }
  | { type: 'final'; p: LiveScrubState; done: boolean }
  | { type: 'failed'; p: LiveScrubState; error: string };

const PROGRESS_MS = 100;
const BURST_MS = 250;

function main(d: LiveScrubWorkerData): void {
  const flag = new Int32Array(d.control);
  const post = (m: LiveScrubWorkerMessage) => parentPort!.postMessage(m);
  const st = d.state;
  const started = Date.now();
  const run = { by: d.by, started_at: new Date(started).toISOString(), from_sector: st.position_sector, increase0: st.kernel_mismatches.increase };
  const finishRun = (result: 'paused' | 'done' | 'failed', error?: string) => {
    st.duration_ms += Date.now() - started;
    st.running = null;
    st.runs = pushLiveRun(st.runs, {
      by: run.by,
      started_at: run.started_at,
      ended_at: new Date().toISOString(),
      duration_ms: Date.now() - started,
      result,
      from_sector: run.from_sector,
      to_sector: st.position_sector,
      bad_blocks: st.bad_blocks,
      read_errors: st.read_errors,
      unchecked_blocks: Object.values(st.unchecked).reduce((a, b) => a + b, 0),
      kernel_mismatch_increase: st.kernel_mismatches.increase - run.increase0,
      ...(error ? { error } : {}),
    });
  };
  // a fresh run's counter baseline is taken from the kernel at its first status read
  st.kernel_mismatches.at_start = null;
  st.kernel_mismatches.now = null;
  st.running = runningMarker(d.by);
  let fd: number | null = null;
  try {
    writeLiveScrubState(st);
    try {
      fd = fs.openSync(st.device, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
    } catch (e) {
      throw new IntegrityStudioError(`cannot open ${st.device} for reading: ${(e as Error).message}`, errnoCode(e));
    }
    const fdr = fd;
    const chunk = d.geometry.chunk_bytes ?? 1 << 20;
    const limit = d.maxBytesPerSecond && d.maxBytesPerSecond > 0 ? d.maxBytesPerSecond : 0;
    let next = Date.now();
    let lastPos = st.position_sector;
    let lastPost = 0;
    const done = runLiveScrub(
      d.geometry,
      {
        buffer: alignedBuffer(chunk),
        read(buf, offset, length) {
          for (let got = 0; got < length; ) {
            const n = fs.readSync(fdr, buf, got, length - got, offset + got);
            if (n === 0) throw Object.assign(new Error(`${st.device}: unexpected end of device at byte ${offset + got}`), { code: 'EIO' });
            got += n;
          }
        },
        status() {
          const r = runToolSync('dmsetup', ['status', d.name]);
          const line =
            r.status === 0
              ? r.stdout
                  .toString('utf8')
                  .split('\n')
                  .find((l) => l.split(/\s+/)[2] === 'integrity')
              : undefined;
          return line ? parseIntegrityStatus(line) : null;
        },
      },
      st,
      {
        shouldStop() {
          if (limit) {
            const wait = next - Date.now();
            if (wait > 0) Atomics.wait(flag, 0, 0, wait);
          }
          return Atomics.load(flag, 0) === 1;
        },
        progress(p) {
          if (limit) {
            next = Math.max(next, Date.now() - BURST_MS) + (((p.position_sector - lastPos) * SECTOR) / limit) * 1000;
            lastPos = p.position_sector;
          }
          if (Date.now() - lastPost >= PROGRESS_MS) {
            lastPost = Date.now();
            post({ type: 'progress', p });
          }
        },
        save() {
          writeLiveScrubState(st);
        },
      },
    );
    st.state = done ? 'done' : 'paused';
    if (done) st.finished_at = new Date().toISOString();
    finishRun(done ? 'done' : 'paused');
    writeLiveScrubState(st);
    post({ type: 'final', p: st, done });
  } catch (e) {
    const msg = e instanceof IntegrityStudioError ? e.message : `live scrub of ${st.device} stopped at sector ${st.position_sector}: ${(e as Error).message}`;
    finishRun('failed', msg);
    try {
      writeLiveScrubState(st);
    } catch {
      /* the message says what failed first */
    }
    post({ type: 'failed', p: st, error: msg });
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

if (parentPort && workerData) main(workerData as LiveScrubWorkerData);
