// An ext2/3/4 file system read through a BlockReader: superblock checks, group layout (lib/ext2fs/closefs.c
// ext2fs_super_and_bgd_loc2, openfs.c ext2fs_descriptor_block_loc2), descriptors, inodes, and each inode's block
// map (extent trees as fs/ext4/extents.c walks them, ext2/3 indirect blocks as lib/ext2fs/block.c does).
import { MapError, type BlockReader } from '../reader.js';
import {
  COMPAT_SPARSE_SUPER2,
  decodeExt4GroupDesc,
  decodeExt4Inode,
  decodeExtent,
  decodeExtentHeader,
  decodeExtentIdx,
  dirEntries,
  EXT4_EXT_MAGIC,
  EXT4_EXTENTS_FL,
  EXT4_INLINE_DATA_FL,
  INCOMPAT_META_BG,
  RO_COMPAT_BIGALLOC,
  RO_COMPAT_GDT_CSUM,
  RO_COMPAT_METADATA_CSUM,
  RO_COMPAT_SPARSE_SUPER,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  inlineDataXattr,
  type Ext4GroupDesc,
  type Ext4Inode,
  type Ext4SuperBlock,
} from './ondisk.js';

/** Why a superblock cannot describe a usable file system, or null (e2fsprogs openfs.c / e2fsck super.c checks). */
export function ext4SuperblockProblem(sb: Ext4SuperBlock): string | null {
  if (sb.s_log_block_size > 6) return `block size 2^(10+${sb.s_log_block_size}) is not 1 KiB..64 KiB`;
  const bs = 1024 << sb.s_log_block_size;
  if (sb.s_blocks_count === 0) return 'it holds 0 blocks';
  if (
    sb.s_blocks_per_group === 0 ||
    sb.s_blocks_per_group > 8 * bs * (sb.s_feature_ro_compat & RO_COMPAT_BIGALLOC ? 1 << Math.min(30, sb.s_log_cluster_size - sb.s_log_block_size) : 1)
  ) {
    return `blocks per group ${sb.s_blocks_per_group} is not 1..${8 * bs}`;
  }
  if (sb.s_inodes_per_group === 0 || sb.s_inodes_per_group > 8 * bs) return `inodes per group ${sb.s_inodes_per_group} is not 1..${8 * bs}`;
  if (sb.s_inode_size < 128 || sb.s_inode_size > bs || sb.s_inode_size & (sb.s_inode_size - 1))
    return `inode size ${sb.s_inode_size} is not a power of two 128..${bs}`;
  if (sb.s_desc_size < 32 || sb.s_desc_size > 1024 || sb.s_desc_size & (sb.s_desc_size - 1))
    return `group descriptor size ${sb.s_desc_size} is not a power of two 32..1024`;
  if (sb.s_first_data_block >= sb.s_blocks_count) return `first data block ${sb.s_first_data_block} is past the end (${sb.s_blocks_count} blocks)`;
  if (bs === 1024 && sb.s_first_data_block !== 1 && !(sb.s_feature_ro_compat & RO_COMPAT_BIGALLOC))
    return `first data block ${sb.s_first_data_block} is not 1 with 1 KiB blocks`;
  const groups = Math.ceil((sb.s_blocks_count - sb.s_first_data_block) / sb.s_blocks_per_group);
  if (groups * sb.s_inodes_per_group !== sb.s_inodes_count)
    return `inodes count ${sb.s_inodes_count} is not groups × inodes per group (${groups} × ${sb.s_inodes_per_group})`;
  if (sb.s_first_ino < 11 || sb.s_first_ino >= sb.s_inodes_count) return `first inode ${sb.s_first_ino} is out of range`;
  return null;
}

export type InodeRole = 'file' | 'directory' | 'journal' | 'resize' | 'quota' | 'orphan_file' | 'reserved' | 'ea_inode' | 'special';

export interface BlockVisitor {
  /** physical blocks [pblk, pblk+len) hold logical blocks from lblk */
  data(lblk: number, pblk: number, len: number, unwritten: boolean): void;
  /** a block of the map itself: an extent-tree node or an indirect block */
  map(pblk: number, what: 'extent' | 'indirect'): void;
  /** a problem that skips part of the map (the rest is still walked) */
  problem(text: string): void;
}

export class Ext4Fs {
  readonly bs: number;
  readonly spb: number;
  readonly blocks: number;
  readonly groups: number;
  readonly descPerBlock: number;
  readonly descBlocks: number;
  readonly csum: boolean;
  /** log2 blocks per cluster (bigalloc) */
  readonly clusterBits: number;

  constructor(
    readonly sb: Ext4SuperBlock,
    readonly reader: BlockReader,
  ) {
    this.bs = 1024 << sb.s_log_block_size;
    this.spb = this.bs / 512;
    this.blocks = sb.s_blocks_count;
    this.groups = Math.ceil((sb.s_blocks_count - sb.s_first_data_block) / sb.s_blocks_per_group);
    this.descPerBlock = this.bs / sb.s_desc_size;
    this.descBlocks = Math.ceil(this.groups / this.descPerBlock);
    this.csum = (sb.s_feature_ro_compat & (RO_COMPAT_GDT_CSUM | RO_COMPAT_METADATA_CSUM)) !== 0;
    this.clusterBits = sb.s_feature_ro_compat & RO_COMPAT_BIGALLOC ? Math.max(0, sb.s_log_cluster_size - sb.s_log_block_size) : 0;
  }

  groupFirstBlock(g: number): number {
    return this.sb.s_first_data_block + g * this.sb.s_blocks_per_group;
  }

  groupOf(block: number): number {
    return Math.floor((block - this.sb.s_first_data_block) / this.sb.s_blocks_per_group);
  }

  /** ext2fs_bg_has_super */
  bgHasSuper(g: number): boolean {
    const sb = this.sb;
    if (g === 0) return true;
    if (sb.s_feature_compat & COMPAT_SPARSE_SUPER2) return g === sb.s_backup_bgs[0] || g === sb.s_backup_bgs[1];
    if (g <= 1 || !(sb.s_feature_ro_compat & RO_COMPAT_SPARSE_SUPER)) return true;
    if (!(g & 1)) return false;
    return isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7);
  }

  /** ext2fs_super_and_bgd_loc2: where group g's superblock copy, old-style descriptor copy (+ reserved GDT blocks)
   *  and meta_bg descriptor block lie (null: none) */
  superAndBgdLoc(g: number): { superBlk: number | null; oldDesc: number | null; oldDescBlocks: number; newDesc: number | null } {
    const sb = this.sb;
    let groupBlock = this.groupFirstBlock(g);
    if (groupBlock === 0 && this.bs === 1024) groupBlock = 1;
    const metaBg = (sb.s_feature_incompat & INCOMPAT_META_BG) !== 0;
    const oldDescBlocks = metaBg ? sb.s_first_meta_bg : this.descBlocks + sb.s_reserved_gdt_blocks;
    const hasSuper = this.bgHasSuper(g);
    const r = { superBlk: hasSuper ? groupBlock : null, oldDesc: null as number | null, oldDescBlocks: 0, newDesc: null as number | null };
    const mbg = Math.floor(g / this.descPerBlock);
    if (!metaBg || mbg < sb.s_first_meta_bg) {
      if (hasSuper) {
        r.oldDesc = groupBlock + 1;
        r.oldDescBlocks = oldDescBlocks;
      }
    } else {
      const i = g % this.descPerBlock;
      if (i === 0 || i === 1 || i === this.descPerBlock - 1) r.newDesc = groupBlock + (hasSuper ? 1 : 0);
    }
    return r;
  }

  /** the primary descriptor block i (ext2fs_descriptor_block_loc2 with the primary superblock) */
  descriptorBlock(i: number): number {
    const sb = this.sb;
    const groupBlock = this.bs === 1024 ? Math.max(1, sb.s_first_data_block) : sb.s_first_data_block;
    if (!(sb.s_feature_incompat & INCOMPAT_META_BG) || i < sb.s_first_meta_bg) return groupBlock + i + 1;
    const bg = this.descPerBlock * i;
    return this.groupFirstBlock(bg) + (this.bgHasSuper(bg) ? 1 : 0) + (this.bs === 1024 && sb.s_first_data_block === 0 ? 1 : 0);
  }

  desc(g: number): Ext4GroupDesc {
    if (g < 0 || g >= this.groups) throw new MapError(`group ${g} does not exist (${this.groups} groups)`);
    const i = Math.floor(g / this.descPerBlock);
    const b = this.reader.read(this.descriptorBlock(i), 1, `group descriptor block ${i}`);
    return decodeExt4GroupDesc(b, (g % this.descPerBlock) * this.sb.s_desc_size, this.sb.s_desc_size);
  }

  /** inode-table blocks per group */
  get itableBlocks(): number {
    return Math.ceil((this.sb.s_inodes_per_group * this.sb.s_inode_size) / this.bs);
  }

  /** inodes of group g worth reading: all, less the never-used tail under uninit_bg/metadata_csum */
  inodesInUseArea(d: Ext4GroupDesc): number {
    const ipg = this.sb.s_inodes_per_group;
    if (!this.csum) return ipg;
    if (d.bg_flags & 0x1) return 0;
    return Math.max(0, ipg - Math.min(ipg, d.bg_itable_unused));
  }

  /** the block and byte offset holding inode `ino` */
  inodeLocation(ino: number): { block: number; off: number; group: number } {
    if (ino < 1 || ino > this.sb.s_inodes_count) throw new MapError(`inode ${ino} does not exist (${this.sb.s_inodes_count} inodes)`);
    const g = Math.floor((ino - 1) / this.sb.s_inodes_per_group);
    const idx = (ino - 1) % this.sb.s_inodes_per_group;
    const d = this.desc(g);
    const byte = idx * this.sb.s_inode_size;
    return { block: d.bg_inode_table + Math.floor(byte / this.bs), off: byte % this.bs, group: g };
  }

  readInode(ino: number): { inode: Ext4Inode; buf: Buffer; off: number } {
    const loc = this.inodeLocation(ino);
    const buf = this.reader.read(loc.block, 1, `the inode-table block holding inode ${ino}`);
    return { inode: decodeExt4Inode(buf, loc.off, this.sb.s_inode_size), buf, off: loc.off };
  }

  roleOf(ino: number, inode: Ext4Inode): InodeRole {
    const sb = this.sb;
    if (ino === sb.s_journal_inum && sb.s_journal_inum) return 'journal';
    if (ino === 7) return 'resize';
    if (ino === sb.s_usr_quota_inum || ino === sb.s_grp_quota_inum || ino === sb.s_prj_quota_inum) return 'quota';
    if (ino === sb.s_orphan_file_inum && ino) return 'orphan_file';
    if (ino !== 2 && ino < sb.s_first_ino) return 'reserved';
    if (inode.i_flags & 0x200000) return 'ea_inode';
    const t = inode.i_mode & S_IFMT;
    if (t === S_IFDIR) return 'directory';
    if (t === S_IFREG || t === S_IFLNK) return 'file';
    return 'special';
  }

  /** ext2fs_inode_has_valid_blocks2: whether i_block is a block map (not inline data, a fast symlink or a device) */
  hasBlockMap(inode: Ext4Inode): boolean {
    const t = inode.i_mode & S_IFMT;
    if (t !== S_IFREG && t !== S_IFDIR && t !== S_IFLNK) return false;
    if (t === S_IFLNK) {
      if (!inode.i_file_acl) {
        if (inode.i_blocks === 0) return false;
      } else {
        // with an EA block, i_blocks counts it: decide by the size and i_block[1] as e2fsprogs does
        if (inode.i_size >= 60) return true;
        if (inode.i_size > 4 && inode.i_block.readUInt32LE(4) === 0) return true;
        return false;
      }
    }
    return !(inode.i_flags & EXT4_INLINE_DATA_FL);
  }

  /** a block number a map may point to */
  validBlock(b: number, len = 1): boolean {
    return Number.isSafeInteger(b) && b >= this.sb.s_first_data_block && b + len <= this.blocks && b > 0;
  }

  /** Walks inode `ino`'s block map (extents or indirect), telling `v` of its data and map blocks. */
  walkBlocks(ino: number, inode: Ext4Inode, v: BlockVisitor): void {
    if (!this.hasBlockMap(inode)) return;
    if (inode.i_flags & EXT4_EXTENTS_FL) this.walkExtents(ino, inode.i_block, 0, -1, new Set(), v, 'the inode');
    else this.walkIndirect(ino, inode, v);
  }

  private walkExtents(ino: number, b: Buffer, off: number, wantDepth: number, seen: Set<number>, v: BlockVisitor, where: string): void {
    const h = decodeExtentHeader(b, off);
    const room = where === 'the inode' ? 4 : Math.floor((this.bs - 12) / 12);
    if (h.eh_magic !== EXT4_EXT_MAGIC) throw new MapError(`the extent tree of inode ${ino} is corrupted (no extent header in ${where})`);
    if (h.eh_entries > h.eh_max || h.eh_max > room || (wantDepth >= 0 && h.eh_depth !== wantDepth) || h.eh_depth > 5) {
      throw new MapError(`the extent tree of inode ${ino} is corrupted (header in ${where}: ${h.eh_entries} entries, max ${h.eh_max}, depth ${h.eh_depth})`);
    }
    for (let i = 0; i < h.eh_entries; i++) {
      const e = off + 12 + i * 12;
      if (h.eh_depth === 0) {
        const x = decodeExtent(b, e);
        if (!x.len) continue;
        if (!this.validBlock(x.start, x.len)) {
          v.problem(
            `an extent of inode ${ino} (file block ${x.ee_block}, ${x.len} blocks) points past the end of the file system (block ${x.start}; it has ${this.blocks})`,
          );
          continue;
        }
        v.data(x.ee_block, x.start, x.len, x.unwritten);
      } else {
        const x = decodeExtentIdx(b, e);
        if (!this.validBlock(x.leaf)) {
          v.problem(
            `an extent index of inode ${ino} (file block ${x.ei_block}) points past the end of the file system (block ${x.leaf}; it has ${this.blocks})`,
          );
          continue;
        }
        if (seen.has(x.leaf)) {
          v.problem(`the extent tree of inode ${ino} names block ${x.leaf} twice`);
          continue;
        }
        seen.add(x.leaf);
        v.map(x.leaf, 'extent');
        let child: Buffer;
        try {
          child = this.reader.read(x.leaf, 1, `extent-tree block ${x.leaf} of inode ${ino}`);
        } catch (err) {
          if (!(err instanceof MapError)) throw err;
          v.problem(err.message);
          continue;
        }
        try {
          this.walkExtents(ino, child, 0, h.eh_depth - 1, seen, v, `block ${x.leaf}`);
        } catch (err) {
          if (!(err instanceof MapError)) throw err;
          v.problem(err.message);
        }
      }
    }
  }

  private walkIndirect(ino: number, inode: Ext4Inode, v: BlockVisitor): void {
    const ptrs = this.bs / 4;
    const ib = inode.i_block;
    // coalesce runs so the visitor sees extents, not single blocks
    let run: [number, number, number] | null = null;
    const flush = () => {
      if (run) v.data(run[0], run[1], run[2], false);
      run = null;
    };
    const dataBlock = (lblk: number, p: number) => {
      if (!this.validBlock(p)) {
        v.problem(`block ${lblk} of inode ${ino} points past the end of the file system (block ${p}; it has ${this.blocks})`);
        return;
      }
      if (run && run[0] + run[2] === lblk && run[1] + run[2] === p) run[2]++;
      else {
        flush();
        run = [lblk, p, 1];
      }
    };
    const seen = new Set<number>();
    const walk = (level: number, blk: number, base: number) => {
      if (!this.validBlock(blk)) {
        v.problem(`an indirect block of inode ${ino} (file block ${base}) points past the end of the file system (block ${blk}; it has ${this.blocks})`);
        return;
      }
      if (seen.has(blk)) {
        v.problem(`the block map of inode ${ino} names indirect block ${blk} twice`);
        return;
      }
      seen.add(blk);
      flush();
      v.map(blk, 'indirect');
      let buf: Buffer;
      try {
        buf = this.reader.read(blk, 1, `indirect block ${blk} of inode ${ino}`);
      } catch (err) {
        if (!(err instanceof MapError)) throw err;
        v.problem(err.message);
        return;
      }
      const span = ptrs ** (level - 1);
      for (let j = 0; j < ptrs; j++) {
        const e = buf.readUInt32LE(j * 4);
        if (!e) continue;
        if (level === 1) dataBlock(base + j, e);
        else walk(level - 1, e, base + j * span);
      }
    };
    for (let i = 0; i < 12; i++) {
      const p = ib.readUInt32LE(i * 4);
      if (p) dataBlock(i, p);
    }
    let base = 12;
    for (let level = 1; level <= 3; level++) {
      const p = ib.readUInt32LE((11 + level) * 4);
      if (p) walk(level, p, base);
      base += ptrs ** level;
    }
    flush();
  }

  /** the physical block of logical block `lblk` of an inode, or null (a hole) */
  bmap(ino: number, inode: Ext4Inode, lblk: number): number | null {
    let found: number | null = null;
    const stop = new Error('found');
    try {
      this.walkBlocks(ino, inode, {
        data(l, p, len) {
          if (lblk >= l && lblk < l + len) {
            found = p + (lblk - l);
            throw stop;
          }
        },
        map() {},
        problem() {},
      });
    } catch (e) {
      if (e !== stop) throw e;
    }
    return found;
  }

  /** Every entry of directory `ino` (name, inode), '.' and '..' included; notes invalid blocks to `problem`. */
  dirEntriesOf(
    ino: number,
    inode: Ext4Inode,
    inodeBuf: Buffer,
    inodeOff: number,
    f: (name: Buffer, child: number) => void,
    problem: (t: string) => void,
  ): void {
    if (inode.i_flags & EXT4_INLINE_DATA_FL) {
      // inline directory (fs/ext4/inline.c): '..' as a bare inode number, then entries in i_block[4..60] and system.data
      const parent = inode.i_block.readUInt32LE(0);
      f(Buffer.from('..'), parent);
      const p1 = dirEntries(inode.i_block, 4, 60, this.bs, (i, n) => f(n, i));
      if (p1) problem(`inline directory inode ${ino}: ${p1}`);
      const x = inlineDataXattr(inodeBuf, inodeOff, this.sb.s_inode_size, inode.i_extra_isize);
      if (x?.length) {
        const p2 = dirEntries(x, 0, x.length, this.bs, (i, n) => f(n, i));
        if (p2) problem(`inline directory inode ${ino}: ${p2}`);
      }
      return;
    }
    this.walkBlocks(ino, inode, {
      data: (l, p, len, unwritten) => {
        if (unwritten) return;
        for (let k = 0; k < len; k++) {
          let b: Buffer;
          try {
            b = this.reader.read(p + k, 1, `block ${l + k} of directory inode ${ino}`);
          } catch (err) {
            if (!(err instanceof MapError)) throw err;
            problem(err.message);
            continue;
          }
          const pr = dirEntries(b, 0, this.bs, this.bs, (i, n) => f(n, i));
          if (pr) problem(`directory inode ${ino}, block ${l + k}: ${pr}`);
        }
      },
      map() {},
      problem,
    });
  }
}

function isPowerOf(n: number, base: number): boolean {
  let x = base;
  while (x < n) x *= base;
  return x === n;
}
