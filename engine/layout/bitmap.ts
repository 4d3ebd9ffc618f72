// Bitmap mode ('B') structures, as dm-integrity.c keeps them: the dirty bitmap lives in the journal area while
// DIRTY_BITMAP is set, as raw 4096-byte blocks (BITMAP_BLOCK_SIZE) from the first journal sector (SB_SECTORS);
// bit = sector >> (log2_sectors_per_block + log2_blocks_per_bitmap_bit), stored in little-endian unsigned longs
// (test_bit on x86-64), i.e. bit k is bit (k & 7) of byte k >> 3. Mirrors block_bitmap_op() and the bitmap
// sizing in dm_integrity_ctr(). No I/O here.
import { FormatError } from '../errors.js';
import { SB_SECTORS, SECTOR_SIZE } from './superblock.js';
import type { Geometry } from './geometry.js';

export const BITMAP_BLOCK_SIZE = 4096;
export const BITMAP_BLOCK_BITS = BITMAP_BLOCK_SIZE * 8;
export const DEFAULT_SECTORS_PER_BITMAP_BIT = 32768;
/** the bitmap's byte offset on the metadata device */
export const BITMAP_OFFSET = SB_SECTORS * SECTOR_SIZE;

/**
 * dm_integrity_ctr: log2 of blocks per bitmap bit. From sectors_per_bit (integritysetup --bitmap-sectors-per-bit,
 * default 32768), at least one block, grown until the bits fit in the journal area.
 */
export function log2BlocksPerBitmapBit(g: Geometry, sectorsPerBit = DEFAULT_SECTORS_PER_BITMAP_BIT): number {
  if (!Number.isInteger(sectorsPerBit) || sectorsPerBit < 0) throw new FormatError(`invalid bitmap sectors per bit ${sectorsPerBit}`);
  let log2 = sectorsPerBit === 0 ? 0 : Math.floor(Math.log2(sectorsPerBit));
  if (log2 < g.log2_sectors_per_block) log2 = g.log2_sectors_per_block;
  const bitsInJournal = Math.min(0xffffffff, g.journal_section_sectors * g.journal_sections * SECTOR_SIZE * 8);
  if (bitsInJournal) {
    while (bitsInJournal < Math.floor((g.provided_data_sectors + 2 ** log2 - 1) / 2 ** log2)) log2++;
  }
  return log2 - g.log2_sectors_per_block;
}

/** n_bitmap_blocks */
export function bitmapBlocks(g: Geometry, log2BlocksPerBit: number): number {
  const blocks = Math.floor(g.provided_data_sectors / g.sectors_per_block);
  const bits = Math.ceil(blocks / 2 ** log2BlocksPerBit);
  return Math.ceil(bits / BITMAP_BLOCK_BITS);
}

/** One bitmap (the on-disk one, or the kernel's recalc_bitmap / may_write_bitmap copies). */
export class Bitmap {
  /** log2 of sectors per bit */
  readonly shift: number;
  readonly blocks: number;
  readonly bytes: Buffer;

  constructor(
    readonly geometry: Geometry,
    readonly log2BlocksPerBit: number,
    bytes?: Buffer,
  ) {
    this.shift = geometry.log2_sectors_per_block + log2BlocksPerBit;
    this.blocks = bitmapBlocks(geometry, log2BlocksPerBit);
    const journalBytes = geometry.journal_section_sectors * geometry.journal_sections * SECTOR_SIZE;
    if (this.blocks * BITMAP_BLOCK_SIZE > Math.ceil(journalBytes / BITMAP_BLOCK_SIZE) * BITMAP_BLOCK_SIZE) {
      throw new FormatError(`the bitmap (${this.blocks} blocks) does not fit in the journal area`);
    }
    this.bytes = bytes ? Buffer.from(bytes.subarray(0, this.blocks * BITMAP_BLOCK_SIZE)) : Buffer.alloc(this.blocks * BITMAP_BLOCK_SIZE);
    if (this.bytes.length < this.blocks * BITMAP_BLOCK_SIZE) throw new FormatError('bitmap is truncated');
  }

  /** the bitmap bit of a sector */
  bitOf(sector: number): number {
    return Math.floor(sector / 2 ** this.shift);
  }

  /** sector_to_bitmap_block(): index of the 4096-byte bitmap block holding the bit of `sector` */
  blockOf(sector: number): number {
    return Math.floor(this.bitOf(sector) / BITMAP_BLOCK_BITS);
  }

  test(bit: number): boolean {
    return (this.bytes[bit >> 3]! & (1 << (bit & 7))) !== 0;
  }

  private range(sector: number, sectors: number): [number, number] | null {
    const spb = this.geometry.sectors_per_block;
    if ((sector | sectors) % spb) throw new FormatError(`invalid bitmap access (${sector}, ${sectors})`);
    if (!sectors) return null;
    return [this.bitOf(sector), this.bitOf(sector + sectors - 1)];
  }

  /** BITMAP_OP_TEST_ALL_SET */
  allSet(sector: number, sectors: number): boolean {
    const r = this.range(sector, sectors);
    if (!r) return true;
    for (let b = r[0]; b <= r[1]; b++) if (!this.test(b)) return false;
    return true;
  }

  /** BITMAP_OP_TEST_ALL_CLEAR */
  allClear(sector: number, sectors: number): boolean {
    const r = this.range(sector, sectors);
    if (!r) return true;
    for (let b = r[0]; b <= r[1]; b++) if (this.test(b)) return false;
    return true;
  }

  /** BITMAP_OP_SET */
  set(sector: number, sectors: number): void {
    const r = this.range(sector, sectors);
    if (r) for (let b = r[0]; b <= r[1]; b++) this.bytes[b >> 3]! |= 1 << (b & 7);
  }

  /** BITMAP_OP_CLEAR */
  clear(sector: number, sectors: number): void {
    const r = this.range(sector, sectors);
    if (r) for (let b = r[0]; b <= r[1]; b++) this.bytes[b >> 3]! &= ~(1 << (b & 7));
  }

  /** block_bitmap_copy() */
  copyFrom(other: Bitmap): void {
    other.bytes.copy(this.bytes);
  }

  /** the sectors of the regions whose bit is set, as [start, sectors] runs clipped to the provided data */
  dirtyRuns(): Array<[number, number]> {
    const runs: Array<[number, number]> = [];
    const per = 2 ** this.shift;
    const total = this.geometry.provided_data_sectors;
    const nbits = Math.ceil(total / per);
    for (let b = 0; b < nbits; b++) {
      if (!this.test(b)) continue;
      const start = b * per;
      const end = Math.min(total, start + per);
      const last = runs[runs.length - 1];
      if (last && last[0] + last[1] === start) last[1] += end - start;
      else runs.push([start, end - start]);
    }
    return runs;
  }

  /** 4096-byte block `i` of the bitmap, as written at BITMAP_OFFSET + i * 4096 */
  block(i: number): Buffer {
    return this.bytes.subarray(i * BITMAP_BLOCK_SIZE, (i + 1) * BITMAP_BLOCK_SIZE);
  }
}
