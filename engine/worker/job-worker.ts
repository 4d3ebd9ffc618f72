// worker_threads entry of a long job: runs it synchronously (positional I/O, hashing) off the main thread and
// posts raw progress at most every PROGRESS_MS; the starter throttles again for its listeners.
import { parentPort, workerData } from 'node:worker_threads';
import { IntegrityStudioError } from '../errors.js';
import { runJob } from '../jobs/run.js';
import { runCryptScrub } from '../crypt/scrub.js';
import type { JobWorkerData, JobWorkerMessage } from './messages.js';

const PROGRESS_MS = 100;
const { spec, control } = workerData as JobWorkerData;
const flag = new Int32Array(control);
const post = (m: JobWorkerMessage) => parentPort!.postMessage(m);
let last = 0;
// --max-rate, a token bucket: each chunk's bytes push `next` (when the next chunk may start) on by bytes/limit; a
// stall earns at most BURST_MS of credit, so the rate over any stretch stays near the limit. pause() notifies the
// flag, so a pause ends the wait at once.
const BURST_MS = 250;
const limit = spec.maxBytesPerSecond && spec.maxBytesPerSecond > 0 ? spec.maxBytesPerSecond : 0;
let next = 0;
let lastPos = -1;
try {
  const out = (spec.crypt ? runCryptScrub : runJob)(spec, {
    shouldStop: () => {
      if (limit) {
        const wait = next - Date.now();
        if (wait > 0) Atomics.wait(flag, 0, 0, wait);
      }
      return Atomics.load(flag, 0) === 1;
    },
    progress(p) {
      if (limit) {
        const now = Date.now();
        if (lastPos < 0) {
          lastPos = p.start;
          next = now;
        } // the first chunk counts from the job's start
        if (p.position > lastPos) next = Math.max(next, now - BURST_MS) + (((p.position - lastPos) * 512) / limit) * 1000;
        lastPos = Math.max(lastPos, p.position);
      }
      const now = Date.now();
      if (now - last < PROGRESS_MS) return;
      last = now;
      post({ type: 'progress', p });
    },
  });
  post({ type: 'final', p: out, done: out.done });
} catch (e) {
  const code = (e as NodeJS.ErrnoException).code;
  // an I/O error of the device or file system (EIO, ENOSPC, …) is not an internal error: say what it is
  const msg =
    e instanceof IntegrityStudioError
      ? e.message
      : typeof code === 'string' && /^E[A-Z]+$/.test(code)
        ? `${spec.kind === 'recalc' ? 'recalculation' : spec.kind} of ${spec.device} stopped: ${(e as Error).message}${code === 'ENOSPC' ? ' (the file system is full)' : ''}; ${spec.kind === 'recalc' ? 'the position saved in the superblock (recalc_sector) is the last one written before the failure' : 'its last saved position is kept'}`
        : `internal error: ${(e as Error).message}`;
  post({ type: 'failed', error: msg });
}
