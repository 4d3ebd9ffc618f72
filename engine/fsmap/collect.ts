// Gathers what each bad block holds into a bounded set of items: hits are grouped by file / structure / reason
// as they are found, ranges coalesced, lists capped (a million bad blocks of one file make one item).
import { SECTOR_SIZE } from '../layout/superblock.js';
import { RangeList, type RangeSet } from './ranges.js';
import type { ByteRange, FsMapFileItem, FsMapFreeItem, FsMapItem, FsMapMetadataItem, FsMapOptions, FsMapUnmappedItem, InodeRef, SectorRange } from './types.js';

export interface PathInfo {
  paths: string[];
  paths_total: number;
  path_error?: string;
}

interface FileAcc {
  inode: number;
  file_type: string;
  size: number;
  sectors: RangeList;
  bytes: RangeList;
  /** [first sector, end sector, file offset of the first] of each content piece, adjacent ones joined */
  extents: number[];
  unwritten: number;
  beyond: number;
  uncertain?: string;
}

interface MetaInit {
  structure: string;
  description: string;
  meaning: string;
  group?: number;
  /** system: an inode no directory names (the journal, quota files, …): no path is looked up */
  owner?: { inode: number; file_type: string; system?: boolean };
}

interface MetaAcc extends MetaInit {
  sectors: RangeList;
  inodes: Map<number, string>;
  names: string[];
  names_total: number;
  uncertain?: string;
}

interface PlainAcc {
  text: string;
  sectors: RangeList;
}

export class Collector {
  readonly maxRanges: number;
  readonly maxPaths: number;
  readonly maxNames: number;
  /** every bad sector some item took (file, metadata, free or unmapped) */
  readonly claimed = new RangeList();
  private files = new Map<number, FileAcc>();
  private metas = new Map<string, MetaAcc>();
  private frees = new Map<string, PlainAcc>();
  private unmappeds = new Map<string, PlainAcc>();

  constructor(
    /** the bad sectors */
    readonly bad: RangeSet,
    /** file-system block size in bytes */
    readonly blockSize: number,
    o: FsMapOptions = {},
  ) {
    this.maxRanges = o.maxRanges ?? 256;
    this.maxPaths = o.maxPaths ?? 16;
    this.maxNames = o.maxNames ?? 64;
  }

  private get spb(): number {
    return this.blockSize / SECTOR_SIZE;
  }

  /**
   * File data: physical blocks [pblk, pblk + count) hold logical blocks from lblk of inode `inode`. `header`: bytes
   * at the start of each block that are not file contents (an XFS v5 remote symlink block's xfs_dsymlink_hdr; a bad
   * sector there makes the whole target unreadable). Returns whether any of it is bad.
   */
  file(
    ino: { inode: number; file_type: string; size: number },
    pblk: number,
    count: number,
    lblk: number,
    unwritten: boolean,
    taint: string | null,
    header = 0,
  ): boolean {
    const spb = this.spb;
    const s0 = pblk * spb;
    if (!this.bad.intersects(s0, s0 + count * spb)) return false;
    let f = this.files.get(ino.inode);
    if (!f) {
      f = {
        inode: ino.inode,
        file_type: ino.file_type,
        size: ino.size,
        sectors: new RangeList(),
        bytes: new RangeList(),
        extents: [],
        unwritten: 0,
        beyond: 0,
      };
      this.files.set(ino.inode, f);
    }
    if (taint) f.uncertain ??= taint;
    const acc = f;
    const bs = this.blockSize;
    const content = (start: number, end: number) => {
      const inFile = Math.min(end, acc.size);
      if (inFile > start) acc.bytes.add(start, inFile);
      acc.beyond += end - Math.max(start, Math.min(end, acc.size));
    };
    this.bad.forEachIn(s0, s0 + count * spb, (a, b) => {
      acc.sectors.add(a, b);
      this.claimed.add(a, b);
      if (unwritten) {
        acc.unwritten += (b - a) * SECTOR_SIZE;
        return;
      }
      if (!header) {
        const base = lblk * bs - s0 * SECTOR_SIZE;
        content(base + a * SECTOR_SIZE, base + b * SECTOR_SIZE);
        if (base + a * SECTOR_SIZE < acc.size) addExtent(acc.extents, a, b, base + a * SECTOR_SIZE);
        return;
      }
      for (let blk = Math.floor(a / spb); blk * spb < b; blk++) {
        const x = Math.max(a, blk * spb) * SECTOR_SIZE - blk * bs;
        const y = Math.min(b, (blk + 1) * spb) * SECTOR_SIZE - blk * bs;
        const k = lblk + blk - pblk;
        if (x < header) acc.bytes.add(0, acc.size);
        else content(k * (bs - header) + x - header, k * (bs - header) + y - header);
      }
    });
    return true;
  }

  /** Metadata in sectors [first, end); `key` groups hits into one item, `init` describes it when first seen.
   *  Returns the bad pieces inside. */
  meta(key: string, init: () => MetaInit, first: number, end: number, taint: string | null = null): [number, number][] {
    const pieces = this.bad.within(first, end);
    if (!pieces.length) return pieces;
    let m = this.metas.get(key);
    if (!m) {
      m = { ...init(), sectors: new RangeList(), inodes: new Map(), names: [], names_total: 0 };
      this.metas.set(key, m);
    }
    if (taint) m.uncertain ??= taint;
    for (const [a, b] of pieces) {
      m.sectors.add(a, b);
      this.claimed.add(a, b);
    }
    return pieces;
  }

  /** metadata in whole blocks */
  metaBlocks(key: string, init: () => MetaInit, block: number, count: number, taint: string | null = null): boolean {
    return this.meta(key, init, block * this.spb, (block + count) * this.spb, taint).length > 0;
  }

  /** an inode held by a metadata item (an inode-table block, an inode chunk) */
  heldInode(key: string, inode: number, file_type: string): void {
    const m = this.metas.get(key);
    if (m && !m.inodes.has(inode) && m.inodes.size < this.maxNames * 4) m.inodes.set(inode, file_type);
  }

  /** names held by a directory-block item (as stored) */
  heldNames(key: string, names: string[]): void {
    const m = this.metas.get(key);
    if (!m) return;
    for (const n of names) {
      m.names_total++;
      if (m.names.length < this.maxNames) m.names.push(n);
    }
  }

  hasMeta(key: string): boolean {
    return this.metas.has(key);
  }

  free(meaning: string, first: number, end: number): void {
    this.plain(this.frees, meaning, first, end);
  }

  unmapped(reason: string, first: number, end: number): void {
    this.plain(this.unmappeds, reason, first, end);
  }

  private plain(map: Map<string, PlainAcc>, text: string, first: number, end: number): void {
    const pieces = this.bad.within(first, end);
    if (!pieces.length) return;
    let p = map.get(text);
    if (!p) map.set(text, (p = { text, sectors: new RangeList() }));
    for (const [a, b] of pieces) {
      p.sectors.add(a, b);
      this.claimed.add(a, b);
    }
  }

  /** inodes whose paths the items name: file owners, metadata owners, inodes held */
  inodesToName(): Set<number> {
    const s = new Set<number>(this.files.keys());
    for (const m of this.metas.values()) {
      if (m.owner && !m.owner.system) s.add(m.owner.inode);
      for (const i of m.inodes.keys()) s.add(i);
    }
    return s;
  }

  private ranges(list: RangeList): { ranges: SectorRange[]; ranges_total: number; sectors: number } {
    const set = list.finish();
    return { ranges: set.pairs(this.maxRanges), ranges_total: set.count, sectors: set.total };
  }

  /** the content pieces in sector order, capped as the ranges are */
  private extentsOf(f: FileAcc): Pick<FsMapFileItem, 'extents' | 'extents_total'> {
    const all: Array<[number, number, number]> = [];
    for (let i = 0; i < f.extents.length; i += 3) all.push([f.extents[i]!, f.extents[i + 1]!, f.extents[i + 2]!]);
    all.sort((x, y) => x[0] - y[0]);
    const out: Array<[number, number, number]> = [];
    for (const e of all) {
      const last = out[out.length - 1];
      if (last && last[1] === e[0] && last[2] + (last[1] - last[0]) * SECTOR_SIZE === e[2]) last[1] = e[1];
      else out.push(e);
    }
    return { extents: out.slice(0, this.maxRanges), extents_total: out.length };
  }

  private ref(inode: number, file_type: string, names: Map<number, PathInfo>): InodeRef {
    const p = names.get(inode);
    const r: InodeRef = { inode, file_type, paths: p ? p.paths.slice(0, this.maxPaths) : [], paths_total: p ? p.paths_total : 0 };
    if (p?.path_error) r.path_error = p.path_error;
    else if (!p) r.path_error = 'not looked up';
    return r;
  }

  finish(names: Map<number, PathInfo>): FsMapItem[] {
    const items: FsMapItem[] = [];
    for (const f of this.files.values()) {
      const bytes = f.bytes.finish();
      const byte_ranges: ByteRange[] = bytes.pairs(this.maxRanges);
      const item: FsMapFileItem = {
        kind: 'file',
        ...this.ranges(f.sectors),
        ...this.ref(f.inode, f.file_type, names),
        size: f.size,
        byte_ranges,
        byte_ranges_total: bytes.count,
        unwritten_bytes: f.unwritten,
        beyond_eof_bytes: f.beyond,
        meaning: fileMeaning(f, bytes.total),
        ...this.extentsOf(f),
      };
      if (f.uncertain) item.uncertain = f.uncertain;
      items.push(item);
    }
    for (const m of this.metas.values()) {
      const item: FsMapMetadataItem = { kind: 'metadata', ...this.ranges(m.sectors), structure: m.structure, description: m.description, meaning: m.meaning };
      if (m.group !== undefined) item.group = m.group;
      if (m.owner)
        item.owner = m.owner.system
          ? { inode: m.owner.inode, file_type: m.owner.file_type, paths: [], paths_total: 0 }
          : this.ref(m.owner.inode, m.owner.file_type, names);
      if (m.inodes.size) {
        const all = [...m.inodes].sort((a, b) => a[0] - b[0]);
        item.inodes = all.slice(0, this.maxNames).map(([i, t]) => this.ref(i, t, names));
        item.inodes_total = all.length;
      }
      if (m.names_total) {
        item.names = m.names;
        item.names_total = m.names_total;
      }
      if (m.uncertain) item.uncertain = m.uncertain;
      items.push(item);
    }
    for (const p of this.frees.values()) items.push({ kind: 'free', ...this.ranges(p.sectors), meaning: p.text } satisfies FsMapFreeItem);
    for (const p of this.unmappeds.values())
      items.push({ kind: 'unmapped', ...this.ranges(p.sectors), reason: `could not map: ${p.text}` } satisfies FsMapUnmappedItem);
    items.sort((a, b) => (a.ranges[0]?.[0] ?? 0) - (b.ranges[0]?.[0] ?? 0));
    return items;
  }
}

/** appends a content piece, joined to the last one when both its sectors and its bytes follow on */
function addExtent(list: number[], first: number, end: number, byte: number): void {
  const n = list.length;
  if (n && list[n - 2] === first && list[n - 1]! + (list[n - 2]! - list[n - 3]!) * SECTOR_SIZE === byte) {
    list[n - 2] = end;
    return;
  }
  list.push(first, end, byte);
}

function fileMeaning(f: FileAcc, damaged: number): string {
  const what = f.file_type === 'symlink' ? "the symbolic link's target text" : 'the file';
  if (damaged > 0)
    return `${damaged} bytes of ${what} read back wrong (an I/O error through the kernel): restore ${f.file_type === 'symlink' ? 'the link' : 'the file'} from a backup, or rewrite ${f.file_type === 'symlink' ? 'it' : 'those bytes'}`;
  if (f.unwritten) return 'allocated, not yet written: the file reads zeros there whatever the block holds; harmless';
  return 'blocks allocated past the end of the file (preallocation): none of its contents; harmless';
}

export function bytesText(n: number): string {
  return `${n} byte${n === 1 ? '' : 's'}`;
}
