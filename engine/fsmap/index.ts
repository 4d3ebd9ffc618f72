// What bad sectors hold: files (inode, paths, byte ranges), file-system structures, free space, or why it could not
// be said. ext4 (and ext2/3) and XFS v5 are mapped; btrfs and anything else are recognised and said to be unmapped.
// The engine reads the volume's data itself (SectorSource): no root, no kernel, no debugfs/xfs_db at run time.
import { probeBuffer } from '../io/probe.js';
import { SECTOR_SIZE } from '../layout/superblock.js';
import { Collector } from './collect.js';
import { Ext4Fs, ext4SuperblockProblem } from './ext4/fs.js';
import { ext4FreeCheck, mapExt4 } from './ext4/map.js';
import { decodeExt4SuperBlock, EXT4_SB_OFFSET, EXT4_SUPER_MAGIC, featureNames, uuidText } from './ext4/ondisk.js';
import { RangeSet } from './ranges.js';
import { BlockReader, MapError } from './reader.js';
import type { FreeCheck, FsMapItem, FsMapOptions, FsMapResult, FsType, SectorRange } from './types.js';
import type { SectorSource } from './sector-source.js';
import { openXfs, mapXfs, xfsFreeCheck } from './xfs/map.js';

export type * from './types.js';
export type { SectorSource } from './sector-source.js';
export { bufferSource, cryptSource, deviceSource, openImageSource, volumeSource } from './source.js';

/** The file system on a source, as far as its first 4 MiB tell. */
export interface Detected {
  fs: FsType | null;
  /** 'ext2', 'ext3', 'ext4', 'xfs', 'btrfs', or the other signatures found (swap, LUKS2, …) */
  found: string[];
  description: string;
}

const PROBE_BYTES = 4 * 1024 * 1024 + 4096;

export function detectFs(src: SectorSource): Detected {
  const n = Math.min(src.sectors, PROBE_BYTES / SECTOR_SIZE);
  const buf = Buffer.alloc(n * SECTOR_SIZE);
  let unreadable: SectorRange[] | null = null;
  if (n) unreadable = src.read(0, n, buf);
  const sigs = probeBuffer(buf);
  const found = [...new Set(sigs.map((s) => s.type))];
  const pick = (t: string[]) => sigs.find((s) => t.includes(s.type));
  const ext = pick(['ext2', 'ext3', 'ext4']);
  if (ext) return { fs: 'ext4', found, description: ext.type };
  if (pick(['xfs'])) return { fs: 'xfs', found, description: 'xfs' };
  if (pick(['btrfs'])) return { fs: 'btrfs', found, description: 'btrfs' };
  const damaged = unreadable?.length
    ? `; sectors ${unreadable
        .map(([a, b]) => `${a}..${b - 1}`)
        .slice(0, 3)
        .join(', ')} of its start cannot be read`
    : '';
  return {
    fs: null,
    found,
    description: `no known file system (found: ${sigs.length ? [...new Set(sigs.map((s) => s.description))].join(', ') : 'nothing recognisable'}${damaged})`,
  };
}

/**
 * What each bad sector holds. `bad`: half-open [first, end) ranges of 512-byte sectors of the source (any order,
 * overlaps merged). Never throws for what the volume holds: anything that cannot be read or makes no sense
 * becomes a "could not map: …" item. Throws IntegrityStudioError only for invalid ranges.
 */
export function mapBadSectors(src: SectorSource, bad: Iterable<SectorRange>, o: FsMapOptions = {}): FsMapResult {
  const t0 = process.hrtime.bigint();
  const set = RangeSet.from(bad, src.sectors, 'bad sector range');
  const base = (fs: FsType | null, description: string): FsMapResult => ({
    fs,
    fs_description: description,
    block_size: 0,
    may_be_stale: o.mounted ? MOUNTED : null,
    bad_sectors: set.total,
    items: [],
    files_damaged: 0,
    metadata_items: 0,
    free_sectors: 0,
    unmapped_sectors: 0,
    relied_on_damaged: [],
    stats: { blocks_read: 0, inodes_scanned: 0, directories_scanned: 0, method: 'none', elapsed_ms: 0 },
  });
  const finish = (r: FsMapResult): FsMapResult => {
    r.files_damaged = r.items.filter((i) => i.kind === 'file' && i.byte_ranges_total > 0).length;
    r.metadata_items = r.items.filter((i) => i.kind === 'metadata').length;
    r.free_sectors = sum(r.items, 'free');
    r.unmapped_sectors = sum(r.items, 'unmapped');
    r.stats.elapsed_ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return r;
  };
  const allUnmapped = (r: FsMapResult, reason: string): FsMapResult => {
    const c = new Collector(set, SECTOR_SIZE, o);
    for (const [a, b] of set.pairs()) c.unmapped(reason, a, b);
    r.items = c.finish(new Map());
    return finish(r);
  };

  let det: Detected;
  try {
    det = detectFs(src);
  } catch (e) {
    return allUnmapped(base(null, 'unknown'), `the start of the volume cannot be read (${(e as Error).message})`);
  }
  if (det.fs === null) return allUnmapped(base(null, det.description), det.description);
  if (det.fs === 'btrfs') {
    return allUnmapped(
      base('btrfs', 'btrfs'),
      'btrfs is not supported: its chunk tree maps logical addresses to these physical sectors (and may keep several copies), and what a block holds is in its extent and file-system trees; a real answer needs those trees read (btrfs inspect-internal logical-resolve does it on a mounted file system)',
    );
  }
  const r = base(det.fs, det.description);
  try {
    if (det.fs === 'ext4') mapExt4Result(src, set, o, r);
    else mapXfsResult(src, set, o, r);
  } catch (e) {
    const why = e instanceof MapError ? e.message : `an unexpected error while reading the file system: ${(e as Error).message}`;
    return allUnmapped(r, why);
  }
  return finish(r);
}

const MOUNTED = 'the file system is mounted and may still be writing: blocks can change owner while this mapping runs';

function mapExt4Result(src: SectorSource, set: RangeSet, o: FsMapOptions, r: FsMapResult): void {
  const { fs } = openExt4(src, set);
  r.fs_description = `${r.fs_description} (${featureNames(fs.sb).join(', ')})`;
  if (fs.sb.s_volume_name) r.fs_label = fs.sb.s_volume_name;
  r.fs_uuid = uuidText(fs.sb.s_uuid);
  r.block_size = fs.bs;
  const out = mapExt4(fs, set, o);
  r.items = out.collector.finish(out.names);
  r.may_be_stale = joinStale(o, out.may_be_stale);
  r.relied_on_damaged = fs.reader.damaged.slice();
  r.stats.blocks_read = fs.reader.blocksRead;
  r.stats.inodes_scanned = out.inodes_scanned;
  r.stats.directories_scanned = out.directories_scanned;
  r.stats.method = 'scan';
}

function mapXfsResult(src: SectorSource, set: RangeSet, o: FsMapOptions, r: FsMapResult): void {
  const fs = openXfs(src, set);
  r.fs_description = fs.description;
  if (fs.sb.sb_fname) r.fs_label = fs.sb.sb_fname;
  r.fs_uuid = uuidText(fs.sb.sb_uuid);
  r.block_size = fs.bs;
  const out = mapXfs(fs, set, o);
  r.items = out.collector.finish(out.names);
  r.may_be_stale = joinStale(o, out.may_be_stale);
  r.relied_on_damaged = fs.reader.damaged.slice();
  r.stats.blocks_read = fs.reader.blocksRead;
  r.stats.inodes_scanned = out.inodes_scanned;
  r.stats.directories_scanned = out.directories_scanned;
  r.stats.method = out.method;
}

function joinStale(o: FsMapOptions, list: string[]): string | null {
  const all = o.mounted ? [MOUNTED, ...list] : list;
  return all.length ? all.join('; ') : null;
}

function openExt4(src: SectorSource, bad: RangeSet): { fs: Ext4Fs } {
  const raw = Buffer.alloc(1024);
  const unreadable = src.read(EXT4_SB_OFFSET / SECTOR_SIZE, 2, raw);
  if (unreadable?.length) throw new MapError('the block holding the ext4 superblock is itself damaged (it cannot be read)');
  const sb = decodeExt4SuperBlock(raw);
  if (sb.s_magic !== EXT4_SUPER_MAGIC) throw new MapError('no ext4 superblock');
  const problem = ext4SuperblockProblem(sb);
  if (problem)
    throw new MapError(
      `the ext4 superblock is corrupted: ${problem}${bad.intersects(2, 4) ? ' (it lies in a bad range itself)' : ''}; e2fsck -b <backup superblock> can repair it`,
    );
  const reader = new BlockReader(src, bad, 1024 << sb.s_log_block_size, sb.s_blocks_count);
  reader.noteIfBad(0, 0, 'the superblock');
  if (bad.intersects(2, 4)) reader.damaged.push('the ext4 superblock');
  return { fs: new Ext4Fs(sb, reader) };
}

function sum(items: FsMapItem[], kind: FsMapItem['kind']): number {
  let n = 0;
  for (const i of items) if (i.kind === kind) n += i.sectors;
  return n;
}

/**
 * Whether the file system says the blocks under `ranges` are free (for "rewrite free blocks with zeros and a valid
 * tag"): only the check; the rewrite lives elsewhere. A range the question cannot be answered for is not free.
 */
export function checkFree(src: SectorSource, ranges: Iterable<SectorRange>): FreeCheck {
  const set = RangeSet.from(ranges, src.sectors, 'sector range');
  const none = (fs: FsType | null, why: string): FreeCheck => ({ fs, block_size: 0, free: [], not_free: set.pairs().map((range) => ({ range, why })) });
  let det: Detected;
  try {
    det = detectFs(src);
  } catch (e) {
    return none(null, `the start of the volume cannot be read (${(e as Error).message})`);
  }
  if (det.fs === null) return none(null, det.description);
  if (det.fs === 'btrfs') return none('btrfs', 'btrfs free space is not mapped here');
  try {
    if (det.fs === 'ext4') return ext4FreeCheck(openExt4(src, RangeSet.fromPairs([])).fs, set);
    return xfsFreeCheck(openXfs(src, RangeSet.fromPairs([])), set);
  } catch (e) {
    return none(det.fs, e instanceof MapError ? e.message : `an unexpected error while reading the file system: ${(e as Error).message}`);
  }
}
