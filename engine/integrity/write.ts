// Direct-mode writes and discards (the kernel's 'D' mode and REQ_OP_DISCARD): data and tags go straight to
// their places, with no journal. A crash between the two can leave a block whose tag does not match its
// data — which is why the kernel (and this product) defaults to the journal.
import { IntegrityStudioError } from '../errors.js';
import { SECTOR_SIZE } from '../layout/superblock.js';
import { dataSector, tagOffset } from '../layout/geometry.js';
import { DISCARD_FILLER, type IntegrityTarget } from './target.js';

/** Checks that `data` is whole blocks inside the volume; returns the number of sectors. */
export function checkWrite(t: IntegrityTarget, sector: number, data: Uint8Array): number {
  const bs = t.geometry.block_size;
  if (data.length % bs) throw new IntegrityStudioError(`write length ${data.length} is not a multiple of the ${bs}-byte block size`);
  const sectors = data.length / SECTOR_SIZE;
  t.checkRange(sector, sectors);
  return sectors;
}

/** Computes the tags of whole blocks of `data` starting at logical `sector` into a new buffer. */
export function computeTags(t: IntegrityTarget, sector: number, data: Uint8Array): Buffer {
  const g = t.geometry;
  const n = data.length / g.block_size;
  const tags = Buffer.alloc(n * g.tag_size);
  // one call for the run (native: on every core when it is large)
  if (n) t.hasher.tagRun(sector, g.block_size, data.subarray(0, n * g.block_size), tags, 0);
  return tags;
}

/** an error that means the file system under a sparse image is full */
export function isNoSpace(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === 'ENOSPC' || (e as NodeJS.ErrnoException | null)?.code === 'EDQUOT';
}

/** Rewrites `len` bytes at `pos` with what they hold now: the file system allocates them; their contents stay. */
export function rewriteSame(dev: IntegrityTarget['data'], pos: number, len: number): void {
  const step = 4 << 20;
  for (let off = 0; off < len; off += step) {
    const b = Buffer.allocUnsafe(Math.min(step, len - off));
    dev.read(b, pos + off);
    dev.write(b, pos + off);
  }
}

/**
 * On a sparse image (BlockDevice.hasHoles), makes the file system allocate the data and tag bytes of `sectors` at
 * logical `sector` by writing their present contents back, so that a full file system fails here (ENOSPC) with
 * nothing changed, not half-way through a write. Returns false when nothing needed reserving.
 */
export function reserveInPlace(t: IntegrityTarget, sector: number, sectors: number): boolean {
  if (!t.data.hasHoles?.() && !(t.meta !== t.data && t.meta.hasHoles?.())) return false;
  const g = t.geometry;
  let done = 0;
  try {
    while (done < sectors) {
      const s = sector + done;
      const n = t.contiguousRun(s, sectors - done);
      rewriteSame(t.data, dataSector(g, s) * SECTOR_SIZE, n * SECTOR_SIZE);
      rewriteSame(t.meta, tagOffset(g, s), (n / g.sectors_per_block) * g.tag_size);
      done += n;
    }
  } catch (e) {
    if (!isNoSpace(e)) throw e;
    throw new IntegrityStudioError(
      `${t.data.name}: no space left on device (the file system holding it is full): the ${sectors / g.sectors_per_block} block(s) at sector ${sector} were not written; the volume is as it was`,
      'ENOSPC',
    );
  }
  return true;
}

/** Writes data and tags in place, run by run (within a run data and tags are contiguous). `reserve`: first
 *  reserveInPlace the range (false when the caller already did). */
export function writeInPlace(t: IntegrityTarget, sector: number, data: Uint8Array, tags?: Uint8Array, reserve = true): void {
  const sectors = data.length / SECTOR_SIZE;
  const g = t.geometry;
  if (reserve) reserveInPlace(t, sector, sectors);
  let done = 0;
  while (done < sectors) {
    const s = sector + done;
    const n = t.contiguousRun(s, sectors - done);
    const chunk = data.subarray(done * SECTOR_SIZE, (done + n) * SECTOR_SIZE);
    const tb = (done / g.sectors_per_block) * g.tag_size;
    const chunkTags = tags ? tags.subarray(tb, tb + (n / g.sectors_per_block) * g.tag_size) : computeTags(t, s, chunk);
    t.data.write(chunk, dataSector(g, s) * SECTOR_SIZE);
    t.meta.write(chunkTags, tagOffset(g, s));
    done += n;
  }
}

/** Writes the discard filler tag over a range (dm-integrity with allow_discards); data is left as it is. */
export function discardTags(t: IntegrityTarget, sector: number, sectors: number): void {
  t.checkRange(sector, sectors);
  const g = t.geometry;
  let done = 0;
  while (done < sectors) {
    const s = sector + done;
    const n = t.contiguousRun(s, sectors - done);
    t.meta.write(Buffer.alloc((n / g.sectors_per_block) * g.tag_size, DISCARD_FILLER), tagOffset(g, s));
    done += n;
  }
}
