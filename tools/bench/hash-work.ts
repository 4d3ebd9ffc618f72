// The bare tag hash over bytes in memory (the benchmark's hashing figures), importable by its worker threads.
import crypto from 'node:crypto';
import { createTagHasher } from '../../engine/hash/index.js';
import { alignedBuffer } from '../../engine/io/aligned.js';

const MIB = 1 << 20;
const mbps = (bytes: number, ms: number) => bytes / MIB / (ms / 1000);
/** the benchmark's key for the HMACs (random per run, never written anywhere) */
export const KEY = crypto.randomBytes(32);

function hasherFor(alg: string, native: boolean) {
  return createTagHasher({
    algorithm: alg,
    key: alg.startsWith('hmac') ? KEY : undefined,
    salt: crypto.randomBytes(16),
    tagSize: alg === 'crc32c' || alg === 'crc32' ? 4 : 32,
    native,
  });
}

/**
 * The engine's tag hash over `bytes` of data in memory on this thread only: runs of 128 KiB (below the size the
 * native hasher spreads over its helper threads), or block by block for the JavaScript hashes.
 */
export function bareHash(alg: string, blockSize: number, bytes: number, native = true): number {
  return prepareBareHash(alg, blockSize, native)(bytes);
}

/** bareHash in two steps: the hasher and buffer made first, the timed hashing when the result is called. */
export function prepareBareHash(alg: string, blockSize: number, native = true): (bytes: number) => number {
  const h = hasherFor(alg, native);
  const buf = alignedBuffer(16 * MIB);
  crypto.randomFillSync(buf);
  const out = Buffer.alloc((buf.length / blockSize) * 32);
  const slice = 128 * 1024;
  const spb = blockSize / 512;
  return (bytes) => {
    const t0 = performance.now();
    let done = 0;
    let sector = 0;
    while (done < bytes) {
      for (let o = 0; o < buf.length; o += slice, sector += (slice / blockSize) * spb)
        h.tagRun(sector, blockSize, buf.subarray(o, o + slice), out, (o / blockSize) * h.tagSize);
      done += buf.length;
    }
    return mbps(done, performance.now() - t0);
  };
}
