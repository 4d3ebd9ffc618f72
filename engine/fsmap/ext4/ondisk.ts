// ext4 on-disk structures, decoded as fs/ext4/ext4.h and fs/ext4/ext4_extents.h declare them (names kept;
// e2fsprogs lib/ext2fs/ext2_fs.h has the same layouts). Little-endian. Only the fields the mapper reads.

export const EXT4_SUPER_MAGIC = 0xef53;
export const EXT4_SB_OFFSET = 1024;

// s_feature_compat
export const COMPAT_HAS_JOURNAL = 0x4;
export const COMPAT_RESIZE_INODE = 0x10;
export const COMPAT_DIR_INDEX = 0x20;
export const COMPAT_SPARSE_SUPER2 = 0x200;
export const COMPAT_ORPHAN_FILE = 0x1000;
// s_feature_incompat
export const INCOMPAT_FILETYPE = 0x2;
export const INCOMPAT_RECOVER = 0x4;
export const INCOMPAT_JOURNAL_DEV = 0x8;
export const INCOMPAT_META_BG = 0x10;
export const INCOMPAT_EXTENTS = 0x40;
export const INCOMPAT_64BIT = 0x80;
export const INCOMPAT_MMP = 0x100;
export const INCOMPAT_FLEX_BG = 0x200;
export const INCOMPAT_EA_INODE = 0x400;
export const INCOMPAT_INLINE_DATA = 0x8000;
export const INCOMPAT_ENCRYPT = 0x10000;
export const INCOMPAT_CASEFOLD = 0x20000;
// s_feature_ro_compat
export const RO_COMPAT_SPARSE_SUPER = 0x1;
export const RO_COMPAT_HUGE_FILE = 0x8;
export const RO_COMPAT_GDT_CSUM = 0x10;
export const RO_COMPAT_BIGALLOC = 0x200;
export const RO_COMPAT_METADATA_CSUM = 0x400;

const FEATURE_NAMES: [field: 'compat' | 'incompat' | 'ro_compat', bit: number, name: string][] = [
  ['compat', COMPAT_HAS_JOURNAL, 'has_journal'],
  ['compat', COMPAT_RESIZE_INODE, 'resize_inode'],
  ['compat', COMPAT_DIR_INDEX, 'dir_index'],
  ['compat', COMPAT_SPARSE_SUPER2, 'sparse_super2'],
  ['compat', COMPAT_ORPHAN_FILE, 'orphan_file'],
  ['incompat', INCOMPAT_META_BG, 'meta_bg'],
  ['incompat', INCOMPAT_EXTENTS, 'extents'],
  ['incompat', INCOMPAT_64BIT, '64bit'],
  ['incompat', INCOMPAT_FLEX_BG, 'flex_bg'],
  ['incompat', INCOMPAT_INLINE_DATA, 'inline_data'],
  ['incompat', INCOMPAT_EA_INODE, 'ea_inode'],
  ['incompat', INCOMPAT_ENCRYPT, 'encrypt'],
  ['incompat', INCOMPAT_CASEFOLD, 'casefold'],
  ['ro_compat', RO_COMPAT_SPARSE_SUPER, 'sparse_super'],
  ['ro_compat', RO_COMPAT_HUGE_FILE, 'huge_file'],
  ['ro_compat', RO_COMPAT_GDT_CSUM, 'uninit_bg'],
  ['ro_compat', RO_COMPAT_BIGALLOC, 'bigalloc'],
  ['ro_compat', RO_COMPAT_METADATA_CSUM, 'metadata_csum'],
];

/** struct ext4_super_block (the fields used here) */
export interface Ext4SuperBlock {
  s_inodes_count: number;
  s_blocks_count: number;
  s_first_data_block: number;
  s_log_block_size: number;
  s_log_cluster_size: number;
  s_blocks_per_group: number;
  s_clusters_per_group: number;
  s_inodes_per_group: number;
  s_magic: number;
  s_state: number;
  s_rev_level: number;
  s_first_ino: number;
  s_inode_size: number;
  s_feature_compat: number;
  s_feature_incompat: number;
  s_feature_ro_compat: number;
  s_uuid: Buffer;
  s_volume_name: string;
  s_reserved_gdt_blocks: number;
  s_journal_inum: number;
  s_journal_dev: number;
  s_desc_size: number;
  s_first_meta_bg: number;
  s_mmp_block: number;
  s_usr_quota_inum: number;
  s_grp_quota_inum: number;
  s_prj_quota_inum: number;
  s_backup_bgs: [number, number];
  s_orphan_file_inum: number;
}

const u64 = (lo: number, hi: number) => hi * 0x100000000 + lo;

export function decodeExt4SuperBlock(b: Buffer): Ext4SuperBlock {
  const incompat = b.readUInt32LE(0x60);
  const is64 = (incompat & INCOMPAT_64BIT) !== 0;
  const rev = b.readUInt32LE(0x4c);
  const name = b.subarray(0x78, 0x88);
  const nul = name.indexOf(0);
  return {
    s_inodes_count: b.readUInt32LE(0x0),
    s_blocks_count: u64(b.readUInt32LE(0x4), is64 ? b.readUInt32LE(0x150) : 0),
    s_first_data_block: b.readUInt32LE(0x14),
    s_log_block_size: b.readUInt32LE(0x18),
    s_log_cluster_size: b.readUInt32LE(0x1c),
    s_blocks_per_group: b.readUInt32LE(0x20),
    s_clusters_per_group: b.readUInt32LE(0x24),
    s_inodes_per_group: b.readUInt32LE(0x28),
    s_magic: b.readUInt16LE(0x38),
    s_state: b.readUInt16LE(0x3a),
    s_rev_level: rev,
    // EXT2_GOOD_OLD_REV: first inode 11, inode size 128
    s_first_ino: rev === 0 ? 11 : b.readUInt32LE(0x54),
    s_inode_size: rev === 0 ? 128 : b.readUInt16LE(0x58),
    s_feature_compat: b.readUInt32LE(0x5c),
    s_feature_incompat: incompat,
    s_feature_ro_compat: b.readUInt32LE(0x64),
    s_uuid: Buffer.from(b.subarray(0x68, 0x78)),
    s_volume_name: name.subarray(0, nul < 0 ? 16 : nul).toString('utf8'),
    s_reserved_gdt_blocks: b.readUInt16LE(0xce),
    s_journal_inum: b.readUInt32LE(0xe0),
    s_journal_dev: b.readUInt32LE(0xe4),
    s_desc_size: is64 ? b.readUInt16LE(0xfe) : 32,
    s_first_meta_bg: b.readUInt32LE(0x104),
    s_mmp_block: u64(b.readUInt32LE(0x168), b.readUInt32LE(0x16c)),
    s_usr_quota_inum: b.readUInt32LE(0x240),
    s_grp_quota_inum: b.readUInt32LE(0x244),
    s_backup_bgs: [b.readUInt32LE(0x24c), b.readUInt32LE(0x250)],
    s_prj_quota_inum: b.readUInt32LE(0x26c),
    s_orphan_file_inum: b.readUInt32LE(0x280),
  };
}

export function featureNames(sb: Ext4SuperBlock): string[] {
  const f = { compat: sb.s_feature_compat, incompat: sb.s_feature_incompat, ro_compat: sb.s_feature_ro_compat };
  return FEATURE_NAMES.filter(([k, bit]) => f[k] & bit).map(([, , n]) => n);
}

/** the uuid as blkid prints it */
export function uuidText(u: Buffer): string {
  const h = u.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// bg_flags
export const EXT4_BG_INODE_UNINIT = 0x1;
export const EXT4_BG_BLOCK_UNINIT = 0x2;

/** struct ext4_group_desc */
export interface Ext4GroupDesc {
  bg_block_bitmap: number;
  bg_inode_bitmap: number;
  bg_inode_table: number;
  bg_flags: number;
  bg_itable_unused: number;
}

export function decodeExt4GroupDesc(b: Buffer, off: number, descSize: number): Ext4GroupDesc {
  const big = descSize >= 64;
  return {
    bg_block_bitmap: u64(b.readUInt32LE(off + 0x0), big ? b.readUInt32LE(off + 0x20) : 0),
    bg_inode_bitmap: u64(b.readUInt32LE(off + 0x4), big ? b.readUInt32LE(off + 0x24) : 0),
    bg_inode_table: u64(b.readUInt32LE(off + 0x8), big ? b.readUInt32LE(off + 0x28) : 0),
    bg_flags: b.readUInt16LE(off + 0x12),
    bg_itable_unused: b.readUInt16LE(off + 0x1c) + (big ? b.readUInt16LE(off + 0x32) * 0x10000 : 0),
  };
}

// i_mode file types (S_IFMT)
export const S_IFMT = 0xf000;
export const S_IFREG = 0x8000;
export const S_IFDIR = 0x4000;
export const S_IFLNK = 0xa000;

export function fileTypeOfMode(mode: number): string {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 'regular';
    case S_IFDIR:
      return 'directory';
    case S_IFLNK:
      return 'symlink';
    case 0x2000:
      return 'character device';
    case 0x6000:
      return 'block device';
    case 0x1000:
      return 'fifo';
    case 0xc000:
      return 'socket';
    default:
      return mode ? 'unknown' : 'free';
  }
}

// i_flags
export const EXT4_INDEX_FL = 0x1000;
export const EXT4_HUGE_FILE_FL = 0x40000;
export const EXT4_EXTENTS_FL = 0x80000;
export const EXT4_EA_INODE_FL = 0x200000;
export const EXT4_INLINE_DATA_FL = 0x10000000;

/** struct ext4_inode (the fields used here); i_block is the 60-byte block map / extent root / inline data */
export interface Ext4Inode {
  i_mode: number;
  i_size: number;
  i_dtime: number;
  i_links_count: number;
  i_blocks: number;
  i_flags: number;
  i_block: Buffer;
  i_file_acl: number;
  i_extra_isize: number;
}

export function decodeExt4Inode(b: Buffer, off: number, inodeSize: number): Ext4Inode {
  return {
    i_mode: b.readUInt16LE(off + 0x0),
    i_size: u64(b.readUInt32LE(off + 0x4), b.readUInt32LE(off + 0x6c)),
    i_dtime: b.readUInt32LE(off + 0x14),
    i_links_count: b.readUInt16LE(off + 0x1a),
    i_blocks: u64(b.readUInt32LE(off + 0x1c), b.readUInt16LE(off + 0x74)),
    i_flags: b.readUInt32LE(off + 0x20),
    i_block: b.subarray(off + 0x28, off + 0x28 + 60),
    i_file_acl: u64(b.readUInt32LE(off + 0x68), b.readUInt16LE(off + 0x76)),
    i_extra_isize: inodeSize > 128 ? b.readUInt16LE(off + 0x80) : 0,
  };
}

export const EXT4_EXT_MAGIC = 0xf30a;
/** ee_len above this marks an unwritten (uninitialized) extent: EXT_INIT_MAX_LEN */
export const EXT_INIT_MAX_LEN = 32768;

/** struct ext4_extent_header */
export interface Ext4ExtentHeader {
  eh_magic: number;
  eh_entries: number;
  eh_max: number;
  eh_depth: number;
}

export function decodeExtentHeader(b: Buffer, off: number): Ext4ExtentHeader {
  return { eh_magic: b.readUInt16LE(off), eh_entries: b.readUInt16LE(off + 2), eh_max: b.readUInt16LE(off + 4), eh_depth: b.readUInt16LE(off + 6) };
}

/** struct ext4_extent (leaf entry, 12 bytes after the 12-byte header) */
export function decodeExtent(b: Buffer, off: number): { ee_block: number; len: number; unwritten: boolean; start: number } {
  const raw = b.readUInt16LE(off + 4);
  const unwritten = raw > EXT_INIT_MAX_LEN;
  return {
    ee_block: b.readUInt32LE(off),
    len: unwritten ? raw - EXT_INIT_MAX_LEN : raw,
    unwritten,
    start: u64(b.readUInt32LE(off + 8), b.readUInt16LE(off + 6)),
  };
}

/** struct ext4_extent_idx (index entry) */
export function decodeExtentIdx(b: Buffer, off: number): { ei_block: number; leaf: number } {
  return { ei_block: b.readUInt32LE(off), leaf: u64(b.readUInt32LE(off + 4), b.readUInt16LE(off + 8)) };
}

/** ext4_rec_len_from_disk */
export function recLenFromDisk(raw: number, blockSize: number): number {
  if (blockSize < 65536) return raw;
  if (raw === 65535 || raw === 0) return blockSize;
  return (raw & 65532) | ((raw & 3) << 16);
}

/** struct ext4_dir_entry_2 entries of a directory block (or inline area), validated as ext4_check_dir_entry does;
 *  stops at the first invalid entry and says so. */
export function dirEntries(b: Buffer, start: number, end: number, blockSize: number, f: (inode: number, name: Buffer) => void): string | null {
  if (end > b.length) return `the directory area ends at byte ${end}, past the end of its buffer (${b.length} bytes)`;
  let off = start;
  while (off + 8 <= end) {
    const inode = b.readUInt32LE(off);
    const recLen = recLenFromDisk(b.readUInt16LE(off + 4), blockSize);
    const nameLen = b.readUInt8(off + 6);
    if (recLen < 8 || recLen % 4 || off + recLen > end || nameLen + 8 > recLen) {
      return `invalid directory entry at byte ${off - start} (rec_len ${recLen}, name_len ${nameLen})`;
    }
    if (inode !== 0) f(inode, b.subarray(off + 8, off + 8 + nameLen));
    off += recLen;
  }
  return null;
}

// journal_superblock_t (include/linux/jbd2.h), big-endian
export const JBD2_MAGIC_NUMBER = 0xc03b3998;
export function decodeJournalSuperblock(b: Buffer): { h_magic: number; s_start: number; s_sequence: number } {
  return { h_magic: b.readUInt32BE(0), s_sequence: b.readUInt32BE(24), s_start: b.readUInt32BE(28) };
}

/** the system.data extended attribute of an inline-data inode, from the in-inode EA area (fs/ext4/xattr.h) */
export function inlineDataXattr(b: Buffer, inodeOff: number, inodeSize: number, extraIsize: number): Buffer | null {
  const base = inodeOff + 128 + extraIsize;
  const end = inodeOff + inodeSize;
  if (base + 4 > end || b.readUInt32LE(base) !== 0xea020000) return null;
  const first = base + 4;
  let off = first;
  // struct ext4_xattr_entry: e_name_len u8, e_name_index u8, e_value_offs u16, e_value_inum u32, e_value_size u32, e_hash u32, name
  while (off + 16 <= end && b.readUInt32LE(off) !== 0) {
    const nameLen = b.readUInt8(off); // in range: the u32 at off was just read
    const index = b.readUInt8(off + 1);
    const valueOffs = b.readUInt16LE(off + 2);
    const valueSize = b.readUInt32LE(off + 8);
    const name = b.subarray(off + 16, off + 16 + nameLen).toString('latin1');
    if (index === 7 && name === 'data') {
      if (first + valueOffs + valueSize > end) return null;
      return b.subarray(first + valueOffs, first + valueOffs + valueSize);
    }
    off += (16 + nameLen + 3) & ~3;
  }
  return null;
}
