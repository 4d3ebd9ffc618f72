// The journal as it is on disk, read without writing a byte: what replay_journal() would replay on activation
// (and a read-only open overlays), the newest commit, how full it is, torn sections; for a volume left in bitmap
// mode without a clean close (dirty_bitmap), the dirty regions the kernel recalculates on the next writable open.
import type { JournalOnDisk } from '../api.js';
import { SB_FLAG_DIRTY_BITMAP, SECTOR_SIZE } from '../layout/superblock.js';
import { dataSector, JOURNAL_SECTOR_DATA, tagOffset } from '../layout/geometry.js';
import type { JournalMode, Volume } from '../volume.js';
import { commitId, entryOffset, N_COMMIT_IDS } from './journal-writer.js';
import { journalCodec } from './journal-keys.js';
import { planReplay, planVolumeReplay, readJournal } from './replay.js';
import { dirtyRegions } from './bitmap-mode.js';

const UNUSED = 0xffffffff;

/** The seq (0..3) whose commit id sector `j` of `section` carries, or -1 (find_commit_seq). */
function seqOf(plain: Buffer, jss: number, section: number, j: number, ids: readonly bigint[]): number {
  const id = plain.readBigUInt64LE((section * jss + j) * SECTOR_SIZE + JOURNAL_SECTOR_DATA);
  for (let s = 0; s < N_COMMIT_IDS; s++) if (commitId(section, j, s, ids) === id) return s;
  return -1;
}

/**
 * Reads the journal area of an open volume (opened with its journal keys, superblockOnly or not) as the kernel's
 * replay_journal() would see it. `mode` is the open mode: outside journal mode the kernel replays and clears.
 */
const MAX_DIRTY_RANGES = 1024;

/** joins ranges whose gap is under `gap` sectors: fewer ranges, covering every sector the originals cover */
function coarsen(ranges: Array<[number, number]>, gap: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [a, b] of ranges) {
    const last = out[out.length - 1];
    if (last && a - last[1] < gap) last[1] = b;
    else out.push([a, b]);
  }
  return out;
}

export function journalOnDisk(vol: Volume, mode: JournalMode = 'journal'): JournalOnDisk {
  const g = vol.geometry;
  const base: JournalOnDisk = {
    kind: mode === 'bitmap' || vol.sb.flags & SB_FLAG_DIRTY_BITMAP ? 'bitmap' : 'journal',
    sections: g.journal_sections,
    section_entries: g.journal_section_entries,
    committed_entries: 0,
    committed_sections: 0,
    commit_seq: null,
    fill: 0,
    torn_entries: 0,
  };
  if (vol.sb.flags & SB_FLAG_DIRTY_BITMAP) {
    // the journal area holds the dirty bitmap (an unclean close in bitmap mode)
    const bm = dirtyRegions(vol);
    const per = 2 ** bm.shift;
    const total = g.provided_data_sectors;
    let regions = 0;
    let sectors = 0;
    let ranges: Array<[number, number]> = [];
    for (let b = 0; b * per < total; b++) {
      if (!bm.test(b)) continue;
      regions++;
      const first = b * per;
      const end = Math.min(first + per, total);
      sectors += end - first;
      const last = ranges[ranges.length - 1];
      if (last && last[1] === first) last[1] = end;
      else ranges.push([first, end]);
    }
    if (ranges.length > MAX_DIRTY_RANGES) ranges = coarsen(ranges, Math.ceil(total / MAX_DIRTY_RANGES));
    return { ...base, kind: 'bitmap', dirty_regions: regions, dirty_blocks: sectors / g.sectors_per_block, dirty_ranges: ranges };
  }
  let plain: Buffer;
  let ids: readonly bigint[];
  try {
    const codec = journalCodec(vol);
    ids = codec.commitIds;
    plain = readJournal(vol);
  } catch (e) {
    return { ...base, unreadable: (e as Error).message };
  }
  const plan = planReplay(g, plain, ids, mode);
  if (plan.failed) {
    return {
      ...base,
      unreadable: `${plan.failed}: the journal is damaged, or it is encrypted and the journal encryption (algorithm or key) given is wrong or missing`,
    };
  }
  // The kernel leaves replayed entries in the journal (a clean close does not erase it), so an entry awaits
  // replay only when the block on disk differs from it: the last entry of each sector wins, as in replay.
  const last = new Map<number, (typeof plan.writes)[number]>();
  if (!plan.journal_empty) for (const w of plan.writes) last.set(w.sector, w);
  const committed: Array<(typeof plan.writes)[number]> = [];
  const data = Buffer.alloc(g.block_size);
  const tag = Buffer.alloc(g.tag_size);
  for (const w of last.values()) {
    vol.data.read(data, dataSector(g, w.sector) * SECTOR_SIZE);
    vol.meta.read(tag, tagOffset(g, w.sector));
    if (!data.equals(w.data) || !tag.equals(w.tag)) committed.push(w);
  }
  const sections = new Set(committed.map((w) => w.section));
  let commitSeq: number | null = null;
  if (!plan.journal_empty && plan.write_sections > 0) {
    const last = (plan.write_start + plan.write_sections - 1) % g.journal_sections;
    const s = seqOf(plain, g.journal_section_sectors, last, 0, ids);
    commitSeq = s < 0 ? null : s;
  }
  // a section whose sectors carry different commit seqs was torn by a crash mid-write: replay ignores its entries
  let torn = 0;
  for (let i = 0; i < g.journal_sections; i++) {
    const first = seqOf(plain, g.journal_section_sectors, i, 0, ids);
    let mixed = false;
    for (let j = 1; j < g.journal_section_sectors && !mixed; j++) mixed = seqOf(plain, g.journal_section_sectors, i, j, ids) !== first;
    if (!mixed) continue;
    for (let n = 0; n < g.journal_section_entries; n++) {
      const off = i * g.journal_section_sectors * SECTOR_SIZE + entryOffset(g.journal_entry_size, n);
      if (plain.readUInt32LE(off + 4) !== UNUSED) torn++;
    }
  }
  const out: JournalOnDisk = {
    ...base,
    committed_entries: committed.length,
    committed_sections: sections.size,
    applied_entries: last.size - committed.length,
    commit_seq: commitSeq,
    fill: committed.length / (g.journal_sections * g.journal_section_entries),
    torn_entries: torn,
  };
  if (committed.length) {
    // what the kernel checks before replaying (section MACs, replayed tags): a failure fails the device
    try {
      planVolumeReplay(vol);
    } catch (e) {
      out.unreadable = (e as Error).message;
    }
  }
  return out;
}
