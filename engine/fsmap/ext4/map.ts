// ext4: what each bad block holds — debugfs's testb (block bitmap), icheck (block → inode: every inode's block
// map, as debugfs/icheck.c) and ncheck (inode → paths) at once for the whole bad set, group by group.
// Memory: the bad set, the hits, one chunk of an inode table; never a per-block or per-inode table of the volume.
import { Collector } from '../collect.js';
import { resolvePaths, type DirWalker } from '../paths.js';
import { MapError } from '../reader.js';
import { RangeSet } from '../ranges.js';
import type { FreeCheck, FsMapOptions } from '../types.js';
import type { Ext4Fs, InodeRole } from './fs.js';
import {
  decodeExt4Inode,
  decodeJournalSuperblock,
  dirEntries,
  EXT4_BG_BLOCK_UNINIT,
  EXT4_INDEX_FL,
  fileTypeOfMode,
  INCOMPAT_RECOVER,
  JBD2_MAGIC_NUMBER,
  type Ext4GroupDesc,
  type Ext4Inode,
} from './ondisk.js';

/** inode-table blocks read at once while scanning */
const ITABLE_CHUNK_BLOCKS = 64;
/** problems kept for messages */
const MAX_PROBLEMS = 20;

const RESERVED_INODE_NAMES: Record<number, string> = {
  1: 'the bad-blocks inode',
  5: 'the boot-loader inode',
  6: 'the undelete-directory inode',
  9: 'the exclude-bitmap inode',
  10: 'the replica inode',
};

export interface Ext4MapOutcome {
  collector: Collector;
  names: Map<number, import('../collect.js').PathInfo>;
  may_be_stale: string[];
  inodes_scanned: number;
  directories_scanned: number;
}

export function mapExt4(fs: Ext4Fs, bad: RangeSet, o: FsMapOptions): Ext4MapOutcome {
  const r = fs.reader;
  const sb = fs.sb;
  const spb = fs.spb;
  const col = new Collector(bad, fs.bs, o);
  const problems: string[] = [];
  let problemCount = 0;
  const problem = (t: string) => {
    problemCount++;
    if (problems.length < MAX_PROBLEMS && !problems.includes(t)) problems.push(t);
  };

  // past the end of the file system, and the bytes of the first block around the superblock
  col.free(`past the end of the ext4 file system (it has ${fs.blocks} blocks of ${fs.bs} bytes): not part of it; harmless`, fs.blocks * spb, r.src.sectors);
  col.meta(
    'ext4.boot_area',
    () => ({
      structure: 'ext4.boot_area',
      description: 'the first 1024 bytes of the volume (boot sectors)',
      meaning: 'not used by ext4 (a boot loader may live there); the file system is not affected',
      group: 0,
    }),
    0,
    2,
  );
  col.meta('ext4.superblock', () => superblockInit(0), 2, 4);
  if (fs.bs > 1024) {
    col.meta(
      'ext4.superblock_block',
      () => ({ structure: 'ext4.unused', description: "the rest of the superblock's block (unused)", meaning: 'not used by ext4; harmless', group: 0 }),
      4,
      spb,
    );
  }

  // the static layout of every group: superblock copies, descriptors, reserved GDT, bitmaps, inode tables
  const descOf = (g: number): Ext4GroupDesc | null => {
    try {
      return fs.desc(g);
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
      problem(e.message);
      return null;
    }
  };
  const itb = fs.itableBlocks;
  for (let g = 0; g < fs.groups; g++) {
    const loc = fs.superAndBgdLoc(g);
    if (loc.superBlk !== null && g > 0) col.metaBlocks(`ext4.superblock:${g}`, () => superblockInit(g), loc.superBlk, 1);
    if (loc.oldDesc !== null) {
      const n = Math.min(fs.descBlocks, loc.oldDescBlocks);
      col.metaBlocks(`ext4.group_descriptors:${g}`, () => gdtInit(g), loc.oldDesc, n);
      // the reserved GDT blocks after them belong to the resize inode (7): its block map claims them below, as icheck
    }
    if (loc.newDesc !== null) col.metaBlocks(`ext4.group_descriptors:${g}`, () => gdtInit(g), loc.newDesc, 1);
    const d = descOf(g);
    if (!d) continue;
    const uninit = d.bg_flags & EXT4_BG_BLOCK_UNINIT ? ' (not yet initialised: the group is unused)' : '';
    col.metaBlocks(
      `ext4.block_bitmap:${g}`,
      () => ({
        structure: 'ext4.block_bitmap',
        description: `the block bitmap of group ${g}${uninit}`,
        meaning: 'which blocks are in use: new files may be given blocks that are in use until e2fsck -f rebuilds it (mount read-only until then)',
        group: g,
      }),
      d.bg_block_bitmap,
      1,
    );
    col.metaBlocks(
      `ext4.inode_bitmap:${g}`,
      () => ({
        structure: 'ext4.inode_bitmap',
        description: `the inode bitmap of group ${g}`,
        meaning: 'which inodes are in use: e2fsck -f rebuilds it; until then new files may be given inodes that are in use',
        group: g,
      }),
      d.bg_inode_bitmap,
      1,
    );
    col.metaBlocks(
      itableKey(g),
      () => ({
        structure: 'ext4.inode_table',
        description: `the inode table of group ${g} (inodes ${g * sb.s_inodes_per_group + 1}..${(g + 1) * sb.s_inodes_per_group})`,
        meaning: 'holds the inodes listed (owner, size, where the data lies): those files may be lost or wrong; e2fsck clears damaged inodes',
        group: g,
      }),
      d.bg_inode_table,
      itb,
    );
  }
  if (sb.s_mmp_block)
    col.metaBlocks(
      'ext4.mmp',
      () => ({
        structure: 'ext4.mmp',
        description: 'the multiple-mount protection block',
        meaning: 'guards against mounting on two hosts at once: e2fsck rewrites it',
      }),
      sb.s_mmp_block,
      1,
    );

  // every inode's block map (icheck), with the names held by bad directory blocks and the inodes in bad table blocks
  let inodesScanned = 0;
  const journal = { start: -1 };
  scanInodes(fs, problem, (ino, inode, slotBad) => {
    inodesScanned++;
    const type = fileTypeOfMode(inode.i_mode);
    if (slotBad) col.heldInode(itableKey(Math.floor((ino - 1) / sb.s_inodes_per_group)), ino, type);
    r.taint = null;
    const slotTaint = slotBad ? `inode ${ino} itself (its inode-table block is bad)` : null;
    const taint = () => slotTaint ?? r.taint;
    const role = fs.roleOf(ino, inode);
    if (inode.i_file_acl) {
      const acl = inode.i_file_acl;
      if (!fs.validBlock(acl)) problem(`the extended-attribute block of inode ${ino} points past the end of the file system (block ${acl})`);
      else if (
        col.metaBlocks(
          `ext4.xattr:${acl}`,
          () => ({
            structure: 'ext4.xattr',
            description: `an extended-attribute block (block ${acl})`,
            meaning: 'extended attributes (ACLs, security labels, capabilities) of the inodes listed are lost or wrong; their data is intact',
            owner: { inode: ino, file_type: type },
          }),
          acl,
          1,
          taint(),
        )
      )
        col.heldInode(`ext4.xattr:${acl}`, ino, type);
    }
    if (!fs.hasBlockMap(inode)) return;
    const ref = { inode: ino, file_type: type, size: inode.i_size };
    const mapKey = role === 'file' || role === 'directory' ? `ext4.map:${ino}` : roleKey(role, ino);
    const mapInit = () => (role === 'file' || role === 'directory' ? mapBlockInit(ino, type, inode) : roleInit(role, ino, type));
    let dirHits: { lblk: number; pblk: number; len: number }[] | null = null;
    fs.walkBlocks(ino, inode, {
      data: (lblk, pblk, len, unwritten) => {
        if (role === 'journal' && lblk === 0) journal.start = pblk;
        if (!bad.intersects(pblk * spb, (pblk + len) * spb)) return;
        if (role === 'file') col.file(ref, pblk, len, lblk, unwritten, taint());
        else if (role === 'directory') (dirHits ??= []).push({ lblk, pblk, len });
        else col.metaBlocks(roleKey(role, ino), () => roleInit(role, ino, type), pblk, len, taint());
      },
      map: (pblk) => {
        col.metaBlocks(mapKey, mapInit, pblk, 1, taint());
      },
      problem,
    });
    if (dirHits) directoryHits(fs, col, ino, inode, dirHits, taint());
  });

  // what is left: free per the block bitmap, or in use with no owner found
  const left = bad.minus(col.claimed.finish());
  const ownerless = `in use per the block bitmap, but no inode's block map names it${problemCount ? `; ${problemCount} part(s) of the file system could not be read or are corrupted: ${problems.slice(0, 3).join('; ')}` : ' (a leaked block: e2fsck would free it)'}`;
  classifyByBitmap(fs, left, col, ownerless);

  // names
  const targets = col.inodesToName();
  const { names, directories } = resolvePaths(ext4DirWalker(fs), targets, col.maxPaths);

  // staleness: an unreplayed journal
  const stale: string[] = [];
  if (sb.s_feature_incompat & INCOMPAT_RECOVER)
    stale.push(
      'the ext4 journal holds changes not yet replayed (needs_recovery): the next mount or e2fsck writes them, which can change what these blocks hold',
    );
  else if (journal.start > 0) {
    try {
      const j = decodeJournalSuperblock(r.read(journal.start, 1, 'the journal superblock'));
      if (j.h_magic === JBD2_MAGIC_NUMBER && j.s_start !== 0)
        stale.push('the ext4 journal is not empty (s_start ≠ 0): the next mount replays it, which can change what these blocks hold');
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
    }
  }
  if (sb.s_state & 0x2) stale.push('the file system is marked as having errors: its structures may disagree until e2fsck runs');
  return { collector: col, names, may_be_stale: stale, inodes_scanned: inodesScanned, directories_scanned: directories };
}

function itableKey(g: number): string {
  return `ext4.inode_table:${g}`;
}

function superblockInit(g: number) {
  return g === 0
    ? {
        structure: 'ext4.superblock',
        description: 'the primary superblock',
        meaning: 'the kernel cannot mount the file system if it is wrong: e2fsck -b <backup> restores it from a backup copy',
        group: 0,
      }
    : {
        structure: 'ext4.superblock_backup',
        description: `the backup superblock in group ${g}`,
        meaning: 'a spare copy of the superblock: harmless while the primary is good; e2fsck rewrites it',
        group: g,
      };
}

function gdtInit(g: number) {
  return g === 0
    ? {
        structure: 'ext4.group_descriptors',
        description: 'the group descriptor table (primary)',
        meaning: "says where every group's bitmaps and inode table lie: the kernel may refuse to mount; e2fsck restores it from a backup",
        group: 0,
      }
    : {
        structure: 'ext4.group_descriptors_backup',
        description: `the backup group descriptors in group ${g}`,
        meaning: 'a spare copy of the group descriptors: harmless while the primary is good; e2fsck rewrites it',
        group: g,
      };
}

function mapBlockInit(ino: number, type: string, inode: Ext4Inode) {
  return {
    structure: inode.i_flags & 0x80000 ? 'ext4.extent_tree' : 'ext4.indirect_block',
    description: `${inode.i_flags & 0x80000 ? 'an extent-tree block' : 'an indirect (block-map) block'} of inode ${ino}`,
    meaning: `part of the map of where the ${type === 'directory' ? "directory's" : "file's"} blocks lie: the data it maps cannot be found; e2fsck may truncate or clear the ${type === 'directory' ? 'directory' : 'file'}`,
    owner: { inode: ino, file_type: type },
  };
}

function roleKey(role: InodeRole, ino: number): string {
  if (role === 'journal') return 'ext4.journal';
  if (role === 'resize') return 'ext4.resize_inode';
  return `ext4.${role}:${ino}`;
}

function roleInit(role: InodeRole, ino: number, type: string) {
  const owner = { inode: ino, file_type: type, system: true };
  switch (role) {
    case 'journal':
      return {
        structure: 'ext4.journal',
        description: `the journal (inode ${ino})`,
        meaning:
          'harmless after a clean unmount (the journal is rewritten before it is read again); with a journal to replay, the replay may write wrong metadata: run e2fsck before mounting',
        owner,
      };
    case 'resize':
      return {
        structure: 'ext4.resize_inode',
        description: 'the resize inode (7), which reserves room to grow the group descriptors',
        meaning: 'unused until the file system is grown: e2fsck rebuilds it; no data is affected',
        owner,
      };
    case 'quota':
      return {
        structure: 'ext4.quota',
        description: `a quota file (inode ${ino})`,
        meaning: 'disk-usage accounting: e2fsck (or quotacheck) recomputes it; no data is affected',
        owner,
      };
    case 'orphan_file':
      return {
        structure: 'ext4.orphan_file',
        description: `the orphan file (inode ${ino})`,
        meaning: 'lists files being deleted or truncated: e2fsck rebuilds it; no data is affected',
        owner,
      };
    case 'ea_inode':
      return {
        structure: 'ext4.xattr_inode',
        description: `an inode holding a large extended-attribute value (inode ${ino})`,
        meaning: 'an extended attribute value of some file is wrong; file data is intact',
        owner,
      };
    default:
      return {
        structure: 'ext4.reserved_inode',
        description: `${RESERVED_INODE_NAMES[ino] ?? `reserved inode ${ino}`}`,
        meaning: "a reserved inode's blocks: e2fsck checks it",
        owner,
      };
  }
}

/** bad blocks of directory `ino`: its entries (names held), or its htree index (dx_root / dx_node) */
function directoryHits(
  fs: Ext4Fs,
  col: Collector,
  ino: number,
  inode: Ext4Inode,
  hits: { lblk: number; pblk: number; len: number }[],
  taint: string | null,
): void {
  const spb = fs.spb;
  const dx = inode.i_flags & EXT4_INDEX_FL ? htreeNodes(fs, ino, inode) : new Set<number>();
  const dataKey = `ext4.directory:${ino}`;
  const type = 'directory';
  for (const h of hits) {
    for (let k = 0; k < h.len; k++) {
      const p = h.pblk + k;
      const l = h.lblk + k;
      if (!fs.reader.isBad(p)) continue;
      if (dx.has(l) && l !== 0) {
        col.meta(
          `ext4.htree:${ino}`,
          () => ({
            structure: 'ext4.htree',
            description: `the hashed index (htree) of directory inode ${ino}`,
            meaning: 'speeds up name look-ups: the kernel may fail look-ups in this directory until e2fsck -fD rebuilds the index; no names are lost',
            owner: { inode: ino, file_type: type },
          }),
          p * spb,
          (p + 1) * spb,
          taint,
        );
        continue;
      }
      col.meta(
        dataKey,
        () => ({
          structure: 'ext4.directory',
          description: `directory entries of directory inode ${ino}${l === 0 && dx.size ? ' (its first block also holds the htree root)' : ''}`,
          meaning: 'the names listed vanish from this directory or point to the wrong inode: e2fsck moves files it finds without a name to /lost+found',
          owner: { inode: ino, file_type: type },
        }),
        p * spb,
        (p + 1) * spb,
        taint ?? 'the names were read from the damaged block itself',
      );
      try {
        const b = fs.reader.read(p, 1, `block ${l} of directory inode ${ino}`);
        const names: string[] = [];
        dirEntries(b, 0, fs.bs, fs.bs, (_i, n) => {
          const s = n.toString('utf8');
          if (s !== '.' && s !== '..') names.push(s);
        });
        col.heldNames(dataKey, names);
      } catch (e) {
        if (!(e instanceof MapError)) throw e;
      }
    }
  }
}

/** logical blocks of an htree directory that are index nodes (dx_root is block 0; dx_node blocks below it) */
function htreeNodes(fs: Ext4Fs, ino: number, inode: Ext4Inode): Set<number> {
  const nodes = new Set<number>([0]);
  try {
    const p0 = fs.bmap(ino, inode, 0);
    if (p0 === null) return nodes;
    const root = fs.reader.read(p0, 1, `the htree root of directory inode ${ino}`);
    // struct dx_root: '.' (12 bytes), '..' header (12), dx_root_info (8): indirect_levels at 0x1e, then dx_countlimit
    // (a block is at least 1 KiB: both bytes are in range)
    const levels = root.readUInt8(0x1e);
    const infoLen = root.readUInt8(0x1d);
    if (levels > 2) return nodes;
    let level: number[] = dxEntries(root, 0x18 + infoLen);
    for (let d = 0; d < levels; d++) {
      const next: number[] = [];
      for (const l of level) {
        if (nodes.has(l)) continue;
        nodes.add(l);
        const p = fs.bmap(ino, inode, l);
        if (p === null) continue;
        // struct dx_node: a fake dirent (8 bytes), then dx_countlimit
        next.push(...dxEntries(fs.reader.read(p, 1, `an htree node of directory inode ${ino}`), 8));
      }
      level = next;
    }
  } catch (e) {
    if (!(e instanceof MapError)) throw e;
  }
  return nodes;
}

/** struct dx_countlimit at `off` (limit u16, count u16, block u32) then struct dx_entry {hash u32, block u32} */
function dxEntries(b: Buffer, off: number): number[] {
  if (off + 8 > b.length) return [];
  const limit = b.readUInt16LE(off);
  const count = b.readUInt16LE(off + 2);
  if (count > limit || off + count * 8 > b.length) return [];
  const out = [b.readUInt32LE(off + 4)];
  for (let i = 1; i < count; i++) out.push(b.readUInt32LE(off + i * 8 + 4));
  return out;
}

/** Calls f for every inode in use (i_links_count > 0, as icheck), group by group, reading only the part of each
 *  inode table that was ever used. */
export function scanInodes(
  fs: Ext4Fs,
  problem: (t: string) => void,
  f: (ino: number, inode: Ext4Inode, slotBad: boolean, buf: Buffer, off: number) => void,
): void {
  const sb = fs.sb;
  const isz = sb.s_inode_size;
  const perBlock = fs.bs / isz;
  for (let g = 0; g < fs.groups; g++) {
    let d: Ext4GroupDesc;
    try {
      d = fs.desc(g);
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
      problem(`the inodes of group ${g}: ${e.message}`);
      continue;
    }
    const n = fs.inodesInUseArea(d);
    const blocks = Math.ceil(n / perBlock);
    for (let b0 = 0; b0 < blocks; b0 += ITABLE_CHUNK_BLOCKS) {
      const count = Math.min(ITABLE_CHUNK_BLOCKS, blocks - b0);
      const first = d.bg_inode_table + b0;
      let buf: Buffer | null = null;
      try {
        buf = fs.reader.read(first, count, `the inode table of group ${g}`, false);
      } catch (e) {
        if (!(e instanceof MapError)) throw e;
      }
      for (let k = 0; k < count; k++) {
        let blockBuf: Buffer;
        let base: number;
        if (buf) {
          blockBuf = buf;
          base = k * fs.bs;
        } else {
          try {
            blockBuf = fs.reader.read(first + k, 1, `inode-table block ${first + k} (group ${g})`, false);
            base = 0;
          } catch (e) {
            if (!(e instanceof MapError)) throw e;
            const first = g * sb.s_inodes_per_group + (b0 + k) * perBlock + 1;
            problem(`inodes ${first}..${first + perBlock - 1} could not be read: ${e.message}`);
            continue;
          }
        }
        for (let j = 0; j < perBlock; j++) {
          const idx = (b0 + k) * perBlock + j;
          if (idx >= n) break;
          const off = base + j * isz;
          // i_links_count first: most slots are free
          if (blockBuf.readUInt16LE(off + 0x1a) === 0) continue;
          const inode = decodeExt4Inode(blockBuf, off, isz);
          if (inode.i_dtime) continue;
          const pos = (first + k) * fs.bs + j * isz;
          const slotBad = fs.reader.bad.intersects(Math.floor(pos / 512), Math.ceil((pos + isz) / 512));
          f(g * sb.s_inodes_per_group + idx + 1, inode, slotBad, blockBuf, off);
        }
      }
    }
  }
}

/** Left-over bad sectors: free per the block bitmap (ext2fs_test_block_bitmap2, as debugfs testb), or in use. */
function classifyByBitmap(fs: Ext4Fs, left: RangeSet, col: Collector, ownerless: string): void {
  const spb = fs.spb;
  const free = 'free space: not in use by the file system; harmless (rewriting it with zeros and a valid tag clears the error)';
  for (const [a, b] of left.pairs()) {
    let blk = Math.floor(a / spb);
    const endBlk = Math.min(Math.ceil(b / spb), fs.blocks);
    while (blk < endBlk) {
      if (blk < fs.sb.s_first_data_block) {
        blk++;
        continue;
      }
      const g = fs.groupOf(blk);
      const gEnd = Math.min(endBlk, fs.groupFirstBlock(g + 1));
      const answer = bitmapRuns(fs, g, blk, gEnd);
      if (typeof answer === 'string') col.unmapped(answer, blk * spb, gEnd * spb);
      else {
        for (const [x, y, used] of answer) {
          if (used) col.unmapped(ownerless, x * spb, y * spb);
          else col.free(free, x * spb, y * spb);
        }
      }
      blk = gEnd;
    }
  }
}

/** runs [x, y, inUse] of blocks [from, to) of group g per its block bitmap, or why it cannot be read */
function bitmapRuns(fs: Ext4Fs, g: number, from: number, to: number): [number, number, boolean][] | string {
  let d: Ext4GroupDesc;
  try {
    d = fs.desc(g);
  } catch (e) {
    if (!(e instanceof MapError)) throw e;
    return `whether the block is in use is unknown: ${e.message}`;
  }
  // BLOCK_UNINIT: no bitmap on disk; only the group's own metadata is in use, and that was matched already
  if (d.bg_flags & EXT4_BG_BLOCK_UNINIT && fs.csum) return [[from, to, false]];
  let bm: Buffer;
  try {
    bm = fs.reader.read(d.bg_block_bitmap, 1, `the block bitmap of group ${g}`);
  } catch (e) {
    if (!(e instanceof MapError)) throw e;
    return `whether the block is in use is unknown: ${e.message}`;
  }
  const first = fs.groupFirstBlock(g);
  const runs: [number, number, boolean][] = [];
  for (let blk = from; blk < to; blk++) {
    const bit = (blk - first) >> fs.clusterBits;
    const byte = bm[bit >> 3];
    if (byte === undefined)
      return `whether the block is in use is unknown: block ${blk} lies past the end of the block bitmap of group ${g} (bit ${bit}, ${bm.length * 8} bits)`;
    const used = !!((byte >> (bit & 7)) & 1);
    const last = runs[runs.length - 1];
    if (last && last[2] === used && last[1] === blk) last[1] = blk + 1;
    else runs.push([blk, blk + 1, used]);
  }
  return runs;
}

/** ncheck's view: every directory entry, and '..' look-ups (ext2fs_get_pathname) */
function ext4DirWalker(fs: Ext4Fs): DirWalker {
  const entriesOf = (ino: number, f: (name: Buffer, child: number) => void, problem: (t: string) => void) => {
    const { inode, buf, off } = fs.readInode(ino);
    if ((inode.i_mode & 0xf000) !== 0x4000) throw new MapError(`inode ${ino} is not a directory`);
    fs.dirEntriesOf(ino, inode, buf, off, f, problem);
  };
  return {
    root: 2,
    forEachEntry(f) {
      let directories = 0;
      const failed: string[] = [];
      const problem = (t: string) => {
        if (failed.length < 5) failed.push(t);
      };
      scanInodes(fs, problem, (ino, inode, _bad, buf, off) => {
        if ((inode.i_mode & 0xf000) !== 0x4000) return;
        directories++;
        fs.dirEntriesOf(
          ino,
          inode,
          buf,
          off,
          (name, child) => {
            if (name.length <= 2 && (name.equals(DOT) || name.equals(DOTDOT))) return;
            f(ino, name.toString('utf8'), child);
          },
          problem,
        );
      });
      return { directories, failed };
    },
    parentOf(dir) {
      let parent = 0;
      entriesOf(
        dir,
        (name, child) => {
          if (!parent && name.equals(DOTDOT)) parent = child;
        },
        () => {},
      );
      if (!parent) throw new MapError(`directory inode ${dir} has no '..' entry`);
      return parent;
    },
    namesIn(dir, child) {
      const out: string[] = [];
      entriesOf(
        dir,
        (name, c) => {
          if (c === child && !name.equals(DOT) && !name.equals(DOTDOT)) out.push(name.toString('utf8'));
        },
        () => {},
      );
      return out;
    },
  };
}

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');

/** Whether the blocks under `ranges` are free per the block bitmaps (the check before rewriting them). */
export function ext4FreeCheck(fs: Ext4Fs, ranges: RangeSet): FreeCheck {
  const spb = fs.spb;
  const free: [number, number][] = [];
  const notFree: { range: [number, number]; why: string }[] = [];
  let statics: RangeSet | null = null;
  for (const [a, b] of ranges.pairs()) {
    let blk = Math.floor(a / spb);
    const endBlk = Math.ceil(b / spb);
    while (blk < endBlk) {
      const clip = (x: number, y: number): [number, number] => [Math.max(a, x * spb), Math.min(b, y * spb)];
      if (blk >= fs.blocks) {
        // not part of the file system: nothing there is in use (the mapping says so too)
        free.push(clip(blk, endBlk));
        break;
      }
      if (blk < fs.sb.s_first_data_block) {
        notFree.push({ range: clip(blk, blk + 1), why: 'the boot area before the superblock' });
        blk++;
        continue;
      }
      const g = fs.groupOf(blk);
      const gEnd = Math.min(endBlk, fs.groupFirstBlock(g + 1), fs.blocks);
      const runs = bitmapRuns(fs, g, blk, gEnd);
      if (typeof runs === 'string') notFree.push({ range: clip(blk, gEnd), why: runs });
      else {
        for (const [x, y, used] of runs) {
          if (used) notFree.push({ range: clip(x, y), why: `in use per the block bitmap of group ${g}` });
          else if ((statics ??= staticMetadataIn(fs, ranges)).intersects(x, y))
            notFree.push({ range: clip(x, y), why: `file-system metadata of group ${g} (its bitmap is not initialised)` });
          else free.push(clip(x, y));
        }
      }
      blk = gEnd;
    }
  }
  return { fs: 'ext4', block_size: fs.bs, free, not_free: notFree };
}

/**
 * The static metadata blocks (superblock and descriptor copies, bitmaps, inode tables of every group) among the
 * blocks under `ranges`: what a BLOCK_UNINIT group's missing bitmap would have marked in use (with flex_bg, other
 * groups' bitmaps and tables may lie there). One pass over the descriptors; only the hits are kept.
 */
function staticMetadataIn(fs: Ext4Fs, ranges: RangeSet): RangeSet {
  const blocks = ranges.toUnits(fs.spb);
  const hits: [number, number][] = [];
  const add = (s: number | null, n: number) => {
    if (s !== null && n > 0 && blocks.intersects(s, s + n)) hits.push([s, s + n]);
  };
  for (let g = 0; g < fs.groups; g++) {
    const loc = fs.superAndBgdLoc(g);
    add(loc.superBlk, 1);
    add(loc.oldDesc, loc.oldDescBlocks);
    add(loc.newDesc, 1);
    try {
      const d = fs.desc(g);
      add(d.bg_block_bitmap, 1);
      add(d.bg_inode_bitmap, 1);
      add(d.bg_inode_table, fs.itableBlocks);
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
    }
  }
  return RangeSet.fromPairs(hits);
}
