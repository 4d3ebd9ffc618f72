// The bare tag hash over bytes in memory (the benchmark's hashing ceiling), importable by its worker threads.
import crypto from 'node:crypto';
import { createTagHasher } from '../hash/index.js';
import { alignedBuffer } from '../io/aligned.js';
import { SECTOR_SIZE } from '../layout/superblock.js';

const MIB = 1 << 20;
const mbps = (bytes: number, ms: number) => bytes / MIB / (ms / 1000);
/** the benchmark's key for hmac-sha256 (random per run, never written anywhere) */
export const KEY = crypto.randomBytes(32);

function hasherFor(alg: string) {
  return createTagHasher({ algorithm: alg, key: alg.startsWith('hmac') ? KEY : undefined, salt: crypto.randomBytes(16), tagSize: alg === 'crc32c' ? 4 : 32 });
}

/** The bare tag hash over `bytes` of data in memory on this thread. */
export function bareHash(alg: string, blockSize: number, bytes: number): number {
  const h = hasherFor(alg);
  const buf = alignedBuffer(16 * MIB);
  crypto.randomFillSync(buf);
  const out = Buffer.alloc((buf.length / blockSize) * 32);
  const spb = blockSize / SECTOR_SIZE;
  const t0 = performance.now();
  let done = 0;
  let sector = 0;
  while (done < bytes) {
    for (let b = 0; b < buf.length / blockSize; b++, sector += spb) h.tag(sector, buf.subarray(b * blockSize, (b + 1) * blockSize), out, b * h.tagSize);
    done += buf.length;
  }
  return mbps(done, performance.now() - t0);
}

