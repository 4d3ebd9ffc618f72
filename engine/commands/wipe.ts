// The initial pass of `format` without --no-wipe (integritysetup's wipe): every provided block becomes zeroes
// with a valid tag, written in place run by run. Bounded memory: one CHUNK_SECTORS buffer whatever the size.
import { SECTOR_SIZE } from '../layout/superblock.js';
import { CHUNK_SECTORS, type IntegrityTarget } from '../integrity/target.js';
import { computeTags, writeInPlace } from '../integrity/write.js';
import { alignedBuffer } from '../io/aligned.js';

export type RangeProgress = (doneSectors: number, totalSectors: number) => void;

export interface WipeOptions {
  /** first logical sector (default 0) */
  from?: number;
  /** end sector, exclusive (default provided_data_sectors) */
  to?: number;
  onProgress?: RangeProgress;
  /** checked between chunks; true stops after the chunk just written and returns its end */
  shouldStop?: () => boolean;
}

/** Writes zeroed data with valid tags over [from, to); returns the sector it stopped at (== to when done). */
export function wipeRange(t: IntegrityTarget, o: WipeOptions = {}): number {
  const from = o.from ?? 0;
  const to = o.to ?? t.provided_data_sectors;
  t.checkRange(from, to - from);
  const zeroes = alignedBuffer(CHUNK_SECTORS * SECTOR_SIZE).fill(0);
  // every zero block of a given sector has a tag that depends on the sector only through keyed/salted hashes,
  // so tags are computed per chunk rather than cached
  let s = from;
  while (s < to) {
    const n = t.contiguousRun(s, Math.min(to - s, CHUNK_SECTORS));
    const chunk = zeroes.subarray(0, n * SECTOR_SIZE);
    writeInPlace(t, s, chunk, computeTags(t, s, chunk), false);
    s += n;
    o.onProgress?.(s - from, to - from);
    if (s < to && o.shouldStop?.()) break;
  }
  t.data.flush();
  if (t.meta !== t.data) t.meta.flush();
  return s;
}
