// What a bad sector holds, as plain data: it crosses IPC to the dashboard and goes into JSON/CSV exports.
// Sector ranges are half-open [first, end) in 512-byte sectors of the volume's data (what the file system sees);
// byte ranges are half-open [start, end) in bytes of a file.

export type SectorRange = readonly [first: number, end: number];
export type ByteRange = readonly [start: number, end: number];

export type FsType = 'ext4' | 'xfs' | 'btrfs';

interface ItemBase {
  /** the bad sector ranges this item covers, coalesced, in order (at most maxRanges; see ranges_total) */
  ranges: SectorRange[];
  /** how many ranges there were before the cap */
  ranges_total: number;
  /** bad sectors in this item */
  sectors: number;
  /**
   * Set when this answer rests on a structure that lies in a bad range (its stored bytes may be what went
   * wrong): the answer may be wrong, and this names the structure.
   */
  uncertain?: string;
}

/** One inode, named by every path that links to it (capped; paths_total counts them all). */
export interface InodeRef {
  inode: number;
  /** e.g. 'regular', 'directory', 'symlink', 'free' (an inode slot not in use) */
  file_type: string;
  paths: string[];
  paths_total: number;
  /** why no path could be found (an orphan inode, a loop in the directory tree, a damaged directory) */
  path_error?: string;
}

/** Bad sectors inside a file's data: a user-visible file (regular, or a slow symlink's target text). */
export interface FsMapFileItem extends ItemBase, InodeRef {
  kind: 'file';
  /** i_size / di_size */
  size: number;
  /** the damaged bytes of the file, [start, end), coalesced and clipped to the file's size (capped; see byte_ranges_total) */
  byte_ranges: ByteRange[];
  byte_ranges_total: number;
  /**
   * Which bad sectors hold which bytes: [first_sector, end_sector, byte] — sectors [first, end) hold the file's bytes
   * from `byte` on (clip at `size`), in sector order, adjacent pieces joined (capped as `ranges`; see extents_total).
   * Only the file's contents: not unwritten extents, blocks past the end, nor an XFS remote symlink (whose blocks
   * start with a header: see byte_ranges).
   */
  extents?: Array<[first: number, end: number, byte: number]>;
  extents_total?: number;
  /** bytes lying in allocated but not yet written extents (they read as zeros: harmless) */
  unwritten_bytes: number;
  /** bytes in blocks allocated past the end of the file (preallocation: nothing of the file's contents) */
  beyond_eof_bytes: number;
  /** what it means, in one line */
  meaning: string;
}

/** Bad sectors inside a file-system structure. */
export interface FsMapMetadataItem extends ItemBase {
  kind: 'metadata';
  /** a stable short id: 'ext4.superblock', 'ext4.inode_table', 'ext4.directory', 'xfs.agf', 'xfs.bnobt', … */
  structure: string;
  /** which one, in words: "the inode table of group 3", "block 2 of directory /etc (inode 12)" */
  description: string;
  /** allocation group (XFS) or block group (ext4), where the structure belongs to one */
  group?: number;
  /** the inode the structure belongs to (a directory, an extent tree, the journal inode), with its paths */
  owner?: InodeRef;
  /** an inode-table block / inode chunk: the inodes in use that it holds, with their paths (capped) */
  inodes?: InodeRef[];
  inodes_total?: number;
  /** a directory block: the names it holds as stored (capped; the block is bad, so they may be garbled) */
  names?: string[];
  names_total?: number;
  /** what it means for the user, in one line */
  meaning: string;
}

/** Bad sectors in blocks the file system does not use. */
export interface FsMapFreeItem extends ItemBase {
  kind: 'free';
  meaning: string;
}

export interface FsMapUnmappedItem extends ItemBase {
  kind: 'unmapped';
  /** "could not map: …" */
  reason: string;
  /** set on the one item of ranges past the host's mapping limit: every known bad range from its first range on is in
   *  it (the ranges before the limit were mapped), so a range there is known to be in it without its full list */
  past_limit?: true;
}

export type FsMapItem = FsMapFileItem | FsMapMetadataItem | FsMapFreeItem | FsMapUnmappedItem;

export interface FsMapStats {
  /** file-system blocks read while mapping */
  blocks_read: number;
  /** inodes examined */
  inodes_scanned: number;
  /** directories whose entries were read (for names) */
  directories_scanned: number;
  /** 'rmapbt' (XFS reverse-mapping btree lookups) or 'scan' (every inode's block map) */
  method: string;
  elapsed_ms: number;
}

export interface FsMapResult {
  fs: FsType | null;
  /** what was found, in words: "ext4 (64bit, extents, flex_bg, metadata_csum)", "no known file system (found: swap)" */
  fs_description: string;
  fs_label?: string;
  fs_uuid?: string;
  /** the file system's block size in bytes (0 when no file system was recognised) */
  block_size: number;
  /** why the mapping may not reflect what the file system will hold once mounted (an unreplayed journal, a dirty
   *  log, a mounted file system still writing), or null */
  may_be_stale: string | null;
  /** the bad sectors given */
  bad_sectors: number;
  items: FsMapItem[];
  /** distinct inodes with damaged file data */
  files_damaged: number;
  metadata_items: number;
  free_sectors: number;
  /** sectors in 'unmapped' items */
  unmapped_sectors: number;
  /** structures the answers relied on that lie in a bad range themselves */
  relied_on_damaged: string[];
  stats: FsMapStats;
}

export interface FsMapOptions {
  /** the caller knows the file system is mounted and may be writing (a kernel-active volume): said in may_be_stale */
  mounted?: boolean;
  /** ranges kept per item (default 256) */
  maxRanges?: number;
  /** paths kept per inode (default 16) */
  maxPaths?: number;
  /** names / inodes listed per metadata block (default 64) */
  maxNames?: number;
  /** XFS with a reverse-mapping btree: 'rmapbt' (default) looks the owners up there; 'scan' reads every inode */
  method?: 'rmapbt' | 'scan';
}

/** Whether sectors are free per the file system (for the "rewrite free blocks" action). */
export interface FreeCheck {
  fs: FsType | null;
  block_size: number;
  /** the given sectors whose file-system blocks the file system says are free (or that lie past its end) */
  free: SectorRange[];
  /** the rest, each with why it is not (in use, or the question could not be answered) */
  not_free: { range: SectorRange; why: string }[];
}
