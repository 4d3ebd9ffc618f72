// worker_threads entry: engine/crypt formatCryptVolume (LUKS2 header + keyslot KDF, dm-integrity superblock, wipe)
// off the host's event loop. The volume key is made here and posted back as bytes to the host, which holds it so
// the new volume is unlocked; the passphrase bytes are zeroed when done. Nothing here is logged.
import crypto from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { formatCryptVolume } from '../../engine/crypt/format.js';
import { integrityKeySize, integrityJsonName } from '../../engine/luks/index.js';
import type { LuksFormatMessage, LuksFormatWorkerData } from '../luks/header-view.js';

const d = workerData as LuksFormatWorkerData;
const post = (m: LuksFormatMessage) => parentPort!.postMessage(m);

/** cryptsetup's default key size for a cipher (formatLuks2Header's defaultKeyBits) */
function keyBits(cipher: string): number {
  if (/-xts-/.test(cipher)) return 512;
  if (cipher.startsWith('aegis128')) return 128;
  return 256;
}

const o = d.options;
const cipher = o.cipher ?? 'aes-xts-random';
const pass = d.passphrase ? Buffer.from(d.passphrase) : undefined;
let lastWipe = 0;
let vk: Buffer | null = null;
try {
  const bits = o.keySize ?? keyBits(cipher);
  vk = crypto.randomBytes(bits / 8 + integrityKeySize(integrityJsonName(o.integrity)));
  await formatCryptVolume(d.path, {
    secret: pass ? { passphrase: pass } : { keyFile: d.keyFile! },
    integrity: o.integrity,
    cipher,
    keySize: o.keySize,
    sectorSize: o.sectorSize,
    pbkdf: o.pbkdf,
    pbkdfIterations: o.pbkdfIterations,
    pbkdfMemory: o.pbkdfMemory,
    noWipe: o.noWipe,
    label: o.label,
    volumeKey: vk,
    onProgress: (p) =>
      post({
        type: 'kdf',
        kdf: p.kdf,
        elapsed_ms: Math.round(p.elapsedMs),
        estimate_ms: Math.round(p.estimateMs),
        fraction: p.fraction,
        done: p.phase === 'kdf-end',
      }),
    onWipe: (done, total) => {
      const now = Date.now();
      if (done === total || now - lastWipe >= 100) {
        lastWipe = now;
        post({ type: 'wipe', done, total });
      }
    },
  });
  post({ type: 'done', volumeKey: new Uint8Array(vk) });
} catch (e) {
  const err = e as Error & { code?: unknown };
  post({ type: 'error', message: err.message, code: typeof err.code === 'string' ? err.code : undefined });
} finally {
  vk?.fill(0);
  pass?.fill(0);
  d.passphrase?.fill(0);
}
