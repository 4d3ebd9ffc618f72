// worker_threads entry: runs engine/commands formatVolume off the host's event loop (the wipe of a large volume
// takes long and formatVolume is synchronous), posting throttled progress and the result or one error line.
import { parentPort, workerData } from 'node:worker_threads';
import { formatVolume, type FormatOptions } from '../../engine/commands/format.js';

const { path, options } = workerData as { path: string; options: FormatOptions };
let last = 0;
try {
  const result = formatVolume(path, { ...options, confirm: () => true }, (done, total) => {
    const now = Date.now();
    if (done === total || now - last >= 100) {
      last = now;
      parentPort!.postMessage({ type: 'progress', done, total });
    }
  });
  parentPort!.postMessage({ type: 'done', result: { wiped: result.wiped, wiped_sectors: result.wiped_sectors, created: result.created } });
} catch (e) {
  const err = e as Error & { code?: unknown; field?: string; detail?: Record<string, string | number> };
  parentPort!.postMessage({
    type: 'error',
    message: err.message,
    code: typeof err.code === 'string' ? err.code : undefined,
    field: err.field,
    detail: err.detail,
  });
}
