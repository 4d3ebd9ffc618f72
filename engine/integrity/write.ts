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

/** Writes data and tags in place, run by run (within a run data and tags are contiguous). */
export function writeInPlace(t: IntegrityTarget, sector: number, data: Uint8Array, tags?: Uint8Array): void {
  const sectors = data.length / SECTOR_SIZE;
  const g = t.geometry;
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
