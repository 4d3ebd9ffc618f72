// XFS: what each bad block holds, as xfs_db's blockget/blockuse (every inode's forks and every AG btree, AG by AG)
// and ncheck do; free space per the by-block free-space btree (bnobt). Memory: the bad set, the hits, one inode
// chunk at a time.
import { Collector, type PathInfo } from '../collect.js';
import { resolvePaths, type DirWalker } from '../paths.js';
import { BlockReader, MapError } from '../reader.js';
import type { RangeSet } from '../ranges.js';
import type { FreeCheck, FsMapOptions } from '../types.js';
import type { SectorSource } from '../sector-source.js';
import { fileTypeOfMode } from '../ext4/ondisk.js';
import { isFreeInChunk, isHoleInChunk, xfsSuperblockProblem, XfsFs, type ForkVisitor } from './fs.js';
import {
  decodeXfsDinode,
  decodeXfsSb,
  XFS_DINODE_FMT_LOCAL,
  XFS_DINODE_MAGIC,
  XFS_DIR2_LEAF_OFFSET_BYTES,
  XFS_SB_MAGIC,
  XLOG_HEADER_MAGIC_NUM,
  XLOG_UNMOUNT_TRANS,
  xfsDirDataEntries,
  xfsShortformEntries,
  type XfsAgf,
  type XfsAgi,
  type XfsDinode,
} from './ondisk.js';

export type { XfsFs };

const MAX_PROBLEMS = 20;

export function openXfs(src: SectorSource, bad: RangeSet): XfsFs {
  const raw = Buffer.alloc(512);
  const unreadable = src.read(0, 1, raw);
  if (unreadable?.length) throw new MapError('the block holding the XFS superblock is itself damaged (it cannot be read)');
  const sb = decodeXfsSb(raw);
  if (sb.sb_magicnum !== XFS_SB_MAGIC) throw new MapError('no XFS superblock');
  const problem = xfsSuperblockProblem(sb);
  if (problem)
    throw new MapError(
      `the XFS superblock is corrupted: ${problem}${bad.intersects(0, 1) ? ' (it lies in a bad range itself)' : ''}; xfs_repair finds a backup superblock`,
    );
  const reader = new BlockReader(src, bad, sb.sb_blocksize, sb.sb_dblocks);
  if (bad.intersects(0, 1)) reader.damaged.push('the XFS superblock');
  return new XfsFs(sb, reader);
}

interface Outcome {
  collector: Collector;
  names: Map<number, PathInfo>;
  may_be_stale: string[];
  inodes_scanned: number;
  directories_scanned: number;
  method: string;
}

export function mapXfs(fs: XfsFs, bad: RangeSet, o: FsMapOptions): Outcome {
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
  col.free(
    `past the end of the XFS file system (it has ${sb.sb_dblocks} blocks of ${fs.bs} bytes): not part of it; harmless`,
    sb.sb_dblocks * spb,
    r.src.sectors,
  );
  const badBlocks = bad.toUnits(spb);
  const agHasBad = (agno: number) => badBlocks.intersects(fs.lin(agno, 0), fs.lin(agno, 0) + fs.agLen(agno));

  // the internal log
  if (sb.sb_logstart > 0) {
    const lin = fs.fsbToLin(sb.sb_logstart, sb.sb_logblocks);
    if (lin === null) problem(`the log start (block ${sb.sb_logstart}) is outside the file system`);
    else
      col.metaBlocks(
        'xfs.log',
        () => ({
          structure: 'xfs.log',
          description: 'the internal log',
          meaning:
            'harmless after a clean unmount (the log is rewritten before it is read again); with a dirty log, recovery may replay wrong metadata: run xfs_repair (it may need -L, losing the log)',
        }),
        lin,
        sb.sb_logblocks,
      );
  }

  const agfs: (XfsAgf | null)[] = [];
  let inodesScanned = 0;
  for (let agno = 0; agno < sb.sb_agcount; agno++) {
    const base = fs.lin(agno, 0) * spb;
    const ss = sb.sb_sectsize / 512;
    // AG headers, each one sector (sb_sectsize) at the start of the AG
    col.meta(
      agno ? `xfs.superblock:${agno}` : 'xfs.superblock',
      () =>
        agno
          ? {
              structure: 'xfs.superblock_backup',
              description: `the backup superblock of AG ${agno}`,
              meaning: 'a spare copy of the superblock: harmless while the primary is good; xfs_repair rewrites it',
              group: agno,
            }
          : {
              structure: 'xfs.superblock',
              description: 'the primary superblock',
              meaning: 'the kernel cannot mount the file system if it is wrong: xfs_repair restores it from a backup copy',
              group: 0,
            },
      base,
      base + ss,
    );
    col.meta(
      `xfs.agf:${agno}`,
      () => ({
        structure: 'xfs.agf',
        description: `the free-space header (AGF) of AG ${agno}`,
        meaning: "describes the AG's free space: the kernel shuts the file system down when it reads it wrong; xfs_repair rebuilds it",
        group: agno,
      }),
      base + ss,
      base + 2 * ss,
    );
    col.meta(
      `xfs.agi:${agno}`,
      () => ({
        structure: 'xfs.agi',
        description: `the inode header (AGI) of AG ${agno}`,
        meaning: "describes the AG's inodes: the kernel shuts the file system down when it reads it wrong; xfs_repair rebuilds it",
        group: agno,
      }),
      base + 2 * ss,
      base + 3 * ss,
    );
    col.meta(
      `xfs.agfl:${agno}`,
      () => ({
        structure: 'xfs.agfl',
        description: `the free-list header (AGFL) of AG ${agno}`,
        meaning: "the AG's reserve of blocks for its btrees: xfs_repair rebuilds it",
        group: agno,
      }),
      base + 3 * ss,
      base + 4 * ss,
    );
    if (fs.headerBlocks * spb > 4 * ss)
      col.meta(
        `xfs.ag_header_unused:${agno}`,
        () => ({ structure: 'xfs.unused', description: `the unused rest of AG ${agno}'s header block`, meaning: 'not used by XFS; harmless', group: agno }),
        base + 4 * ss,
        base + fs.headerBlocks * spb,
      );
    if (!agHasBad(agno)) {
      agfs.push(null);
      continue;
    }
    let agf: XfsAgf | null = null;
    try {
      agf = fs.agf(agno);
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
      problem(e.message);
    }
    agfs.push(agf);
    if (agf) {
      const btree = (
        name: 'bnobt' | 'cntbt' | 'rmapbt' | 'refcountbt',
        root: number,
        levels: number,
        recLen: number,
        keyLen: number,
        text: string,
        meaning: string,
      ) => {
        fs.walkAgBtree(
          agno,
          name,
          root,
          levels,
          recLen,
          keyLen,
          (agbno) => {
            col.metaBlocks(
              `xfs.${name}:${agno}`,
              () => ({ structure: `xfs.${name}`, description: `${text} of AG ${agno}`, meaning, group: agno }),
              fs.lin(agno, agbno),
              1,
            );
          },
          null,
          problem,
        );
      };
      btree(
        'bnobt',
        agf.agf_bno_root,
        agf.agf_bno_level,
        8,
        8,
        'a block of the free-space btree by block number (bnobt)',
        'says which blocks are free: the kernel may shut the file system down; xfs_repair rebuilds it, no data is lost',
      );
      btree(
        'cntbt',
        agf.agf_cnt_root,
        agf.agf_cnt_level,
        8,
        8,
        'a block of the free-space btree by size (cntbt)',
        'says which blocks are free: the kernel may shut the file system down; xfs_repair rebuilds it, no data is lost',
      );
      if (fs.rmapbt)
        btree(
          'rmapbt',
          agf.agf_rmap_root,
          agf.agf_rmap_level,
          24,
          40,
          'a block of the reverse-mapping btree (rmapbt)',
          'says which inode owns each block: xfs_repair rebuilds it, no data is lost',
        );
      if (fs.reflink)
        btree(
          'refcountbt',
          agf.agf_refcount_root,
          agf.agf_refcount_level,
          12,
          4,
          'a block of the reference-count btree',
          'counts the sharers of reflinked blocks: xfs_repair rebuilds it; a wrong count can free a block still in use',
        );
      try {
        for (const agbno of fs.agflBlocks(agno, agf)) {
          if (agbno >= fs.agLen(agno)) continue;
          col.metaBlocks(
            `xfs.agfl_block:${agno}`,
            () => ({
              structure: 'xfs.agfl_block',
              description: `a block on the free list of AG ${agno} (held in reserve for its btrees)`,
              meaning: 'holds nothing yet (it is overwritten when a btree takes it); harmless',
              group: agno,
            }),
            fs.lin(agno, agbno),
            1,
          );
        }
      } catch (e) {
        if (!(e instanceof MapError)) throw e;
        problem(e.message);
      }
    }
    let agi: XfsAgi | null = null;
    try {
      agi = fs.agi(agno);
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
      problem(e.message);
    }
    if (agi && fs.finobt && agi.agi_free_root) {
      fs.walkAgBtree(
        agno,
        'finobt',
        agi.agi_free_root,
        agi.agi_free_level,
        16,
        4,
        (agbno) => {
          col.metaBlocks(
            `xfs.finobt:${agno}`,
            () => ({
              structure: 'xfs.finobt',
              description: `a block of the free-inode btree (finobt) of AG ${agno}`,
              meaning: 'finds free inodes quickly: xfs_repair rebuilds it, no data is lost',
              group: agno,
            }),
            fs.lin(agno, agbno),
            1,
          );
        },
        null,
        problem,
      );
    }
  }

  // which inode holds what: per the reverse-mapping btree where there is one (as xfs_db fsmap and GETFSMAP do), else
  // every inode of every AG (their block maps can point into any AG)
  const dirHits: DirHit[] = [];
  const inodeVisitor = (ino: number, d: XfsDinode, slotTaint: string | null, attr: boolean): ForkVisitor => {
    const type = fileTypeOfMode(d.di_mode);
    const taint = () => slotTaint ?? r.taint;
    const role = xfsRole(fs, ino, d);
    const ref = { inode: ino, file_type: type, size: d.di_size };
    const owner = { inode: ino, file_type: type, system: role !== 'file' && role !== 'directory' };
    return {
      extent: (off, lin, len, unwritten) => {
        if (!bad.intersects(lin * spb, (lin + len) * spb)) return;
        if (attr)
          col.metaBlocks(
            `xfs.attr:${ino}`,
            () => ({
              structure: 'xfs.attr',
              description: `extended attributes of inode ${ino}`,
              meaning: 'extended attributes (ACLs, security labels) of this inode are lost or wrong; its data is intact',
              owner,
            }),
            lin,
            len,
            taint(),
          );
        // a v5 remote symlink block starts with struct xfs_dsymlink_hdr (56 bytes)
        else if (role === 'file') col.file(ref, lin, len, off, unwritten, taint(), type === 'symlink' && fs.v5 ? 56 : 0);
        else if (role === 'directory') dirHits.push({ ino, d, lin, len, off, taint: taint() });
        else col.metaBlocks(`xfs.${role}:${ino}`, () => systemInit(role, ino, owner), lin, len, taint());
      },
      bmbt: (lin) => {
        col.metaBlocks(
          `xfs.bmbt:${ino}`,
          () => ({
            structure: 'xfs.bmbt',
            description: `a block-map btree block of inode ${ino}${attr ? ' (attribute fork)' : ''}`,
            meaning: `part of the map of where the ${role === 'directory' ? "directory's" : "file's"} blocks lie: the data it maps cannot be found; xfs_repair may truncate or clear it`,
            owner,
          }),
          lin,
          1,
          taint(),
        );
      },
      problem,
    };
  };
  const chunkInit = (agno: number) => () => ({
    structure: 'xfs.inode_chunk',
    description: `inode chunks of AG ${agno}`,
    meaning: 'holds the inodes listed (owner, size, where the data lies): those files may be lost or wrong; xfs_repair clears damaged inodes',
    group: agno,
  });
  const inobtNode = (agno: number, agbno: number) => {
    col.metaBlocks(
      `xfs.inobt:${agno}`,
      () => ({
        structure: 'xfs.inobt',
        description: `a block of the inode btree (inobt) of AG ${agno}`,
        meaning: "finds the AG's inodes: xfs_repair rebuilds it; inodes it alone names may be lost",
        group: agno,
      }),
      fs.lin(agno, agbno),
      1,
    );
  };
  let method = 'scan';
  if (fs.rmapbt && o.method !== 'scan') {
    method = 'rmapbt';
    inodesScanned = mapByRmap(fs, col, badBlocks, agfs, inodeVisitor, chunkInit, inobtNode, problem);
  } else {
    scanXfsInodes(
      fs,
      problem,
      inobtNode,
      (agno, firstLin, sectors) => {
        col.meta(`xfs.inode_chunk:${agno}`, chunkInit(agno), firstLin * spb + sectors[0], firstLin * spb + sectors[1]);
      },
      (ino, d, buf, slotBad) => {
        inodesScanned++;
        const agno = fs.inodeLocation(ino).agno;
        if (slotBad) col.heldInode(`xfs.inode_chunk:${agno}`, ino, fileTypeOfMode(d.di_mode));
        r.taint = null;
        const slotTaint = slotBad ? `inode ${ino} itself (its inode chunk is bad)` : null;
        for (const attr of [false, true]) {
          if (attr && !d.di_forkoff) continue;
          fs.walkFork(ino, buf, d, attr, inodeVisitor(ino, d, slotTaint, attr));
        }
      },
    );
  }
  // in each directory's own order, whichever way its blocks were found
  dirHits.sort((x, y) => x.ino - y.ino || x.off - y.off);
  for (const h of dirHits) directoryHits(fs, col, h);

  // what is left: free per the bnobt, or in use with no owner found
  const left = bad.minus(col.claimed.finish());
  const ownerless = `in use per the free-space btree, but no inode's block map or AG structure names it${problemCount ? `; ${problemCount} part(s) of the file system could not be read or are corrupted: ${problems.slice(0, 3).join('; ')}` : ''}`;
  const free = 'free space: not in use by the file system; harmless (rewriting it with zeros and a valid tag clears the error)';
  for (const [a, b] of left.pairs()) {
    for (let blk = Math.floor(a / spb); blk < Math.min(Math.ceil(b / spb), sb.sb_dblocks); ) {
      const { agno, agbno } = fs.agOf(blk);
      const agf = agfs[agno] ?? null;
      const ans = agf
        ? freeRun(fs, agno, agf, agbno, Math.min(Math.ceil(b / spb), fs.lin(agno, fs.agLen(agno))) - fs.lin(agno, 0))
        : { free: false, end: fs.agLen(agno), why: `whether the block is free is unknown: the AGF of AG ${agno} cannot be read` };
      const end = fs.lin(agno, ans.end);
      if (ans.why) col.unmapped(ans.why, blk * spb, end * spb);
      else if (ans.free) col.free(free, blk * spb, end * spb);
      else col.unmapped(ownerless, blk * spb, end * spb);
      blk = end;
    }
  }

  const { names, directories } = resolvePaths(xfsDirWalker(fs), col.inodesToName(), col.maxPaths);
  const stale: string[] = [];
  const log = xfsLogState(fs);
  if (log) stale.push(log);
  return { collector: col, names, may_be_stale: stale, inodes_scanned: inodesScanned, directories_scanned: directories, method };
}

type XfsRole = 'file' | 'directory' | 'quota' | 'rt_bitmap' | 'rt_summary' | 'special';

function xfsRole(fs: XfsFs, ino: number, d: XfsDinode): XfsRole {
  const sb = fs.sb;
  if (ino === sb.sb_uquotino || ino === sb.sb_gquotino || ino === sb.sb_pquotino) return 'quota';
  if (ino === sb.sb_rbmino) return 'rt_bitmap';
  if (ino === sb.sb_rsumino) return 'rt_summary';
  const t = d.di_mode & 0xf000;
  if (t === 0x4000) return 'directory';
  if (t === 0x8000 || t === 0xa000) return 'file';
  return 'special';
}

function systemInit(role: XfsRole, ino: number, owner: { inode: number; file_type: string; system: boolean }) {
  const special: [string, string] = [`blocks of inode ${ino}`, 'xfs_repair checks it'];
  const what: Partial<Record<XfsRole, [string, string]>> = {
    quota: [`a quota file (inode ${ino})`, 'disk-usage accounting: quotacheck at the next quota mount recomputes it; no data is affected'],
    rt_bitmap: [`the realtime bitmap (inode ${ino})`, 'free space of the realtime volume: xfs_repair rebuilds it'],
    rt_summary: [`the realtime summary (inode ${ino})`, 'free space of the realtime volume: xfs_repair rebuilds it'],
    special,
  };
  const [description, meaning] = what[role] ?? special;
  return { structure: `xfs.${role}`, description, meaning, owner };
}

/** bad blocks of a directory: its data blocks (names held) or its leaf/node/free index blocks */
interface DirHit {
  ino: number;
  d: XfsDinode;
  lin: number;
  len: number;
  off: number;
  taint: string | null;
}

/**
 * The owners of the bad blocks per the reverse-mapping btree (xfs_db fsmap): each record overlapping a bad block
 * names an inode (its fork, offset and state) or an AG structure. Returns the inodes read.
 */
function mapByRmap(
  fs: XfsFs,
  col: Collector,
  badBlocks: RangeSet,
  agfs: (XfsAgf | null)[],
  visitor: (ino: number, d: XfsDinode, slotTaint: string | null, attr: boolean) => ForkVisitor,
  chunkInit: (agno: number) => () => { structure: string; description: string; meaning: string; group: number },
  inobtNode: (agno: number, agbno: number) => void,
  problem: (t: string) => void,
): number {
  const r = fs.reader;
  const spb = fs.spb;
  const sb = fs.sb;
  let inodes = 0;
  const inodeCache = new Map<number, XfsDinode | null>();
  const inodeOf = (ino: number): XfsDinode | null => {
    if (inodeCache.has(ino)) return inodeCache.get(ino)!;
    let d: XfsDinode | null = null;
    try {
      d = fs.readInode(ino).d;
      inodes++;
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
      problem(`inode ${ino}, named by the reverse-mapping btree: ${e.message}`);
    }
    if (inodeCache.size > 4096) inodeCache.clear();
    inodeCache.set(ino, d);
    return d;
  };
  for (let agno = 0; agno < sb.sb_agcount; agno++) {
    const agf = agfs[agno];
    const base = fs.lin(agno, 0);
    const runs = badBlocks.within(base, base + fs.agLen(agno));
    if (!runs.length || !agf) continue;
    let agi: XfsAgi | null = null;
    try {
      agi = fs.agi(agno);
      fs.walkAgBtree(agno, 'inobt', agi.agi_root, agi.agi_level, 16, 4, (agbno) => inobtNode(agno, agbno), null, problem);
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
      problem(e.message);
    }
    for (const [a, b] of runs) {
      try {
        fs.rmapQuery(agno, agf, a - base, b - base, (rec) => {
          const lin = base + rec.rm_startblock;
          if (rec.owner >= 0) {
            const d = inodeOf(rec.owner);
            if (!d) return;
            r.taint = null;
            const loc = fs.inodeLocation(rec.owner);
            const slotTaint =
              r.isBad(loc.lin) && r.bad.intersects(loc.lin * spb + Math.floor(loc.off / 512), loc.lin * spb + Math.ceil((loc.off + sb.sb_inodesize) / 512))
                ? `inode ${rec.owner} itself (its inode chunk is bad)`
                : null;
            const v = visitor(rec.owner, d, slotTaint, rec.attrFork);
            if (rec.bmbtBlock) for (let k = 0; k < rec.rm_blockcount; k++) v.bmbt(lin + k);
            else v.extent(rec.offset, lin, rec.rm_blockcount, rec.unwritten);
          } else if (rec.owner === -7) {
            // XFS_RMAP_OWN_INODES: the chunk, and the inodes in use in its bad sectors
            const pieces = col.meta(`xfs.inode_chunk:${agno}`, chunkInit(agno), lin * spb, (lin + rec.rm_blockcount) * spb);
            if (agi) heldInodes(fs, col, agno, agi, pieces, inodeOf);
          } else if (rec.owner === -9) {
            col.metaBlocks(
              `xfs.cow:${agno}`,
              () => ({
                structure: 'xfs.cow_staging',
                description: `copy-on-write staging blocks of AG ${agno}`,
                meaning: 'blocks being copied on write: dropped at the next mount; harmless',
                group: agno,
              }),
              lin,
              rec.rm_blockcount,
            );
          }
          // -3 (headers), -4 (log), -5 (free-space and reverse-mapping btrees, free list), -6 (inode btrees) and
          // -8 (refcount btree) are the AG structures walked above
        });
      } catch (e) {
        if (!(e instanceof MapError)) throw e;
        problem(e.message);
      }
    }
  }
  return inodes;
}

/** the inodes in use whose bytes lie in bad sectors of an inode chunk (the inobt says which are allocated) */
function heldInodes(fs: XfsFs, col: Collector, agno: number, agi: XfsAgi, pieces: [number, number][], inodeOf: (ino: number) => XfsDinode | null): void {
  const isz = fs.sb.sb_inodesize;
  for (const [a, b] of pieces) {
    const firstAgino = Math.floor((a * 512 - fs.lin(agno, 0) * fs.bs) / isz);
    const lastAgino = Math.ceil((b * 512 - fs.lin(agno, 0) * fs.bs) / isz);
    for (let agino = firstAgino; agino < lastAgino; agino++) {
      let rec: ReturnType<typeof fs.inobtLookup>;
      try {
        rec = fs.inobtLookup(agno, agi, agino);
      } catch (e) {
        if (!(e instanceof MapError)) throw e;
        return;
      }
      if (!rec) continue;
      const i = agino - rec.startino;
      if (isHoleInChunk(rec.holemask, i) || isFreeInChunk(rec.free, i)) continue;
      const ino = fs.inodeNumber(agno, agino);
      const d = inodeOf(ino);
      if (d?.di_mode) col.heldInode(`xfs.inode_chunk:${agno}`, ino, fileTypeOfMode(d.di_mode));
    }
  }
}

function directoryHits(fs: XfsFs, col: Collector, h: DirHit): void {
  const spb = fs.spb;
  const dirBlks = 2 ** fs.sb.sb_dirblklog;
  const leafStart = XFS_DIR2_LEAF_OFFSET_BYTES / fs.bs;
  const owner = { inode: h.ino, file_type: 'directory' };
  for (let k = 0; k < h.len; k++) {
    const lin = h.lin + k;
    const off = h.off + k;
    if (!fs.reader.isBad(lin)) continue;
    if (off >= leafStart) {
      col.meta(
        `xfs.dir_index:${h.ino}`,
        () => ({
          structure: 'xfs.dir_index',
          description: `the name index (leaf, node or free-space blocks) of directory inode ${h.ino}`,
          meaning: 'finds names quickly: the kernel may fail look-ups in this directory until xfs_repair rebuilds the index; no names are lost',
          owner,
        }),
        lin * spb,
        (lin + 1) * spb,
        h.taint,
      );
      continue;
    }
    const key = `xfs.directory:${h.ino}`;
    col.meta(
      key,
      () => ({
        structure: 'xfs.directory',
        description: `directory entries of directory inode ${h.ino}`,
        meaning: 'the names listed vanish from this directory or point to the wrong inode: xfs_repair moves files it finds without a name to /lost+found',
        owner,
      }),
      lin * spb,
      (lin + 1) * spb,
      h.taint ?? 'the names were read from the damaged block itself',
    );
    // the whole directory block (sb_dirblklog blocks) holding it, when this extent covers it
    const first = off - (off % dirBlks);
    if (first < h.off || first + dirBlks > h.off + h.len) continue;
    if (off - first !== 0 && k !== 0) continue;
    try {
      const b = fs.reader.read(h.lin + (first - h.off), dirBlks, `directory block ${first} of inode ${h.ino}`, false);
      const names: string[] = [];
      xfsDirDataEntries(b, fs.ftype, (_i, n) => {
        const s = n.toString('utf8');
        if (s !== '.' && s !== '..') names.push(s);
      });
      col.heldNames(key, names);
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
    }
  }
}

/** free or not from agbno on, and where that answer ends (an AG block), per the bnobt (xfs_alloc_lookup_le) */
function freeRun(fs: XfsFs, agno: number, agf: XfsAgf, agbno: number, limit: number): { free: boolean; end: number; why?: string } {
  try {
    const e = fs.freeExtentAt(agno, agf, agbno);
    if (e && agbno < e.start + e.count) return { free: true, end: Math.min(limit, e.start + e.count) };
    return { free: false, end: Math.min(limit, agbno + 1) };
  } catch (err) {
    if (!(err instanceof MapError)) throw err;
    return { free: false, end: limit, why: `whether the block is free is unknown: ${err.message}` };
  }
}

/**
 * Every allocated inode of every AG, from the inode btrees (xfs_db blockget's scan_ag → scanfunc_ino): chunk(agno,
 * lin, [first, end) sectors in it) for each allocated part of a chunk, then f for each inode in use.
 */
export function scanXfsInodes(
  fs: XfsFs,
  problem: (t: string) => void,
  inobtNode: (agno: number, agbno: number) => void,
  chunk: ((agno: number, lin: number, sectors: [number, number]) => void) | null,
  f: (ino: number, d: XfsDinode, buf: Buffer, slotBad: boolean) => void,
): void {
  const sb = fs.sb;
  const isz = sb.sb_inodesize;
  for (let agno = 0; agno < sb.sb_agcount; agno++) {
    let agi: XfsAgi;
    try {
      agi = fs.agi(agno);
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
      problem(`the inodes of AG ${agno}: ${e.message}`);
      continue;
    }
    fs.forEachChunk(
      agno,
      agi,
      (startino, holemask, free) => {
        const agbno = Math.floor(startino / sb.sb_inopblock);
        if (agbno + fs.chunkBlocks > fs.agLen(agno) || startino % 64) {
          problem(`an inode btree record of AG ${agno} (inode ${startino}) is corrupted`);
          return;
        }
        const lin = fs.lin(agno, agbno);
        const byteBase = (startino % sb.sb_inopblock) * isz;
        if (chunk) {
          for (let i = 0; i < 64; i += 4) {
            if (isHoleInChunk(holemask, i)) continue;
            const a = byteBase + i * isz;
            chunk(agno, lin, [Math.floor(a / 512), Math.ceil((a + 4 * isz) / 512)]);
          }
        }
        let buf: Buffer | null = null;
        try {
          buf = fs.reader.read(lin, fs.chunkBlocks, `the inode chunk at block ${agbno} of AG ${agno}`, false);
        } catch (e) {
          if (!(e instanceof MapError)) throw e;
          problem(e.message);
          return;
        }
        for (let i = 0; i < 64; i++) {
          if (isHoleInChunk(holemask, i) || isFreeInChunk(free, i)) continue;
          const off = byteBase + i * isz;
          const d = decodeXfsDinode(buf, off, isz);
          const ino = fs.inodeNumber(agno, startino + i);
          if (d.di_magic !== XFS_DINODE_MAGIC) {
            problem(`inode ${ino} is corrupted (no inode magic)`);
            continue;
          }
          if (!d.di_mode) continue;
          const pos = lin * fs.bs + off;
          f(ino, d, buf, fs.reader.bad.intersects(Math.floor(pos / 512), Math.ceil((pos + isz) / 512)));
        }
      },
      (agbno) => inobtNode(agno, agbno),
      problem,
    );
  }
}

/** ncheck's view of XFS directories */
function xfsDirWalker(fs: XfsFs): DirWalker {
  const dirBlks = 2 ** fs.sb.sb_dirblklog;
  const leafStart = XFS_DIR2_LEAF_OFFSET_BYTES / fs.bs;
  const entries = (ino: number, d: XfsDinode, buf: Buffer, f: (name: Buffer, child: number) => void, problem: (t: string) => void) => {
    if (d.di_format === XFS_DINODE_FMT_LOCAL) {
      const sf = xfsShortformEntries(buf, d.dataOff, d.dataSize, fs.ftype, (i, n) => f(n, i));
      f(DOTDOT, sf.parent);
      if (sf.problem) problem(`directory inode ${ino}: ${sf.problem}`);
      return;
    }
    const blocks: [number, number][] = [];
    fs.walkFork(ino, buf, d, false, {
      extent: (off, lin, len) => {
        for (let k = 0; k < len; k++) if (off + k < leafStart && (off + k) % dirBlks === 0 && k + dirBlks <= len) blocks.push([off + k, lin + k]);
      },
      bmbt() {},
      problem,
    });
    for (const [off, lin] of blocks) {
      try {
        const b = fs.reader.read(lin, dirBlks, `directory block ${off} of inode ${ino}`, dirBlks === 1);
        const p = xfsDirDataEntries(b, fs.ftype, (i, n) => f(n, i));
        if (p) problem(`directory inode ${ino}, block ${off}: ${p}`);
      } catch (e) {
        if (!(e instanceof MapError)) throw e;
        problem(e.message);
      }
    }
  };
  const entriesOf = (ino: number, f: (name: Buffer, child: number) => void) => {
    const { d, buf } = fs.readInode(ino);
    if ((d.di_mode & 0xf000) !== 0x4000) throw new MapError(`inode ${ino} is not a directory`);
    entries(ino, d, buf, f, () => {});
  };
  return {
    root: fs.sb.sb_rootino,
    forEachEntry(f) {
      let directories = 0;
      const failed: string[] = [];
      const problem = (t: string) => {
        if (failed.length < 5) failed.push(t);
      };
      scanXfsInodes(
        fs,
        problem,
        () => {},
        null,
        (ino, d, buf) => {
          if ((d.di_mode & 0xf000) !== 0x4000) return;
          directories++;
          entries(
            ino,
            d,
            buf,
            (name, child) => {
              if (name.equals(DOT) || name.equals(DOTDOT)) return;
              f(ino, name.toString('utf8'), child);
            },
            problem,
          );
        },
      );
      return { directories, failed };
    },
    parentOf(dir) {
      let parent = 0;
      entriesOf(dir, (name, child) => {
        if (!parent && name.equals(DOTDOT)) parent = child;
      });
      if (!parent) throw new MapError(`directory inode ${dir} has no '..' entry`);
      return parent;
    },
    namesIn(dir, child) {
      const out: string[] = [];
      entriesOf(dir, (name, c) => {
        if (c === child && !name.equals(DOT) && !name.equals(DOTDOT)) out.push(name.toString('utf8'));
      });
      return out;
    },
  };
}

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');

/**
 * Whether the internal log holds changes not yet replayed, as log recovery decides (xfs_log_recover.c
 * xlog_find_head / xlog_find_tail): the head is where the cycle number of the log's 512-byte blocks drops; the
 * log is clean when the record before it is an unmount record. Returns why the mapping may be stale, or null.
 */
export function xfsLogState(fs: XfsFs): string | null {
  const sb = fs.sb;
  if (sb.sb_logstart <= 0) return null; // external log: not on this volume
  const lin = fs.fsbToLin(sb.sb_logstart, sb.sb_logblocks);
  if (lin === null) return 'the XFS log lies outside the file system: whether it holds unreplayed changes is unknown';
  const start = lin * fs.spb;
  const n = sb.sb_logblocks * fs.spb;
  const one = Buffer.alloc(512);
  const cycle = (bb: number) => {
    if (fs.reader.src.read(start + bb, 1, one)?.length) throw new MapError('a log block cannot be read');
    // xlog_get_cycle: a record header carries its cycle after the magic; other blocks start with it
    return one.readUInt32BE(0) === XLOG_HEADER_MAGIC_NUM ? one.readUInt32BE(4) : one.readUInt32BE(0);
  };
  try {
    const first = cycle(0);
    const last = cycle(n - 1);
    let head: number;
    if (first === last) head = 0;
    else {
      // xlog_find_cycle_start: the first block carrying `last`'s (older) cycle number
      let lo = 0;
      let hi = n - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >>> 1;
        if (cycle(mid) === first) lo = mid;
        else hi = mid;
      }
      head = hi;
    }
    // the last record header before the head
    const look = Math.min(n, 8192);
    let rec = -1;
    for (let i = 1; i <= look; i++) {
      const bb = (head - i + n) % n;
      if (fs.reader.src.read(start + bb, 1, one)?.length) break;
      if (one.readUInt32BE(0) === XLOG_HEADER_MAGIC_NUM) {
        rec = bb;
        break;
      }
    }
    if (rec < 0) return 'no record was found in the XFS log: whether it holds unreplayed changes is unknown';
    // struct xlog_rec_header: h_num_logops at 40, h_size at 320 (v2 logs); the record's data follows its header
    // block(s) (xlog_logrec_hblks); the first op header's oh_flags is byte 9 of the first data block
    const numOps = one.readUInt32BE(40);
    const hsize = one.readUInt32BE(320);
    const hdrBlocks = hsize > 32768 ? Math.ceil(hsize / 32768) : 1;
    const data = Buffer.alloc(512);
    if (fs.reader.src.read(start + ((rec + hdrBlocks) % n), 1, data)?.length)
      return 'the XFS log cannot be read: whether it holds unreplayed changes is unknown';
    if (numOps >= 1 && data.readUInt8(9) & XLOG_UNMOUNT_TRANS) return null;
    return 'the XFS log holds changes not yet replayed (it was not unmounted cleanly): the next mount replays them, which can change what these blocks hold';
  } catch (e) {
    if (!(e instanceof MapError)) throw e;
    return `the XFS log cannot be read (${e.message}): whether it holds unreplayed changes is unknown`;
  }
}

/** Whether the blocks under `ranges` are free per the bnobt. */
export function xfsFreeCheck(fs: XfsFs, ranges: RangeSet): FreeCheck {
  const spb = fs.spb;
  const free: [number, number][] = [];
  const notFree: { range: [number, number]; why: string }[] = [];
  const agfs = new Map<number, XfsAgf | string>();
  for (const [a, b] of ranges.pairs()) {
    const endBlk = Math.ceil(b / spb);
    for (let blk = Math.floor(a / spb); blk < endBlk; ) {
      const clip = (x: number, y: number): [number, number] => [Math.max(a, x * spb), Math.min(b, y * spb)];
      if (blk >= fs.sb.sb_dblocks) {
        // not part of the file system: nothing there is in use (the mapping says so too)
        free.push(clip(blk, endBlk));
        break;
      }
      const { agno, agbno } = fs.agOf(blk);
      if (!agfs.has(agno)) {
        try {
          agfs.set(agno, fs.agf(agno));
        } catch (e) {
          if (!(e instanceof MapError)) throw e;
          agfs.set(agno, e.message);
        }
      }
      const agf = agfs.get(agno)!;
      const limit = Math.min(endBlk, fs.lin(agno, fs.agLen(agno))) - fs.lin(agno, 0);
      const ans = typeof agf === 'string' ? { free: false, end: limit, why: agf } : freeRun(fs, agno, agf, agbno, limit);
      const end = fs.lin(agno, ans.end);
      if (ans.free) free.push(clip(blk, end));
      else notFree.push({ range: clip(blk, end), why: ans.why ?? `in use per the free-space btree of AG ${agno}` });
      blk = end;
    }
  }
  return { fs: 'xfs', block_size: fs.bs, free, not_free: notFree };
}
