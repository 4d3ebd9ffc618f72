// dm-integrity superblock: struct superblock in drivers/md/dm-integrity.c. Little-endian, 8-sector area.
import { FormatError } from '../errors.js';

export const SECTOR_SIZE = 512;
export const SB_SECTORS = 8;
export const SB_MAGIC = Buffer.from('integrt\0', 'latin1');
export const SALT_SIZE = 16;

export const SB_VERSION_1 = 1;
export const SB_VERSION_2 = 2;
export const SB_VERSION_3 = 3;
export const SB_VERSION_4 = 4;
export const SB_VERSION_5 = 5;
export const SB_VERSION_6 = 6;

export const SB_FLAG_HAVE_JOURNAL_MAC = 0x1;
export const SB_FLAG_RECALCULATING = 0x2;
export const SB_FLAG_DIRTY_BITMAP = 0x4;
export const SB_FLAG_FIXED_PADDING = 0x8;
export const SB_FLAG_FIXED_HMAC = 0x10;
export const SB_FLAG_INLINE = 0x20;

export const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [SB_FLAG_HAVE_JOURNAL_MAC, 'have_journal_mac'],
  [SB_FLAG_RECALCULATING, 'recalculating'],
  [SB_FLAG_DIRTY_BITMAP, 'dirty_bitmap'],
  [SB_FLAG_FIXED_PADDING, 'fix_padding'],
  [SB_FLAG_FIXED_HMAC, 'fix_hmac'],
  [SB_FLAG_INLINE, 'inline'],
];

export const MIN_LOG2_INTERLEAVE_SECTORS = 3;
export const MAX_LOG2_INTERLEAVE_SECTORS = 31;

export interface Superblock {
  version: number;
  log2_interleave_sectors: number;
  integrity_tag_size: number;
  journal_sections: number;
  provided_data_sectors: number;
  flags: number;
  log2_sectors_per_block: number;
  log2_blocks_per_bitmap_bit: number;
  recalc_sector: number;
  salt: Buffer;
}

export function flagNames(flags: number): string[] {
  return FLAG_NAMES.filter(([bit]) => flags & bit).map(([, name]) => name);
}

function u64(buf: Buffer, off: number, field: string): number {
  const v = buf.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError(`superblock field ${field} is absurd (${v})`);
  return Number(v);
}

/** Decodes and sanity-checks a superblock (the checks dm_integrity_ctr makes after reading it). */
export function decodeSuperblock(buf: Buffer): Superblock {
  if (buf.length < SECTOR_SIZE) throw new FormatError('device is too small to hold a dm-integrity superblock');
  if (!buf.subarray(0, 8).equals(SB_MAGIC)) {
    throw new FormatError('no dm-integrity superblock: wrong magic (expected "integrt")');
  }
  const sb: Superblock = {
    version: buf[8]!,
    log2_interleave_sectors: buf[9]!,
    integrity_tag_size: buf.readUInt16LE(10),
    journal_sections: buf.readUInt32LE(12),
    provided_data_sectors: u64(buf, 16, 'provided_data_sectors'),
    flags: buf.readUInt32LE(24),
    log2_sectors_per_block: buf[28]!,
    log2_blocks_per_bitmap_bit: buf[29]!,
    recalc_sector: u64(buf, 32, 'recalc_sector'),
    salt: Buffer.from(buf.subarray(48, 48 + SALT_SIZE)),
  };
  // Version 6 (inline mode, SB_FLAG_INLINE; target 1.12, Linux 6.11) decodes here so that dump can show it;
  // data access refuses it (volume.ts: the tags live in the device's per-sector metadata, not in the image).
  if (sb.version < SB_VERSION_1 || sb.version > SB_VERSION_6) {
    throw new FormatError(`unknown superblock version ${sb.version}`);
  }
  if ((sb.version === SB_VERSION_6) !== !!(sb.flags & SB_FLAG_INLINE)) {
    throw new FormatError(
      sb.flags & SB_FLAG_INLINE
        ? `superblock has the inline flag but version ${sb.version} (inline mode is version 6)`
        : 'superblock version 6 without the inline flag',
    );
  }
  if (sb.integrity_tag_size === 0) throw new FormatError('superblock has integrity_tag_size 0');
  // dm_integrity_ctr refuses a tag size over its MAX_TAG_SIZE (layout/geometry.ts; 255 as checked on Linux 6.1)
  if (sb.integrity_tag_size > 255) {
    throw new FormatError(`superblock has integrity_tag_size ${sb.integrity_tag_size}: the kernel refuses tags over 255 bytes ("Too big tag size")`);
  }
  if (sb.log2_sectors_per_block > 3) {
    throw new FormatError(`invalid block size: log2_sectors_per_block ${sb.log2_sectors_per_block} (at most 3, 4096 bytes)`);
  }
  if (sb.journal_sections === 0 && !(sb.flags & SB_FLAG_INLINE)) throw new FormatError('superblock has 0 journal sections');
  if (sb.provided_data_sectors === 0) throw new FormatError('superblock has provided_data_sectors 0');
  if (sb.provided_data_sectors & ((1 << sb.log2_sectors_per_block) - 1)) {
    throw new FormatError('provided_data_sectors is not a multiple of the block size');
  }
  if (sb.log2_interleave_sectors > MAX_LOG2_INTERLEAVE_SECTORS) {
    throw new FormatError(`invalid log2_interleave_sectors ${sb.log2_interleave_sectors}`);
  }
  if (sb.flags & ~0x3f) throw new FormatError(`unknown superblock flags 0x${((sb.flags & ~0x3f) >>> 0).toString(16)}`);
  if (sb.recalc_sector > sb.provided_data_sectors) {
    throw new FormatError(`recalc_sector ${sb.recalc_sector} is past provided_data_sectors ${sb.provided_data_sectors}`);
  }
  return sb;
}

/** sb_set_version() */
export function superblockVersion(flags: number, bitmapMode: boolean, metaDevice: boolean): number {
  if (flags & SB_FLAG_INLINE) return SB_VERSION_6;
  if (flags & SB_FLAG_FIXED_HMAC) return SB_VERSION_5;
  if (flags & SB_FLAG_FIXED_PADDING) return SB_VERSION_4;
  if (bitmapMode || flags & SB_FLAG_DIRTY_BITMAP) return SB_VERSION_3;
  if (metaDevice || flags & SB_FLAG_RECALCULATING) return SB_VERSION_2;
  return SB_VERSION_1;
}

/** Encodes the 8-sector superblock area (zero-filled beyond the struct, as the kernel writes it). */
export function encodeSuperblock(sb: Superblock): Buffer {
  const buf = Buffer.alloc(SB_SECTORS * SECTOR_SIZE);
  SB_MAGIC.copy(buf, 0);
  buf[8] = sb.version;
  buf[9] = sb.log2_interleave_sectors;
  buf.writeUInt16LE(sb.integrity_tag_size, 10);
  buf.writeUInt32LE(sb.journal_sections, 12);
  buf.writeBigUInt64LE(BigInt(sb.provided_data_sectors), 16);
  buf.writeUInt32LE(sb.flags, 24);
  buf[28] = sb.log2_sectors_per_block;
  buf[29] = sb.log2_blocks_per_bitmap_bit;
  buf.writeBigUInt64LE(BigInt(sb.recalc_sector), 32);
  sb.salt.copy(buf, 48, 0, SALT_SIZE);
  return buf;
}

/** The superblock's fields under the kernel's names, for JSON output (dump --json, format --json). */
export function superblockFields(sb: Superblock) {
  return {
    version: sb.version,
    log2_interleave_sectors: sb.log2_interleave_sectors,
    integrity_tag_size: sb.integrity_tag_size,
    journal_sections: sb.journal_sections,
    provided_data_sectors: sb.provided_data_sectors,
    flags: sb.flags,
    flag_names: flagNames(sb.flags),
    log2_sectors_per_block: sb.log2_sectors_per_block,
    log2_blocks_per_bitmap_bit: sb.log2_blocks_per_bitmap_bit,
    recalc_sector: sb.recalc_sector,
    salt: sb.salt.toString('hex'),
  };
}
