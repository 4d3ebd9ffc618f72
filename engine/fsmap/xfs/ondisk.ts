// XFS on-disk structures, decoded as fs/xfs/libxfs/xfs_format.h, xfs_da_format.h and xfs_log_format.h declare
// them (names kept). Big-endian. v5 (crc) is what mkfs.xfs makes today; v4 header sizes are handled where they
// differ. Only the fields the mapper reads.
import { MapError } from '../reader.js';

export const XFS_SB_MAGIC = 0x58465342; // 'XFSB'
export const XFS_AGF_MAGIC = 0x58414746; // 'XAGF'
export const XFS_AGI_MAGIC = 0x58414749; // 'XAGI'
export const XFS_AGFL_MAGIC = 0x5841464c; // 'XAFL'
export const XFS_DINODE_MAGIC = 0x494e; // 'IN'

// sb_features_ro_compat
export const XFS_SB_FEAT_RO_COMPAT_FINOBT = 1 << 0;
export const XFS_SB_FEAT_RO_COMPAT_RMAPBT = 1 << 1;
export const XFS_SB_FEAT_RO_COMPAT_REFLINK = 1 << 2;
// sb_features_incompat
export const XFS_SB_FEAT_INCOMPAT_FTYPE = 1 << 0;
export const XFS_SB_FEAT_INCOMPAT_SPINODES = 1 << 1;
export const XFS_SB_FEAT_INCOMPAT_NREXT64 = 1 << 5;
// sb_features2 (v4)
export const XFS_SB_VERSION2_FTYPE = 0x200;

/** struct xfs_dsb (the fields used here) */
export interface XfsSb {
  sb_magicnum: number;
  sb_blocksize: number;
  sb_dblocks: number;
  sb_rblocks: number;
  sb_uuid: Buffer;
  sb_logstart: number;
  sb_rootino: number;
  sb_rbmino: number;
  sb_rsumino: number;
  sb_agblocks: number;
  sb_agcount: number;
  sb_logblocks: number;
  sb_versionnum: number;
  sb_sectsize: number;
  sb_inodesize: number;
  sb_inopblock: number;
  sb_fname: string;
  sb_blocklog: number;
  sb_inodelog: number;
  sb_inopblog: number;
  sb_agblklog: number;
  sb_uquotino: number;
  sb_gquotino: number;
  sb_pquotino: number;
  sb_dirblklog: number;
  sb_features2: number;
  sb_features_ro_compat: number;
  sb_features_incompat: number;
}

/** a u64 as a number; NULLFSBLOCK / NULLFSINO (all ones) and anything past 2^53 become -1 */
export function be64(b: Buffer, off: number): number {
  const hi = b.readUInt32BE(off);
  const lo = b.readUInt32BE(off + 4);
  if (hi >= 0x200000) return -1;
  return hi * 0x100000000 + lo;
}

export function decodeXfsSb(b: Buffer): XfsSb {
  // struct xfs_dsb up to sb_pquotino (the last field read here)
  if (b.length < 240) throw new MapError(`xfs: the superblock is ${b.length} bytes, shorter than struct xfs_dsb (240 bytes read)`);
  const fname = b.subarray(108, 120);
  const nul = fname.indexOf(0);
  const v5 = (b.readUInt16BE(100) & 0xf) === 5;
  return {
    sb_magicnum: b.readUInt32BE(0),
    sb_blocksize: b.readUInt32BE(4),
    sb_dblocks: be64(b, 8),
    sb_rblocks: be64(b, 16),
    sb_uuid: Buffer.from(b.subarray(32, 48)),
    sb_logstart: be64(b, 48),
    sb_rootino: be64(b, 56),
    sb_rbmino: be64(b, 64),
    sb_rsumino: be64(b, 72),
    sb_agblocks: b.readUInt32BE(84),
    sb_agcount: b.readUInt32BE(88),
    sb_logblocks: b.readUInt32BE(96),
    sb_versionnum: b.readUInt16BE(100),
    sb_sectsize: b.readUInt16BE(102),
    sb_inodesize: b.readUInt16BE(104),
    sb_inopblock: b.readUInt16BE(106),
    sb_fname: fname.subarray(0, nul < 0 ? 12 : nul).toString('utf8'),
    sb_blocklog: b.readUInt8(120),
    sb_inodelog: b.readUInt8(122),
    sb_inopblog: b.readUInt8(123),
    sb_agblklog: b.readUInt8(124),
    sb_uquotino: be64(b, 160),
    sb_gquotino: be64(b, 168),
    sb_pquotino: v5 ? be64(b, 232) : -1,
    sb_dirblklog: b.readUInt8(192),
    sb_features2: b.readUInt32BE(200),
    sb_features_ro_compat: v5 ? b.readUInt32BE(212) : 0,
    sb_features_incompat: v5 ? b.readUInt32BE(216) : 0,
  };
}

/** struct xfs_agf (the fields used here) */
export interface XfsAgf {
  agf_magicnum: number;
  agf_seqno: number;
  agf_length: number;
  agf_bno_root: number;
  agf_cnt_root: number;
  agf_rmap_root: number;
  agf_bno_level: number;
  agf_cnt_level: number;
  agf_rmap_level: number;
  agf_flfirst: number;
  agf_fllast: number;
  agf_flcount: number;
  agf_refcount_root: number;
  agf_refcount_level: number;
}

export function decodeXfsAgf(b: Buffer): XfsAgf {
  return {
    agf_magicnum: b.readUInt32BE(0),
    agf_seqno: b.readUInt32BE(8),
    agf_length: b.readUInt32BE(12),
    agf_bno_root: b.readUInt32BE(16),
    agf_cnt_root: b.readUInt32BE(20),
    agf_rmap_root: b.readUInt32BE(24),
    agf_bno_level: b.readUInt32BE(28),
    agf_cnt_level: b.readUInt32BE(32),
    agf_rmap_level: b.readUInt32BE(36),
    agf_flfirst: b.readUInt32BE(40),
    agf_fllast: b.readUInt32BE(44),
    agf_flcount: b.readUInt32BE(48),
    agf_refcount_root: b.readUInt32BE(88),
    agf_refcount_level: b.readUInt32BE(92),
  };
}

/** struct xfs_agi (the fields used here) */
export interface XfsAgi {
  agi_magicnum: number;
  agi_seqno: number;
  agi_length: number;
  agi_root: number;
  agi_level: number;
  agi_free_root: number;
  agi_free_level: number;
}

export function decodeXfsAgi(b: Buffer): XfsAgi {
  return {
    agi_magicnum: b.readUInt32BE(0),
    agi_seqno: b.readUInt32BE(8),
    agi_length: b.readUInt32BE(12),
    agi_root: b.readUInt32BE(20),
    agi_level: b.readUInt32BE(24),
    agi_free_root: b.length >= 336 ? b.readUInt32BE(328) : 0,
    agi_free_level: b.length >= 336 ? b.readUInt32BE(332) : 0,
  };
}

/** xfs_btree_block header sizes: short form (AG btrees) and long form (bmbt), v5 (crc) / v4 */
export const XFS_BTREE_SBLOCK_CRC_LEN = 56;
export const XFS_BTREE_SBLOCK_LEN = 16;
export const XFS_BTREE_LBLOCK_CRC_LEN = 72;
export const XFS_BTREE_LBLOCK_LEN = 24;

/** btree magics by name: [v5, v4] */
export const BTREE_MAGIC = {
  bnobt: [0x41423342, 0x41425442], // AB3B / ABTB
  cntbt: [0x41423343, 0x41425443], // AB3C / ABTC
  inobt: [0x49414233, 0x49414254], // IAB3 / IABT
  finobt: [0x46494233, 0x46494254], // FIB3 / FIBT
  rmapbt: [0x524d4233, 0], // RMB3
  refcountbt: [0x52334643, 0], // R3FC
  bmbt: [0x424d4133, 0x424d4150], // BMA3 / BMAP
} as const;

export function btreeHeader(b: Buffer, off = 0): { bb_magic: number; bb_level: number; bb_numrecs: number } {
  return { bb_magic: b.readUInt32BE(off), bb_level: b.readUInt16BE(off + 4), bb_numrecs: b.readUInt16BE(off + 6) };
}

/** struct xfs_bmbt_rec: 128 bits, big-endian: extent flag (1), startoff (54), startblock (52), blockcount (21) */
export function decodeBmbtRec(b: Buffer, off: number): { br_startoff: number; br_startblock: number; br_blockcount: number; br_state: boolean } {
  const w0 = b.readUInt32BE(off);
  const w1 = b.readUInt32BE(off + 4);
  const w2 = b.readUInt32BE(off + 8);
  const w3 = b.readUInt32BE(off + 12);
  return {
    br_state: w0 >>> 31 === 1,
    br_startoff: (w0 & 0x7fffffff) * 2 ** 23 + (w1 >>> 9),
    br_startblock: (w1 & 0x1ff) * 2 ** 43 + w2 * 2 ** 11 + (w3 >>> 21),
    br_blockcount: w3 & 0x1fffff,
  };
}

// di_format
export const XFS_DINODE_FMT_DEV = 0;
export const XFS_DINODE_FMT_LOCAL = 1;
export const XFS_DINODE_FMT_EXTENTS = 2;
export const XFS_DINODE_FMT_BTREE = 3;
/** di_flags2 */
export const XFS_DIFLAG2_NREXT64 = 1 << 4;

/** struct xfs_dinode (the fields used here) */
export interface XfsDinode {
  di_magic: number;
  di_mode: number;
  di_version: number;
  di_format: number;
  di_nlink: number;
  di_size: number;
  di_nextents: number;
  di_anextents: number;
  di_forkoff: number;
  di_aformat: number;
  /** byte offset of the data fork (the literal area) and its size; the attribute fork's */
  dataOff: number;
  dataSize: number;
  attrOff: number;
  attrSize: number;
}

export function decodeXfsDinode(b: Buffer, off: number, inodeSize: number): XfsDinode {
  // the v1/v2 core (100 bytes) holds every field read below but di_flags2 (v3, read only when the version says so)
  if (!Number.isSafeInteger(off) || off < 0 || off + 100 > b.length) {
    throw new MapError(`xfs: the inode core at byte ${off} runs past the end of its buffer (${b.length} bytes)`);
  }
  const version = b.readUInt8(off + 4);
  const core = version >= 3 ? 176 : 100;
  const flags2 = version >= 3 ? be64(b, off + 120) : 0;
  const nrext64 = flags2 !== -1 && (flags2 & XFS_DIFLAG2_NREXT64) !== 0;
  const forkoff = b.readUInt8(off + 82);
  const lit = inodeSize - core;
  const dataSize = forkoff ? forkoff * 8 : lit;
  return {
    di_magic: b.readUInt16BE(off),
    di_mode: b.readUInt16BE(off + 2),
    di_version: version,
    di_format: b.readUInt8(off + 5),
    di_nlink: version >= 2 ? b.readUInt32BE(off + 16) : b.readUInt16BE(off + 6),
    di_size: be64(b, off + 56),
    di_nextents: nrext64 ? be64(b, off + 24) : b.readUInt32BE(off + 76),
    di_anextents: nrext64 ? b.readUInt32BE(off + 76) : b.readUInt16BE(off + 80),
    di_forkoff: forkoff,
    di_aformat: b.readUInt8(off + 83),
    dataOff: off + core,
    dataSize: Math.min(dataSize, lit),
    attrOff: off + core + dataSize,
    attrSize: forkoff ? lit - dataSize : 0,
  };
}

// directories (xfs_da_format.h)
export const XFS_DIR3_BLOCK_MAGIC = 0x58444233; // XDB3
export const XFS_DIR3_DATA_MAGIC = 0x58444433; // XDD3
export const XFS_DIR2_BLOCK_MAGIC = 0x58443242; // XD2B
export const XFS_DIR2_DATA_MAGIC = 0x58443244; // XD2D
export const XFS_DIR2_DATA_FREE_TAG = 0xffff;
/** XFS_DIR2_LEAF_OFFSET / XFS_DIR2_FREE_OFFSET in bytes: where the leaf and free-index spaces of a directory start */
export const XFS_DIR2_LEAF_OFFSET_BYTES = 32 * 2 ** 30;
export const XFS_DIR2_FREE_OFFSET_BYTES = 64 * 2 ** 30;

/**
 * The entries of one directory data block (block or data form): calls f(inumber, name). Returns a problem or null.
 * xfs_dir2_data_entry: inumber u64, namelen u8, name, [ftype u8], tag u16, padded to 8 bytes; unused space:
 * freetag 0xffff, length u16.
 */
export function xfsDirDataEntries(b: Buffer, ftype: boolean, f: (ino: number, name: Buffer) => void): string | null {
  const magic = b.readUInt32BE(0);
  let off: number;
  let end = b.length;
  if (magic === XFS_DIR3_BLOCK_MAGIC || magic === XFS_DIR3_DATA_MAGIC) off = 64;
  else if (magic === XFS_DIR2_BLOCK_MAGIC || magic === XFS_DIR2_DATA_MAGIC) off = 16;
  else return `not a directory data block (magic 0x${magic.toString(16)})`;
  if (magic === XFS_DIR3_BLOCK_MAGIC || magic === XFS_DIR2_BLOCK_MAGIC) {
    // xfs_dir2_block_tail {count, stale} at the end, after `count` leaf entries of 8 bytes
    const count = b.readUInt32BE(b.length - 8);
    end = b.length - 8 - count * 8;
    if (end < off) return 'corrupted block-form directory tail';
  }
  while (off + 8 <= end) {
    if (b.readUInt16BE(off) === XFS_DIR2_DATA_FREE_TAG) {
      const len = b.readUInt16BE(off + 2);
      if (len < 8 || len % 8 || off + len > end) return `corrupted free space at byte ${off}`;
      off += len;
      continue;
    }
    const ino = be64(b, off);
    // the name length byte can lie at `end` itself (an entry cut off after its inumber): a corrupted entry
    const namelen = off + 8 < end ? b.readUInt8(off + 8) : 0;
    const size = (8 + 1 + namelen + (ftype ? 1 : 0) + 2 + 7) & ~7;
    if (!namelen || off + size > end) return `corrupted entry at byte ${off}`;
    f(ino, b.subarray(off + 9, off + 9 + namelen));
    off += size;
  }
  return null;
}

/** A shortform directory in the inode's data fork (struct xfs_dir2_sf_hdr + xfs_dir2_sf_entry). */
export function xfsShortformEntries(
  b: Buffer,
  off: number,
  size: number,
  ftype: boolean,
  f: (ino: number, name: Buffer) => void,
): { parent: number; problem: string | null } {
  const end = off + size;
  // struct xfs_dir2_sf_hdr: count u8, i8count u8, parent (4 bytes at least)
  if (!Number.isSafeInteger(off) || off < 0 || off + 6 > b.length) {
    throw new MapError(`xfs: the shortform directory header at byte ${off} runs past the end of its inode (${b.length} bytes)`);
  }
  const count = b.readUInt8(off);
  const i8 = b.readUInt8(off + 1);
  const isz = i8 ? 8 : 4;
  const rd = (p: number) => (i8 ? be64(b, p) : b.readUInt32BE(p));
  const parent = rd(off + 2);
  let p = off + 2 + isz;
  for (let i = 0; i < count; i++) {
    if (p + 3 > end) return { parent, problem: 'shortform directory runs past its fork' };
    const namelen = p < b.length ? b.readUInt8(p) : 0; // a missing length is a corrupted entry, as an empty one
    const next = p + 3 + namelen + (ftype ? 1 : 0) + isz;
    if (!namelen || next > end) return { parent, problem: `corrupted shortform entry ${i}` };
    f(rd(p + 3 + namelen + (ftype ? 1 : 0)), b.subarray(p + 3, p + 3 + namelen));
    p = next;
  }
  return { parent, problem: null };
}

// the log (xfs_log_format.h)
export const XLOG_HEADER_MAGIC_NUM = 0xfeedbabe;
export const XLOG_UNMOUNT_TRANS = 0x20;
