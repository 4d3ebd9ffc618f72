// worker_threads entry: runs engine/commands resizeVolume off the host's event loop (a grow with a wipe writes the
// whole new area, and resizeVolume is synchronous), posting the wipe's progress and the result or one error line.
import { parentPort, workerData } from 'node:worker_threads';
import { resizeVolume, type ResizeOptions } from '../../engine/commands/resize.js';

const { path, options } = workerData as { path: string; options: ResizeOptions };
let last = 0;
try {
  const result = resizeVolume(path, {
    ...options,
    onWipeProgress: (done, total) => {
      const now = Date.now();
      if (done === total || now - last >= 100) {
        last = now;
        parentPort!.postMessage({ type: 'progress', done, total });
      }
    },
  });
  parentPort!.postMessage({ type: 'done', result });
} catch (e) {
  const err = e as Error & { code?: unknown };
  parentPort!.postMessage({ type: 'error', message: err.message, code: typeof err.code === 'string' ? err.code : undefined });
}
