// An XFS file system read through a BlockReader: superblock checks, AG addressing (XFS_AGB_TO_FSB, XFS_FSB_TO_DADDR),
// AG headers, short-form AG btrees (xfs_btree.c: full walks and look-ups), inode forks (extents and bmbt btrees).
// Block numbers given to the reader are linear: agno * sb_agblocks + agbno (what XFS_FSB_TO_DADDR / 8 gives).
import { MapError, type BlockReader } from '../reader.js';
import {
  be64,
  BTREE_MAGIC,
  btreeHeader,
  decodeBmbtRec,
  decodeXfsAgf,
  decodeXfsAgi,
  decodeXfsDinode,
  XFS_AGF_MAGIC,
  XFS_AGFL_MAGIC,
  XFS_AGI_MAGIC,
  XFS_BTREE_LBLOCK_CRC_LEN,
  XFS_BTREE_LBLOCK_LEN,
  XFS_BTREE_SBLOCK_CRC_LEN,
  XFS_BTREE_SBLOCK_LEN,
  XFS_DINODE_FMT_BTREE,
  XFS_DINODE_FMT_EXTENTS,
  XFS_DINODE_MAGIC,
  XFS_SB_FEAT_INCOMPAT_FTYPE,
  XFS_SB_FEAT_INCOMPAT_SPINODES,
  XFS_SB_FEAT_RO_COMPAT_FINOBT,
  XFS_SB_FEAT_RO_COMPAT_REFLINK,
  XFS_SB_FEAT_RO_COMPAT_RMAPBT,
  XFS_SB_VERSION2_FTYPE,
  type XfsAgf,
  type XfsAgi,
  type XfsDinode,
  type XfsSb,
} from './ondisk.js';

/** Why a superblock cannot describe a usable XFS, or null (xfs_sb.c xfs_validate_sb_common, the parts used here). */
export function xfsSuperblockProblem(sb: XfsSb): string | null {
  const bs = sb.sb_blocksize;
  if (bs < 512 || bs > 65536 || bs & (bs - 1) || 1 << sb.sb_blocklog !== bs)
    return `block size ${bs} is not a power of two 512..65536 matching blocklog ${sb.sb_blocklog}`;
  if (sb.sb_sectsize < 512 || sb.sb_sectsize > bs || sb.sb_sectsize & (sb.sb_sectsize - 1))
    return `sector size ${sb.sb_sectsize} is not a power of two 512..${bs}`;
  if (sb.sb_inodesize < 256 || sb.sb_inodesize > 2048 || 1 << sb.sb_inodelog !== sb.sb_inodesize)
    return `inode size ${sb.sb_inodesize} is not 256..2048 matching inodelog ${sb.sb_inodelog}`;
  if (sb.sb_inopblock !== Math.max(1, bs / sb.sb_inodesize) || 1 << sb.sb_inopblog !== sb.sb_inopblock)
    return `inodes per block ${sb.sb_inopblock} does not match the block and inode sizes`;
  if (sb.sb_agblocks < 16 || sb.sb_agcount < 1 || sb.sb_agblklog > 31 || 2 ** sb.sb_agblklog < sb.sb_agblocks || 2 ** (sb.sb_agblklog - 1) >= sb.sb_agblocks) {
    return `AG geometry (agblocks ${sb.sb_agblocks}, agblklog ${sb.sb_agblklog}, agcount ${sb.sb_agcount}) is invalid`;
  }
  if (sb.sb_dblocks <= 0 || sb.sb_dblocks > sb.sb_agcount * sb.sb_agblocks || sb.sb_dblocks <= (sb.sb_agcount - 1) * sb.sb_agblocks)
    return `data blocks ${sb.sb_dblocks} do not fit ${sb.sb_agcount} AGs of ${sb.sb_agblocks} blocks`;
  if (sb.sb_dirblklog > 16 - sb.sb_blocklog + 0 && bs << sb.sb_dirblklog > 65536) return `directory block size ${bs << sb.sb_dirblklog} is over 64 KiB`;
  if (sb.sb_rootino <= 0) return 'no root inode';
  return null;
}

export interface ForkVisitor {
  /** linear blocks [lin, lin+len) hold fork offsets (in fs blocks) from off */
  extent(off: number, lin: number, len: number, unwritten: boolean): void;
  /** a block-map btree block of the fork */
  bmbt(lin: number): void;
  problem(text: string): void;
}

export class XfsFs {
  readonly bs: number;
  readonly spb: number;
  readonly v5: boolean;
  readonly ftype: boolean;
  readonly sparse: boolean;
  readonly finobt: boolean;
  readonly rmapbt: boolean;
  readonly reflink: boolean;
  readonly description: string;
  /** inodes per chunk and blocks per chunk (XFS_INODES_PER_CHUNK = 64) */
  readonly chunkBlocks: number;
  /** the blocks at the start of each AG holding the sb/AGF/AGI/AGFL sectors (XFS_AGFL_BLOCK + 1) */
  readonly headerBlocks: number;

  constructor(
    readonly sb: XfsSb,
    readonly reader: BlockReader,
  ) {
    this.bs = sb.sb_blocksize;
    this.spb = this.bs / 512;
    this.v5 = (sb.sb_versionnum & 0xf) === 5;
    this.ftype = this.v5 ? (sb.sb_features_incompat & XFS_SB_FEAT_INCOMPAT_FTYPE) !== 0 : (sb.sb_features2 & XFS_SB_VERSION2_FTYPE) !== 0;
    this.sparse = (sb.sb_features_incompat & XFS_SB_FEAT_INCOMPAT_SPINODES) !== 0;
    this.finobt = (sb.sb_features_ro_compat & XFS_SB_FEAT_RO_COMPAT_FINOBT) !== 0;
    this.rmapbt = (sb.sb_features_ro_compat & XFS_SB_FEAT_RO_COMPAT_RMAPBT) !== 0;
    this.reflink = (sb.sb_features_ro_compat & XFS_SB_FEAT_RO_COMPAT_REFLINK) !== 0;
    this.chunkBlocks = Math.max(1, 64 / sb.sb_inopblock);
    this.headerBlocks = Math.floor((3 * sb.sb_sectsize) / this.bs) + 1;
    const feats = [
      this.v5 ? 'v5 (crc)' : 'v4',
      ...(this.ftype ? ['ftype'] : []),
      ...(this.finobt ? ['finobt'] : []),
      ...(this.sparse ? ['sparse inodes'] : []),
      ...(this.rmapbt ? ['rmapbt'] : []),
      ...(this.reflink ? ['reflink'] : []),
    ];
    this.description = `xfs (${feats.join(', ')}; ${sb.sb_agcount} AGs of ${sb.sb_agblocks} blocks)`;
  }

  agLen(agno: number): number {
    return agno === this.sb.sb_agcount - 1 ? this.sb.sb_dblocks - agno * this.sb.sb_agblocks : this.sb.sb_agblocks;
  }

  lin(agno: number, agbno: number): number {
    return agno * this.sb.sb_agblocks + agbno;
  }

  /** XFS_FSB_TO_AGNO / XFS_FSB_TO_AGBNO, as a linear block; null when outside the file system */
  fsbToLin(fsb: number, len = 1): number | null {
    if (!Number.isSafeInteger(fsb) || fsb < 0) return null;
    const agno = Math.floor(fsb / 2 ** this.sb.sb_agblklog);
    const agbno = fsb % 2 ** this.sb.sb_agblklog;
    if (agno >= this.sb.sb_agcount || agbno + len > this.agLen(agno)) return null;
    return this.lin(agno, agbno);
  }

  /** AG and AG block of a linear block */
  agOf(lin: number): { agno: number; agbno: number } {
    const agno = Math.floor(lin / this.sb.sb_agblocks);
    return { agno, agbno: lin - agno * this.sb.sb_agblocks };
  }

  /** inode number → AG, block and byte offset in it */
  inodeLocation(ino: number): { agno: number; agbno: number; lin: number; off: number } {
    const sb = this.sb;
    const shift = 2 ** (sb.sb_agblklog + sb.sb_inopblog);
    const agno = Math.floor(ino / shift);
    const agino = ino % shift;
    const agbno = Math.floor(agino / sb.sb_inopblock);
    if (!Number.isSafeInteger(ino) || ino <= 0 || agno >= sb.sb_agcount || agbno >= this.agLen(agno))
      throw new MapError(`inode ${ino} is outside the file system`);
    return { agno, agbno, lin: this.lin(agno, agbno), off: (agino % sb.sb_inopblock) * sb.sb_inodesize };
  }

  inodeNumber(agno: number, agino: number): number {
    return agno * 2 ** (this.sb.sb_agblklog + this.sb.sb_inopblog) + agino;
  }

  readInode(ino: number): { d: XfsDinode; buf: Buffer; off: number } {
    const loc = this.inodeLocation(ino);
    const buf = this.reader.read(loc.lin, 1, `the inode chunk holding inode ${ino}`);
    const d = decodeXfsDinode(buf, loc.off, this.sb.sb_inodesize);
    if (d.di_magic !== XFS_DINODE_MAGIC) throw new MapError(`inode ${ino} is corrupted (no inode magic)`);
    return { d, buf, off: loc.off };
  }

  /** one of the four AG header sectors (0 sb, 1 AGF, 2 AGI, 3 AGFL) */
  agHeader(agno: number, which: 0 | 1 | 2 | 3, what: string): Buffer {
    return this.reader.readBytes(this.lin(agno, 0) * this.bs + which * this.sb.sb_sectsize, this.sb.sb_sectsize, what);
  }

  agf(agno: number): XfsAgf {
    const a = decodeXfsAgf(this.agHeader(agno, 1, `the AGF of AG ${agno}`));
    if (a.agf_magicnum !== XFS_AGF_MAGIC || a.agf_seqno !== agno) throw new MapError(`the AGF (free-space header) of AG ${agno} is corrupted`);
    return a;
  }

  agi(agno: number): XfsAgi {
    const a = decodeXfsAgi(this.agHeader(agno, 2, `the AGI of AG ${agno}`));
    if (a.agi_magicnum !== XFS_AGI_MAGIC || a.agi_seqno !== agno) throw new MapError(`the AGI (inode header) of AG ${agno} is corrupted`);
    return a;
  }

  /** the AG free list's blocks (xfs_alloc.c: agf_flfirst..agf_fllast, circular) */
  agflBlocks(agno: number, agf: XfsAgf): number[] {
    const b = this.agHeader(agno, 3, `the AGFL of AG ${agno}`);
    const hdr = this.v5 ? 36 : 0;
    if (this.v5 && b.readUInt32BE(0) !== XFS_AGFL_MAGIC) throw new MapError(`the AGFL of AG ${agno} is corrupted`);
    const size = (this.sb.sb_sectsize - hdr) / 4;
    const out: number[] = [];
    if (agf.agf_flcount > size || agf.agf_flfirst >= size || agf.agf_fllast >= size)
      throw new MapError(`the AGF of AG ${agno} has an invalid free list (first ${agf.agf_flfirst}, last ${agf.agf_fllast}, count ${agf.agf_flcount})`);
    for (let i = 0, k = agf.agf_flfirst; i < agf.agf_flcount; i++, k = (k + 1) % size) out.push(b.readUInt32BE(hdr + k * 4));
    return out;
  }

  private sblockHdr(): number {
    return this.v5 ? XFS_BTREE_SBLOCK_CRC_LEN : XFS_BTREE_SBLOCK_LEN;
  }

  /**
   * Walks a whole short-form AG btree: node(agbno, level) for every block, rec(buf, off) for every record.
   * Checks magic, levels, record counts and loops; a broken subtree is reported to `problem` and skipped.
   */
  walkAgBtree(
    agno: number,
    name: keyof typeof BTREE_MAGIC,
    root: number,
    levels: number,
    recLen: number,
    keyLen: number,
    node: (agbno: number, level: number) => void,
    rec: ((buf: Buffer, off: number, agbno: number) => void) | null,
    problem: (t: string) => void,
  ): void {
    const hdr = this.sblockHdr();
    const magic = BTREE_MAGIC[name][this.v5 ? 0 : 1];
    const seen = new Set<number>();
    const agLen = this.agLen(agno);
    if (levels < 1 || levels > 9) {
      problem(`the ${name} of AG ${agno} has an invalid height ${levels}`);
      return;
    }
    const walk = (agbno: number, level: number) => {
      if (agbno === 0 || agbno >= agLen) {
        problem(`the ${name} of AG ${agno} points past the end of the AG (block ${agbno})`);
        return;
      }
      if (seen.has(agbno)) {
        problem(`the ${name} of AG ${agno} names block ${agbno} twice`);
        return;
      }
      seen.add(agbno);
      node(agbno, level);
      let b: Buffer;
      try {
        b = this.reader.read(this.lin(agno, agbno), 1, `a ${name} block of AG ${agno}`);
      } catch (e) {
        if (!(e instanceof MapError)) throw e;
        problem(e.message);
        return;
      }
      const h = btreeHeader(b);
      const maxrecs = Math.floor((this.bs - hdr) / (level ? keyLen + 4 : recLen));
      if (h.bb_magic !== magic || h.bb_level !== level || h.bb_numrecs > maxrecs) {
        problem(`a ${name} block of AG ${agno} (block ${agbno}) is corrupted`);
        return;
      }
      if (level === 0) {
        if (rec) for (let i = 0; i < h.bb_numrecs; i++) rec(b, hdr + i * recLen, agbno);
        return;
      }
      const ptrs = hdr + maxrecs * keyLen;
      const children: number[] = [];
      for (let i = 0; i < h.bb_numrecs; i++) children.push(b.readUInt32BE(ptrs + i * 4));
      for (const c of children) walk(c, level - 1);
    };
    walk(root, levels - 1);
  }

  /** the bnobt record (free extent) with the largest start ≤ agbno, or null (xfs_alloc_lookup_le) */
  freeExtentAt(agno: number, agf: XfsAgf, agbno: number): { start: number; count: number } | null {
    const hdr = this.sblockHdr();
    const magic = BTREE_MAGIC.bnobt[this.v5 ? 0 : 1];
    let blk = agf.agf_bno_root;
    for (let level = agf.agf_bno_level - 1, guard = 0; guard < 10; level--, guard++) {
      if (blk === 0 || blk >= this.agLen(agno)) throw new MapError(`the free-space btree of AG ${agno} points past the end of the AG (block ${blk})`);
      const b = this.reader.read(this.lin(agno, blk), 1, `a free-space btree block of AG ${agno}`);
      const h = btreeHeader(b);
      const maxrecs = Math.floor((this.bs - hdr) / 8);
      if (h.bb_magic !== magic || h.bb_level !== level || h.bb_numrecs > maxrecs)
        throw new MapError(`a free-space btree block of AG ${agno} (block ${blk}) is corrupted`);
      // keys and records are both {startblock u32, blockcount u32}: the last one starting at or before agbno
      let lo = 0;
      let hi = h.bb_numrecs - 1;
      let at = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (b.readUInt32BE(hdr + mid * 8) <= agbno) {
          at = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (at < 0) return null;
      if (level === 0) return { start: b.readUInt32BE(hdr + at * 8), count: b.readUInt32BE(hdr + at * 8 + 4) };
      const maxKeys = Math.floor((this.bs - hdr) / 12);
      blk = b.readUInt32BE(hdr + maxKeys * 8 + at * 4);
    }
    throw new MapError(`the free-space btree of AG ${agno} is too deep`);
  }

  /** Walks a data or attribute fork's extents (extent list or bmbt btree, xfs_bmap_btree.c). */
  walkFork(ino: number, buf: Buffer, d: XfsDinode, attr: boolean, v: ForkVisitor): void {
    const format = attr ? d.di_aformat : d.di_format;
    const off = attr ? d.attrOff : d.dataOff;
    const size = attr ? d.attrSize : d.dataSize;
    const nextents = attr ? d.di_anextents : d.di_nextents;
    const fork = attr ? 'attribute' : 'data';
    if (format === XFS_DINODE_FMT_EXTENTS) {
      if (nextents < 0 || nextents * 16 > size) {
        v.problem(`the ${fork} fork of inode ${ino} claims ${nextents} extents, more than it holds`);
        return;
      }
      for (let i = 0; i < nextents; i++) this.extent(ino, buf, off + i * 16, v);
      return;
    }
    if (format !== XFS_DINODE_FMT_BTREE) return;
    // struct xfs_bmdr_block: bb_level, bb_numrecs; keys (u64 startoff) then pointers (u64 fsblock)
    const level = buf.readUInt16BE(off);
    const numrecs = buf.readUInt16BE(off + 2);
    const maxrecs = Math.floor((size - 4) / 16);
    if (level < 1 || level > 9 || numrecs > maxrecs) {
      v.problem(`the ${fork} fork btree root of inode ${ino} is corrupted`);
      return;
    }
    const seen = new Set<number>();
    for (let i = 0; i < numrecs; i++) this.walkBmbt(ino, be64(buf, off + 4 + maxrecs * 8 + i * 8), level - 1, seen, v);
  }

  private extent(ino: number, b: Buffer, off: number, v: ForkVisitor): void {
    const r = decodeBmbtRec(b, off);
    if (!r.br_blockcount) return;
    const lin = this.fsbToLin(r.br_startblock, r.br_blockcount);
    if (lin === null) {
      v.problem(`an extent of inode ${ino} (file block ${r.br_startoff}, ${r.br_blockcount} blocks) points outside the file system (block ${r.br_startblock})`);
      return;
    }
    v.extent(r.br_startoff, lin, r.br_blockcount, r.br_state);
  }

  private walkBmbt(ino: number, fsb: number, level: number, seen: Set<number>, v: ForkVisitor): void {
    const lin = this.fsbToLin(fsb);
    if (lin === null) {
      v.problem(`the block-map btree of inode ${ino} points outside the file system (block ${fsb})`);
      return;
    }
    if (seen.has(lin)) {
      v.problem(`the block-map btree of inode ${ino} names block ${fsb} twice`);
      return;
    }
    seen.add(lin);
    v.bmbt(lin);
    let b: Buffer;
    try {
      b = this.reader.read(lin, 1, `a block-map btree block of inode ${ino}`);
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
      v.problem(e.message);
      return;
    }
    const hdr = this.v5 ? XFS_BTREE_LBLOCK_CRC_LEN : XFS_BTREE_LBLOCK_LEN;
    const h = btreeHeader(b);
    const maxrecs = Math.floor((this.bs - hdr) / 16);
    if (h.bb_magic !== BTREE_MAGIC.bmbt[this.v5 ? 0 : 1] || h.bb_level !== level || h.bb_numrecs > maxrecs) {
      v.problem(`a block-map btree block of inode ${ino} (block ${fsb}) is corrupted`);
      return;
    }
    if (level === 0) {
      for (let i = 0; i < h.bb_numrecs; i++) this.extent(ino, b, hdr + i * 16, v);
      return;
    }
    const children: number[] = [];
    for (let i = 0; i < h.bb_numrecs; i++) children.push(be64(b, hdr + maxrecs * 8 + i * 8));
    for (const c of children) this.walkBmbt(ino, c, level - 1, seen, v);
  }

  /**
   * The reverse-mapping records overlapping AG blocks [a, b) (xfs_rmap_query_range over the overlapping btree:
   * node entries hold a low and a high key each). Owners: an inode number, or a negative XFS_RMAP_OWN_* value.
   */
  rmapQuery(agno: number, agf: XfsAgf, a: number, b: number, f: (r: RmapRec) => void): void {
    const hdr = this.sblockHdr();
    const magic = BTREE_MAGIC.rmapbt[0];
    const seen = new Set<number>();
    const walk = (blk: number, level: number) => {
      if (blk === 0 || blk >= this.agLen(agno) || seen.has(blk)) throw new MapError(`the reverse-mapping btree of AG ${agno} is corrupted (block ${blk})`);
      seen.add(blk);
      const buf = this.reader.read(this.lin(agno, blk), 1, `a reverse-mapping btree block of AG ${agno}`);
      const h = btreeHeader(buf);
      if (h.bb_magic !== magic || h.bb_level !== level) throw new MapError(`a reverse-mapping btree block of AG ${agno} (block ${blk}) is corrupted`);
      if (level === 0) {
        if (h.bb_numrecs > Math.floor((this.bs - hdr) / 24)) throw new MapError(`a reverse-mapping btree block of AG ${agno} (block ${blk}) is corrupted`);
        for (let i = 0; i < h.bb_numrecs; i++) {
          const o = hdr + i * 24;
          const start = buf.readUInt32BE(o);
          const count = buf.readUInt32BE(o + 4);
          if (start >= b || start + count <= a) continue;
          f(decodeRmapRec(buf, o));
        }
        return;
      }
      // struct xfs_rmap_key low, then high (20 bytes each) per entry; pointers after maxrecs of them
      const maxrecs = Math.floor((this.bs - hdr) / 44);
      if (h.bb_numrecs > maxrecs) throw new MapError(`a reverse-mapping btree block of AG ${agno} (block ${blk}) is corrupted`);
      const children: number[] = [];
      for (let i = 0; i < h.bb_numrecs; i++) {
        const low = buf.readUInt32BE(hdr + i * 40);
        const high = buf.readUInt32BE(hdr + i * 40 + 20);
        if (low < b && high >= a) children.push(buf.readUInt32BE(hdr + maxrecs * 40 + i * 4));
      }
      for (const c of children) walk(c, level - 1);
    };
    if (agf.agf_rmap_level < 1 || agf.agf_rmap_level > 9)
      throw new MapError(`the reverse-mapping btree of AG ${agno} has an invalid height ${agf.agf_rmap_level}`);
    walk(agf.agf_rmap_root, agf.agf_rmap_level - 1);
  }

  /** the inode btree record whose chunk holds AG inode `agino` (xfs_inobt_lookup LE), or null */
  inobtLookup(agno: number, agi: XfsAgi, agino: number): { startino: number; holemask: number; free: [number, number] } | null {
    const hdr = this.sblockHdr();
    const magic = BTREE_MAGIC.inobt[this.v5 ? 0 : 1];
    let blk = agi.agi_root;
    for (let level = agi.agi_level - 1, guard = 0; guard < 10; level--, guard++) {
      if (blk === 0 || blk >= this.agLen(agno)) throw new MapError(`the inode btree of AG ${agno} points past the end of the AG (block ${blk})`);
      const b = this.reader.read(this.lin(agno, blk), 1, `an inode btree block of AG ${agno}`);
      const h = btreeHeader(b);
      if (h.bb_magic !== magic || h.bb_level !== level || h.bb_numrecs > Math.floor((this.bs - hdr) / (level ? 8 : 16)))
        throw new MapError(`an inode btree block of AG ${agno} (block ${blk}) is corrupted`);
      const step = level ? 4 : 16;
      let at = -1;
      for (let lo = 0, hi = h.bb_numrecs - 1; lo <= hi; ) {
        const mid = (lo + hi) >>> 1;
        if (b.readUInt32BE(hdr + mid * step) <= agino) {
          at = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (at < 0) return null;
      if (level === 0) {
        const o = hdr + at * 16;
        const startino = b.readUInt32BE(o);
        if (agino >= startino + 64) return null;
        return { startino, holemask: this.sparse ? b.readUInt16BE(o + 4) : 0, free: [b.readUInt32BE(o + 12), b.readUInt32BE(o + 8)] };
      }
      blk = b.readUInt32BE(hdr + Math.floor((this.bs - hdr) / 8) * 4 + at * 4);
    }
    throw new MapError(`the inode btree of AG ${agno} is too deep`);
  }

  /** XFS_INOBT: every inode chunk record of AG agno (struct xfs_inobt_rec) */
  forEachChunk(
    agno: number,
    agi: XfsAgi,
    f: (startino: number, holemask: number, free: [number, number]) => void,
    node: (agbno: number) => void,
    problem: (t: string) => void,
  ): void {
    this.walkAgBtree(
      agno,
      'inobt',
      agi.agi_root,
      agi.agi_level,
      16,
      4,
      (agbno) => node(agbno),
      (b, off) => {
        const startino = b.readUInt32BE(off);
        // sparse: ir_holemask u16, ir_count u8, ir_freecount u8; else ir_freecount u32
        const holemask = this.sparse ? b.readUInt16BE(off + 4) : 0;
        f(startino, holemask, [b.readUInt32BE(off + 12), b.readUInt32BE(off + 8)]);
      },
      problem,
    );
  }
}

/** struct xfs_rmap_rec, decoded (rm_offset's flag bits split out) */
export interface RmapRec {
  rm_startblock: number;
  rm_blockcount: number;
  /** an inode number, or XFS_RMAP_OWN_* (-3 fs headers, -4 log, -5 AG btrees and free list, -6 inode btrees,
   *  -7 inode chunks, -8 refcount btree, -9 CoW staging, -1 / -2 none / unknown) */
  owner: number;
  offset: number;
  attrFork: boolean;
  bmbtBlock: boolean;
  unwritten: boolean;
}

export function decodeRmapRec(b: Buffer, o: number): RmapRec {
  const ohi = b.readUInt32BE(o + 8);
  const olo = b.readUInt32BE(o + 12);
  const owner = ohi === 0xffffffff ? olo - 0x100000000 : ohi * 0x100000000 + olo;
  const fhi = b.readUInt32BE(o + 16);
  return {
    rm_startblock: b.readUInt32BE(o),
    rm_blockcount: b.readUInt32BE(o + 4),
    owner,
    offset: (fhi & 0x3fffff) * 0x100000000 + b.readUInt32BE(o + 20),
    attrFork: (fhi & 0x80000000) !== 0,
    bmbtBlock: (fhi & 0x40000000) !== 0,
    unwritten: (fhi & 0x20000000) !== 0,
  };
}

export function isFreeInChunk(free: [number, number], i: number): boolean {
  // ir_free is a u64 with bit i for inode i: [low word, high word]
  return i < 32 ? ((free[0] >>> i) & 1) === 1 : ((free[1] >>> (i - 32)) & 1) === 1;
}

/** whether inode i of a chunk lies in a hole (sparse chunk: XFS_INODES_PER_HOLEMASK_BIT = 4) */
export function isHoleInChunk(holemask: number, i: number): boolean {
  return ((holemask >>> (i >> 2)) & 1) === 1;
}
