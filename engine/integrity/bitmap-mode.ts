// Bitmap mode ('B') and what every writable open does with a dirty bitmap, step for step as dm-integrity.c:
//  - dm_integrity_resume(): without DIRTY_BITMAP, replay the journal, then (B mode) set DIRTY_BITMAP and
//    log2_blocks_per_bitmap_bit, write the superblock, clear the bitmaps (bits from recalc_sector on stay set
//    while recalculating) and write the whole bitmap; with DIRTY_BITMAP in B mode, take the on-disk bitmap as the
//    regions to recalculate (RECALCULATING from sector 0 when any bit is set; every bit when the bitmap's
//    granularity differs); with DIRTY_BITMAP in J/D mode, recalculate everything when any bit is set (or the
//    granularity differs), re-initialise the journal, replay it and clear DIRTY_BITMAP.
//  - bitmap_block_work(): before a write into a region whose bit is clear (may_write_bitmap), set the bit and
//    write that 4096-byte bitmap block with FUA (write + flush), then the data and tags go in place.
//  - bitmap_flush_work(): flush data and tags, clear the bits (up to recalc_sector while recalculating) and
//    write the whole bitmap; the kernel runs it bitmap_flush_interval (10 s) after a bit was set — here from
//    flush() once that interval has passed.
//  - integrity_recalc() in B mode: only regions whose recalc bit is set, superblock every 16 chunks.
//  - dm_integrity_postsuspend() in B mode: flush, init_journal(0, all, 0) over the bitmap, clear DIRTY_BITMAP,
//    write the superblock.
import { IntegrityStudioError } from '../errors.js';
import { SB_FLAG_DIRTY_BITMAP, SB_FLAG_RECALCULATING, SECTOR_SIZE, superblockVersion } from '../layout/superblock.js';
import { dataSector, tagOffset } from '../layout/geometry.js';
import { Bitmap, BITMAP_BLOCK_SIZE, BITMAP_OFFSET, bitmapBlocks, log2BlocksPerBitmapBit } from '../layout/bitmap.js';
import type { JournalMode, Volume } from '../volume.js';
import { writeSuperblock } from './superblock-io.js';
import type { JournalPosition } from './journal-writer.js';
import { initJournal, replayOnDisk } from './replay.js';
import { alignedBuffer } from '../io/aligned.js';
import type { TagPoolLike } from './target.js';

/** RECALC_SECTORS and RECALC_WRITE_SUPER (64-bit kernels) */
export const RECALC_SECTORS = 32768;
export const RECALC_WRITE_SUPER = 16;
export const DEFAULT_BITMAP_FLUSH_MS = 10000;

export interface BitmapModeOptions {
  /** --bitmap-sectors-per-bit (default 32768) */
  bitmapSectorsPerBit?: number;
  /** --bitmap-flush-time in ms (default 10000) */
  bitmapFlushTime?: number;
}

/** Reads the on-disk bitmap (n_bitmap_blocks raw blocks at the start of the journal area). */
export function readBitmap(vol: Volume, log2BlocksPerBit: number): Bitmap {
  const n = bitmapBlocks(vol.geometry, log2BlocksPerBit);
  const buf = Buffer.alloc(n * BITMAP_BLOCK_SIZE);
  vol.meta.read(buf, BITMAP_OFFSET);
  return new Bitmap(vol.geometry, log2BlocksPerBit, buf);
}

/** rw_journal_sectors(WRITE | FUA) of bitmap blocks [first, first + count) */
function writeBitmap(vol: Volume, bm: Bitmap, first = 0, count = bm.blocks): void {
  vol.meta.write(bm.bytes.subarray(first * BITMAP_BLOCK_SIZE, (first + count) * BITMAP_BLOCK_SIZE), BITMAP_OFFSET + first * BITMAP_BLOCK_SIZE);
  vol.meta.flush();
}

/** sync_rw_sb(WRITE | FUA) with sb_set_version() */
export function syncSuperblock(vol: Volume, bitmapMode: boolean): void {
  vol.sb.version = superblockVersion(vol.sb.flags, bitmapMode, vol.geometry.meta_dev);
  writeSuperblock(vol);
}

/** For read-only opens of a volume with DIRTY_BITMAP: blocks in dirty regions are not verified. */
export function dirtyRegions(vol: Volume): Bitmap {
  return readBitmap(vol, vol.sb.log2_blocks_per_bitmap_bit);
}

/** The in-memory state of a B-mode session: ic->journal (the on-disk bitmap), recalc_bitmap, may_write_bitmap. */
export class BitmapSession {
  private pendingSince: number | null = null;
  private closed = false;

  constructor(
    readonly vol: Volume,
    readonly disk: Bitmap,
    readonly recalc: Bitmap,
    readonly mayWrite: Bitmap,
    readonly flushIntervalMs: number,
  ) {
    this.updateUnchecked();
  }

  /** reads skip verification where recalc bits are set (dm_integrity_map_continue, B mode) */
  updateUnchecked(): void {
    const r = this.recalc;
    this.vol.target.uncheckedRegion = r.allClear(0, this.vol.geometry.provided_data_sectors) ? null : (s) => r.test(r.bitOf(s));
  }

  /** bitmap_block_work(): make the bits of a range durable before data is written there */
  beforeWrite(sector: number, sectors: number): void {
    if (this.mayWrite.allSet(sector, sectors)) return;
    const d = this.disk;
    const firstBlock = d.blockOf(sector);
    const lastBlock = d.blockOf(sector + sectors - 1);
    d.set(sector, sectors);
    writeBitmap(this.vol, d, firstBlock, lastBlock - firstBlock + 1);
    this.mayWrite.set(sector, sectors);
    if (this.pendingSince === null) this.pendingSince = Date.now();
  }

  /** called after data and tags were flushed: bitmap_flush_work once the flush interval has passed */
  afterFlush(): void {
    if (this.pendingSince !== null && Date.now() - this.pendingSince >= this.flushIntervalMs) this.bitmapFlush();
  }

  /** bitmap_flush_work() */
  bitmapFlush(): void {
    const vol = this.vol;
    vol.data.flush();
    if (vol.data !== vol.meta) vol.meta.flush();
    let limit = vol.geometry.provided_data_sectors;
    if (vol.sb.flags & SB_FLAG_RECALCULATING) {
      const per = 2 ** this.disk.shift;
      limit = Math.floor(vol.sb.recalc_sector / per) * per;
    }
    this.disk.clear(0, limit);
    this.mayWrite.clear(0, limit);
    writeBitmap(vol, this.disk);
    this.pendingSince = null;
  }

  /** dm_integrity_postsuspend() in B mode */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const vol = this.vol;
    vol.data.flush();
    if (vol.data !== vol.meta) vol.meta.flush();
    initJournal(vol, 0, vol.geometry.journal_sections, 0);
    vol.meta.flush();
    vol.sb.flags &= ~SB_FLAG_DIRTY_BITMAP;
    syncSuperblock(vol, true);
  }
}

export interface Resumed {
  /** where the journal continues (journal mode) */
  pos: JournalPosition;
  session: BitmapSession | null;
  /** the open set RECALCULATING because of a dirty bitmap: recalculate() must run */
  recalcNeeded: boolean;
}

/** dm_integrity_resume() for a writable open in `mode`. */
export function resumeVolume(vol: Volume, mode: JournalMode, o: BitmapModeOptions = {}): Resumed {
  const sb = vol.sb;
  const g = vol.geometry;
  const provided = g.provided_data_sectors;
  const lbpb = log2BlocksPerBitmapBit(g, o.bitmapSectorsPerBit);
  const flushMs = o.bitmapFlushTime ?? DEFAULT_BITMAP_FLUSH_MS;
  if (mode === 'bitmap' && (vol.options.journalCrypt || vol.options.journalIntegrity)) {
    // integritysetup refuses these too; the kernel would even write the bitmap through its encrypted journal buffer
    throw new IntegrityStudioError('journal options (--journal-integrity, --journal-crypt) cannot be used in bitmap mode, as with integritysetup');
  }
  const recalcFromStart = () => {
    sb.flags |= SB_FLAG_RECALCULATING;
    sb.recalc_sector = 0;
  };
  if (sb.flags & SB_FLAG_DIRTY_BITMAP) {
    const disk = readBitmap(vol, lbpb);
    let recalcNeeded = false;
    if (mode === 'bitmap') {
      const recalc = new Bitmap(g, lbpb);
      const mayWrite = new Bitmap(g, lbpb);
      if (sb.log2_blocks_per_bitmap_bit === lbpb) {
        recalc.copyFrom(disk);
        mayWrite.copyFrom(disk);
        if (!disk.allClear(0, provided)) {
          recalcFromStart();
          recalcNeeded = true;
        }
      } else {
        // the bitmap was kept at another granularity: everything is dirty
        sb.log2_blocks_per_bitmap_bit = lbpb;
        recalc.set(0, provided);
        mayWrite.set(0, provided);
        disk.set(0, provided);
        writeBitmap(vol, disk);
        recalcFromStart();
        recalcNeeded = true;
      }
      syncSuperblock(vol, true);
      const session = new BitmapSession(vol, disk, recalc, mayWrite, flushMs);
      return { pos: { free_section: 0, commit_seq: 0 }, session, recalcNeeded };
    }
    if (!(sb.log2_blocks_per_bitmap_bit === lbpb && disk.allClear(0, provided))) {
      recalcFromStart();
      recalcNeeded = true;
    }
    initJournal(vol, 0, g.journal_sections, 0);
    vol.meta.flush();
    sb.flags &= ~SB_FLAG_DIRTY_BITMAP; // in memory; on disk with the superblock write below, as the kernel
    const pos = replayOnDisk(vol);
    syncSuperblock(vol, false);
    return { pos, session: null, recalcNeeded };
  }
  const pos = replayOnDisk(vol);
  if (mode !== 'bitmap') return { pos, session: null, recalcNeeded: false };
  sb.flags |= SB_FLAG_DIRTY_BITMAP;
  sb.log2_blocks_per_bitmap_bit = lbpb;
  syncSuperblock(vol, true);
  const disk = new Bitmap(g, lbpb);
  const recalc = new Bitmap(g, lbpb);
  const mayWrite = new Bitmap(g, lbpb);
  if (sb.flags & SB_FLAG_RECALCULATING && sb.recalc_sector < provided) {
    for (const bm of [disk, recalc, mayWrite]) bm.set(sb.recalc_sector, provided - sb.recalc_sector);
  }
  writeBitmap(vol, disk);
  return { pos, session: new BitmapSession(vol, disk, recalc, mayWrite, flushMs), recalcNeeded: false };
}

/**
 * integrity_recalc(): recompute tags from recalc_sector to the end, in chunks of RECALC_SECTORS within an
 * interleave area, persisting recalc_sector every RECALC_WRITE_SUPER chunks. In B mode only regions whose
 * recalc bit is set are read and hashed, and their bits are cleared as they are done. RECALCULATING stays set
 * with recalc_sector = provided_data_sectors at the end, as the kernel leaves it.
 */
export function recalculate(
  vol: Volume,
  session: BitmapSession | null,
  onProgress?: (done: number, total: number) => void,
  shouldStop?: () => boolean,
  /** two-core tag computation over its own shared buffer of at least RECALC_SECTORS sectors (jobs) */
  pool?: TagPoolLike,
): boolean {
  const sb = vol.sb;
  const g = vol.geometry;
  const t = vol.target;
  const provided = g.provided_data_sectors;
  const spb = g.sectors_per_block;
  const buf = pool ? pool.data : alignedBuffer(RECALC_SECTORS * SECTOR_SIZE);
  const tags = pool ? pool.tags : Buffer.alloc((RECALC_SECTORS / spb) * g.tag_size);
  let superCounter = 0;
  // with a two-buffer pool, the next chunk is read while this one is hashed (only in the sequential case, where the
  // next chunk is known: no recalc bitmap)
  const piped = pool?.buffers && pool.begin && pool.finish ? pool : null;
  let pre: { ls: number; ns: number; which: 0 | 1 } | null = null;
  let nextBuf: 0 | 1 = 0;
  const writeSuper = () => {
    vol.meta.flush(); // recalc_write_super: dm_integrity_flush_buffers(ic, false), then the superblock
    syncSuperblock(vol, !!session);
  };
  while (sb.recalc_sector < provided) {
    const start = sb.recalc_sector;
    let n = Math.min(RECALC_SECTORS, provided - start);
    if (!g.meta_dev) n = Math.min(n, 2 ** g.log2_interleave_sectors - (start % 2 ** g.log2_interleave_sectors));
    let ls = start;
    let ns = n;
    const rb = session?.recalc;
    if (!rb?.allClear(ls, ns)) {
      if (rb) {
        while (rb.allClear(ls, spb)) {
          ls += spb;
          ns -= spb;
        }
        while (rb.allClear(ls + ns - spb, spb)) ns -= spb;
      }
      if (++superCounter === RECALC_WRITE_SUPER) {
        writeSuper();
        superCounter = 0;
      }
      const hit: boolean = !!piped && pre !== null && pre.ls === ls && pre.ns === ns;
      const which: 0 | 1 = hit ? pre!.which : nextBuf;
      pre = null;
      const data = (piped ? piped.buffers![which] : buf).subarray(0, ns * SECTOR_SIZE);
      const nt = (ns / spb) * g.tag_size;
      // native: the chunk read and hashed on every core at once; a failed read is read again through the device,
      // which raises the error in its own words (or reads it now)
      const src = piped?.beginRead && !hit ? (vol.data.nativeSource?.(dataSector(g, ls) * SECTOR_SIZE) ?? null) : null;
      let hashed = false;
      if (src && piped!.beginRead!(which, src, ls, ns * SECTOR_SIZE)) hashed = piped!.finish!() === 0;
      if (!hashed && !hit) vol.data.read(data, dataSector(g, ls) * SECTOR_SIZE);
      if (hashed) {
        // the tags are in pool.tags
      } else if (piped) {
        piped.begin!(which, ls, ns * SECTOR_SIZE);
        const next = start + n;
        const other: 0 | 1 = which === 0 ? 1 : 0;
        if (!rb && next < provided) {
          let n2 = Math.min(RECALC_SECTORS, provided - next);
          if (!g.meta_dev) n2 = Math.min(n2, 2 ** g.log2_interleave_sectors - (next % 2 ** g.log2_interleave_sectors));
          try {
            vol.data.read(piped.buffers![other].subarray(0, n2 * SECTOR_SIZE), dataSector(g, next) * SECTOR_SIZE);
            pre = { ls: next, ns: n2, which: other };
          } catch {
            pre = null; // read again (and failing there) when it is its turn
          }
        }
        nextBuf = other;
        piped.finish!();
      } else if (pool) pool.compute(ls, ns * SECTOR_SIZE);
      else t.hasher.tagRun(ls, g.block_size, data, tags, 0);
      vol.meta.write(tags.subarray(0, nt), tagOffset(g, ls));
      if (rb) {
        const per = 2 ** rb.shift;
        const s = Math.floor(start / per) * per;
        const e = Math.floor((start + n) / per) * per;
        rb.clear(s, e - s);
        session!.updateUnchecked();
      }
    }
    sb.recalc_sector = start + n;
    onProgress?.(sb.recalc_sector, provided);
    if (sb.recalc_sector < provided && shouldStop?.()) {
      // paused: the tags so far become durable before the superblock says they are done
      writeSuper();
      return false;
    }
  }
  if (session) {
    session.recalc.clear(0, provided);
    session.updateUnchecked();
    session.bitmapFlush();
  }
  writeSuper();
  return true;
}
