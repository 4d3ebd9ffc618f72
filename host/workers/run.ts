// The host's long operations (format, LUKS2 format, resize, journal replay) each run one worker_threads entry off the
// event loop to its one answer; this is that run: progress relayed, 'done' resolves, 'error' rejects in its words.
import { Worker } from 'node:worker_threads';
import { errnoCode, IntegrityStudioError } from '../../engine/errors.js';

/** the answer a worker posts when its operation failed (any more fields are the worker's own) */
export interface WorkerError {
  type: 'error';
  message: string;
  code?: string;
}

/**
 * Starts the worker at `url` with `workerData`. Resolves with its 'done' message; rejects with `wordError(m)` for an
 * 'error' message (default: its message and code, EINVAL without one), and with "WHAT failed: …" / "WHAT worker
 * exited with code N" when it crashes or exits without an answer. Every other message goes to `onMessage`.
 */
export function runWorker<Done extends { type: 'done' }, Other extends { type: string }, Err extends WorkerError = WorkerError>(
  url: URL,
  workerData: unknown,
  what: string,
  onMessage: (m: Other) => void,
  wordError: (m: Err) => IntegrityStudioError = (m) => new IntegrityStudioError(m.message, errnoCode(m, 'EINVAL')),
): Promise<Done> {
  return new Promise((resolve, reject) => {
    const w = new Worker(url, { workerData });
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      f();
    };
    w.on('message', (m: Done | Err | Other) => {
      if (m.type === 'done') settle(() => resolve(m as Done));
      else if (m.type === 'error') settle(() => reject(wordError(m as Err)));
      else onMessage(m as Other);
    });
    w.on('error', (e) => settle(() => reject(new IntegrityStudioError(`${what} failed: ${e.message}`))));
    w.on('exit', (code) => settle(() => reject(new IntegrityStudioError(`${what} worker exited with code ${code}`))));
  });
}
