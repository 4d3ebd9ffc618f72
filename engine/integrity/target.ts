// IntegrityTarget: a dm-integrity volume over one or two BlockDevices — read with verification
// (dm_integrity_map / integrity_metadata with TAG_CMP), the recalculation read rule, discard filler tags,
// and an in-memory overlay for a journal that has not been replayed on disk.
import { IntegrityError, IntegrityStudioError } from '../errors.js';
import { SB_FLAG_RECALCULATING, SECTOR_SIZE, type Superblock } from '../layout/superblock.js';
import { dataSector, type Geometry, tagOffset } from '../layout/geometry.js';
import type { BlockDevice, NativeSource } from '../io/device.js';
import { alignedBuffer } from '../io/aligned.js';
import type { TagHasher } from '../hash/index.js';

export const DISCARD_FILLER = 0xf6;
/** sectors per chunk for bulk reads (4 MiB): large enough for throughput, small enough for bounded memory */
export const CHUNK_SECTORS = 8192;

import type { BlockUncheckedReason as UncheckedReason } from '../api.js';

export type { UncheckedReason };

export interface ReadStats {
  /** blocks whose tag was checked */
  checked_blocks: number;
  /** blocks whose tag did not match */
  mismatched_blocks: number;
  /** blocks not checked: at or past recalc_sector while recalculating, or in a dirty bitmap region */
  unchecked_blocks: number;
  /** the same, by reason (a block at or past recalc_sector counts there even inside a dirty region) */
  unchecked: Record<UncheckedReason, number>;
  /** blocks carrying the discard filler tag */
  discarded_blocks: number;
}

/** One block as the journal would leave it after replay (data and tag), keyed by its first logical sector. */
export interface OverlayBlock {
  data: Buffer;
  tag: Buffer;
}

/** engine/jobs/tag-pool.ts TagPool as the target uses it (tags of a whole run at once, on every core). */
export interface TagPoolLike {
  readonly data: Buffer;
  readonly tags: Buffer;
  compute(sector: number, bytes: number): void;
  /** two chunk buffers, and begin/finish to hash one while reading into the other */
  readonly buffers?: readonly [Buffer, Buffer];
  begin?(which: 0 | 1, sector: number, bytes: number): void;
  /** 0, or the errno of a failed beginRead() (the run is then read again through the device) */
  finish?(): number;
  /** reads and hashes on every core (native): false when it cannot, see engine/jobs/tag-pool.ts */
  beginRead?(which: 0 | 1, src: NativeSource, sector: number, bytes: number): boolean;
}

export type BadBlockHandler = (sector: number) => void;

export class IntegrityTarget {
  readonly stats: ReadStats = {
    checked_blocks: 0,
    mismatched_blocks: 0,
    unchecked_blocks: 0,
    unchecked: { recalculating: 0, 'dirty-bitmap': 0 },
    discarded_blocks: 0,
  };
  /** logical block start sector → its replayed contents, for a journal not yet replayed on disk */
  overlay: Map<number, OverlayBlock> = new Map();
  /** predicate for blocks the kernel would not verify because their bitmap region is dirty */
  uncheckedRegion: ((sector: number) => boolean) | null = null;
  /** told of each block read with the discard filler tag (the crash torture checks which blocks are discarded) */
  onDiscarded: ((sector: number) => void) | null = null;
  /**
   * Two-core tag computation for bulk verification (scrub): when set, runs read into its shared buffer and
   * the expected tags of a whole run are computed at once (engine/jobs/tag-pool.ts).
   */
  tagPool: TagPoolLike | null = null;
  /** the next run, read ahead into the pool's other buffer while this one was hashed (verify only) */
  private prefetched: { which: 0 | 1; sector: number; sectors: number } | null = null;
  private nextBuf: 0 | 1 = 0;
  private dataBuf: Buffer | null = null;
  private tagBuf: Buffer | null = null;
  private readonly expected: Buffer;
  private runTagBuf: Buffer | null = null;

  constructor(
    readonly sb: Superblock,
    readonly geometry: Geometry,
    /** device holding superblock, journal and tags (the only device without a separate data device) */
    readonly meta: BlockDevice,
    /** device holding the data (=== meta without a separate data device) */
    readonly data: BlockDevice,
    readonly hasher: TagHasher,
  ) {
    this.expected = Buffer.alloc(geometry.tag_size);
  }

  get provided_data_sectors(): number {
    return this.geometry.provided_data_sectors;
  }

  get recalculating(): boolean {
    return (this.sb.flags & SB_FLAG_RECALCULATING) !== 0;
  }

  /** Why the kernel does not verify the block starting at `sector`, or null when it does. */
  uncheckedReason(sector: number): UncheckedReason | null {
    if (this.recalculating && sector >= this.sb.recalc_sector) return 'recalculating';
    if (this.uncheckedRegion?.(sector)) return 'dirty-bitmap';
    return null;
  }

  private buffers(): { data: Buffer; tags: Buffer } {
    if (!this.dataBuf) {
      this.dataBuf = this.tagPool && this.tagPool.data.length >= CHUNK_SECTORS * SECTOR_SIZE ? this.tagPool.data : alignedBuffer(CHUNK_SECTORS * SECTOR_SIZE);
      this.tagBuf = alignedBuffer((CHUNK_SECTORS / this.geometry.sectors_per_block) * this.geometry.tag_size + SECTOR_SIZE);
    }
    return { data: this.dataBuf, tags: this.tagBuf! };
  }

  /** The largest run from `sector` (≤ maxSectors) whose data and tags are each contiguous on disk. */
  contiguousRun(sector: number, maxSectors: number): number {
    const g = this.geometry;
    let n = Math.min(maxSectors, g.provided_data_sectors - sector);
    if (!g.meta_dev) {
      const il = 2 ** g.log2_interleave_sectors;
      n = Math.min(n, il - (sector % il));
    }
    return n;
  }

  checkRange(sector: number, sectors: number): void {
    const spb = this.geometry.sectors_per_block;
    if (!Number.isInteger(sector) || !Number.isInteger(sectors) || sector < 0 || sectors < 0) {
      throw new IntegrityStudioError(`invalid range: sector ${sector}, ${sectors} sectors`);
    }
    if (sector % spb || sectors % spb) {
      throw new IntegrityStudioError(`range must be aligned to the ${spb * SECTOR_SIZE}-byte block size (sector ${sector}, ${sectors} sectors)`);
    }
    if (sector + sectors > this.geometry.provided_data_sectors) {
      throw new IntegrityStudioError(`range ends at sector ${sector + sectors}, past the end of the volume (${this.geometry.provided_data_sectors} sectors)`);
    }
  }

  /**
   * Reads and verifies `sectors` sectors from `sector` into out[outOffset..]. Each block whose tag mismatches
   * is reported to onBad (which may throw); without onBad the first bad block throws an IntegrityError.
   * Returns the number of bad blocks.
   */
  read(sector: number, sectors: number, out: Buffer, outOffset = 0, onBad?: BadBlockHandler): number {
    this.checkRange(sector, sectors);
    let bad = 0;
    let done = 0;
    while (done < sectors) {
      const s = sector + done;
      const n = this.contiguousRun(s, Math.min(sectors - done, CHUNK_SECTORS));
      bad += this.readRun(s, n, out, outOffset + done * SECTOR_SIZE, onBad);
      done += n;
    }
    return bad;
  }

  /** Verifies a range without returning data (scrub). */
  verify(sector: number, sectors: number, onBad: BadBlockHandler): number {
    this.checkRange(sector, sectors);
    let bad = 0;
    let done = 0;
    while (done < sectors) {
      const s = sector + done;
      const n = this.contiguousRun(s, Math.min(sectors - done, CHUNK_SECTORS));
      bad += this.readRun(s, n, null, 0, onBad);
      done += n;
    }
    return bad;
  }

  /**
   * Reads data and tags of `sectors` sectors from `sector` without verifying them (a volume without internal
   * hash: the layer above checks the tags), as the kernel would present them after replaying its journal.
   * Data to out[outOffset..], tags (tag_size per block) to tags[tagsOffset..].
   */
  readRaw(sector: number, sectors: number, out: Buffer, outOffset: number, tags: Buffer, tagsOffset: number): void {
    this.checkRange(sector, sectors);
    const g = this.geometry;
    const spb = g.sectors_per_block;
    let done = 0;
    while (done < sectors) {
      const s = sector + done;
      const n = this.contiguousRun(s, sectors - done);
      const tb = tagsOffset + (done / spb) * g.tag_size;
      this.data.read(out.subarray(outOffset + done * SECTOR_SIZE, outOffset + (done + n) * SECTOR_SIZE), dataSector(g, s) * SECTOR_SIZE);
      this.meta.read(tags.subarray(tb, tb + (n / spb) * g.tag_size), tagOffset(g, s));
      done += n;
    }
    if (this.overlay.size) {
      for (let b = 0; b < sectors / spb; b++) {
        const o = this.overlay.get(sector + b * spb);
        if (!o) continue;
        o.data.copy(out, outOffset + b * g.block_size);
        o.tag.copy(tags, tagsOffset + b * g.tag_size);
      }
    }
  }

  /** Reads the stored tags of a contiguous run into a buffer (tag_size bytes per block). */
  readTags(sector: number, sectors: number, into?: Buffer): Buffer {
    const g = this.geometry;
    const nblocks = sectors / g.sectors_per_block;
    const tags = into ?? Buffer.alloc(nblocks * g.tag_size);
    this.meta.read(tags.subarray(0, nblocks * g.tag_size), tagOffset(g, sector));
    return tags;
  }

  private readRun(sector: number, sectors: number, out: Buffer | null, outOffset: number, onBad?: BadBlockHandler): number {
    const g = this.geometry;
    const spb = g.sectors_per_block;
    const bs = g.block_size;
    const nblocks = sectors / spb;
    const { data, tags } = this.buffers();
    const pool = this.tagPool;
    // scrub with a pool of two buffers: this run may already have been read while the previous one was hashed
    const piped = !out && pool?.buffers && pool.begin && pool.finish && pool.buffers[0].length >= sectors * SECTOR_SIZE ? pool : null;
    const pre = this.prefetched;
    this.prefetched = null;
    const hit: boolean = !!piped && !!pre && pre!.sector === sector && pre!.sectors === sectors;
    const which: 0 | 1 = hit ? pre!.which : this.nextBuf;
    const dataView = out
      ? out.subarray(outOffset, outOffset + sectors * SECTOR_SIZE)
      : (piped ? piped.buffers![which] : data).subarray(0, sectors * SECTOR_SIZE);
    const tagView = tags.subarray(0, nblocks * g.tag_size);
    // native: the run read and hashed on every core at once (each thread preads a batch and hashes it from its
    // cache), the stored tags read meanwhile. Not with a journal overlay, whose blocks go in before the hashing.
    const src = piped?.beginRead && !hit && !this.overlay.size ? (this.data.nativeSource?.(dataSector(g, sector) * SECTOR_SIZE) ?? null) : null;
    let hashed = false;
    if (src && piped!.beginRead!(which, src, sector, sectors * SECTOR_SIZE)) {
      let rc = 0;
      try {
        this.meta.read(tagView, tagOffset(g, sector));
      } finally {
        rc = piped!.finish!();
      }
      hashed = rc === 0;
      // a read failed there: read the run again through the device, which raises the error in its own words
      // (or reads it now), and hash it below
      if (!hashed) this.data.read(dataView, dataSector(g, sector) * SECTOR_SIZE);
    } else {
      if (!hit) this.data.read(dataView, dataSector(g, sector) * SECTOR_SIZE);
      this.meta.read(tagView, tagOffset(g, sector));
    }
    const ts = g.tag_size;
    const expected = this.expected;
    const overlaid = this.overlay.size ? new Map<number, Buffer>() : null;
    if (overlaid) {
      for (let b = 0; b < nblocks; b++) {
        const o = this.overlay.get(sector + b * spb);
        if (o) {
          o.data.copy(dataView, b * bs);
          overlaid.set(b, o.tag);
        }
      }
    }
    // the expected tags of the whole run at once on every core, when the run sits in one of the pool's buffers
    const batch = piped ?? (pool && dataView.buffer === pool.data.buffer && dataView.byteOffset === pool.data.byteOffset ? pool : null);
    if (piped && !hashed) {
      piped.begin!(which, sector, sectors * SECTOR_SIZE);
      // read the next run (as the scrub will ask for it) into the other buffer while this one is hashed; a read
      // error here is not reported: the run is read again when it is asked for, and fails there
      const next = sector + sectors;
      if (next < g.provided_data_sectors) {
        const ns = this.contiguousRun(next, CHUNK_SECTORS);
        const other: 0 | 1 = which === 0 ? 1 : 0;
        try {
          this.data.read(piped.buffers![other].subarray(0, ns * SECTOR_SIZE), dataSector(g, next) * SECTOR_SIZE);
          this.prefetched = { which: other, sector: next, sectors: ns };
        } catch {
          this.prefetched = null;
        }
      }
      this.nextBuf = which === 0 ? 1 : 0;
      piped.finish!();
    } else if (!piped) batch?.compute(sector, sectors * SECTOR_SIZE);
    // the common case of a scrub: every block checked and every tag right — one comparison for the whole run
    if (batch && !overlaid && !this.uncheckedRegion && (!this.recalculating || sector + sectors <= this.sb.recalc_sector)) {
      const n = nblocks * ts;
      if (batch.tags.compare(tagView, 0, n, 0, n) === 0) {
        this.stats.checked_blocks += nblocks;
        return 0;
      }
    }
    // without a pool: the tags of the whole run in one call when the hashes are native
    let runTags: Buffer | null = null;
    if (!batch && this.hasher.native && nblocks > 1) {
      if (!this.runTagBuf || this.runTagBuf.length < nblocks * ts) this.runTagBuf = Buffer.alloc((CHUNK_SECTORS / spb) * ts);
      runTags = this.runTagBuf;
      this.hasher.tagRun(sector, bs, dataView, runTags, 0);
    }
    // block by block (a run with a bad block in it): compared in place, no view made per block — a failing disk
    // with every other block bad is scrubbed at the speed of a clean one
    const all = batch ? batch.tags : runTags;
    let bad = 0;
    for (let b = 0; b < nblocks; b++) {
      const s = sector + b * spb;
      const why = this.uncheckedReason(s);
      if (why) {
        this.stats.unchecked_blocks++;
        this.stats.unchecked[why]++;
        continue;
      }
      const o = b * ts;
      const over = overlaid?.get(b);
      let same: boolean;
      if (all) same = over ? all.compare(over, 0, ts, o, o + ts) === 0 : all.compare(tagView, o, o + ts, o, o + ts) === 0;
      else {
        this.hasher.tag(s, dataView.subarray(b * bs, (b + 1) * bs), expected, 0);
        same = over ? expected.equals(over) : expected.compare(tagView, o, o + ts, 0, ts) === 0;
      }
      this.stats.checked_blocks++;
      if (same) continue;
      if (over ? isFiller(over, 0, ts) : isFiller(tagView, o, ts)) {
        this.stats.discarded_blocks++;
        this.onDiscarded?.(s);
        continue;
      }
      this.stats.mismatched_blocks++;
      bad++;
      if (onBad) onBad(s);
      else throw new IntegrityError(s);
    }
    return bad;
  }
}

function isFiller(tags: Buffer, at: number, size: number): boolean {
  for (let i = at; i < at + size; i++) if (tags[i] !== DISCARD_FILLER) return false;
  return true;
}
