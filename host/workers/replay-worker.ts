// worker_threads entry: a writable open and a clean close off the host's event loop — the kernel's activation
// (dm_integrity_resume): replay_journal, or after an unclean bitmap-mode close the recalculation of the dirty
// regions, which reads and hashes every block in them (minutes on a large volume). Posts the recalculation's
// progress, then done or one error line.
import { parentPort, workerData } from 'node:worker_threads';
import { openWritable } from '../../engine/integrity/writable.js';
import type { VolumeOptions } from '../../engine/volume.js';

export interface ReplayWorkerData {
  path: string;
  options: VolumeOptions;
}

export type ReplayMessage = { type: 'progress'; done: number; total: number } | { type: 'done' } | { type: 'error'; message: string; code?: string };

const { path, options } = workerData as ReplayWorkerData;
// keys arrive as Uint8Arrays (structured clone): the engine's key handling expects Buffers
const buf = (k?: Uint8Array) => (k ? Buffer.from(k.buffer, k.byteOffset, k.byteLength) : undefined);
const post = (m: ReplayMessage) => parentPort!.postMessage(m);
let last = 0;
try {
  const vol = openWritable(path, {
    ...options,
    integrityKey: buf(options.integrityKey),
    journalIntegrityKey: buf(options.journalIntegrityKey),
    journalCryptKey: buf(options.journalCryptKey),
    onRecalcProgress: (done, total) => {
      const now = Date.now();
      if (done === total || now - last >= 100) {
        last = now;
        post({ type: 'progress', done, total });
      }
    },
  });
  vol.close();
  post({ type: 'done' });
} catch (e) {
  const err = e as Error & { code?: unknown };
  post({ type: 'error', message: err.message, code: typeof err.code === 'string' ? err.code : undefined });
}
