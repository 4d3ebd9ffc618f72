// Journal replay exactly as the kernel's replay_journal() + do_journal_write(from_replay): which sections
// are replayed, in what order, what the journal looks like afterwards (cleared or continued), and where the
// next write goes. Used on disk when a volume is opened for writing, and in memory for read-only opens.
import { IntegrityStudioError } from '../errors.js';
import { SB_FLAG_DIRTY_BITMAP, SB_SECTORS, SECTOR_SIZE } from '../layout/superblock.js';
import { JOURNAL_BLOCK_SECTORS, JOURNAL_SECTOR_DATA, type Geometry } from '../layout/geometry.js';
import type { JournalMode, Volume } from '../volume.js';
import { COMMIT_IDS, commitId, entryOffset, N_COMMIT_IDS, nextCommitSeq, type JournalPosition, type SectionSealer } from './journal-writer.js';
import { writeInPlace } from './write.js';
import { journalCodec, openSections, sealSections } from './journal-keys.js';

const prevCommitSeq = (seq: number) => (seq + N_COMMIT_IDS - 1) % N_COMMIT_IDS;

export interface ReplayWrite {
  /** logical sector of the block */
  sector: number;
  data: Buffer;
  tag: Buffer;
  section: number;
  entry: number;
}

export interface ReplayPlan {
  /** why the kernel would clear the journal instead of continuing it, or null */
  clear_reason: string | null;
  journal_empty: boolean;
  write_start: number;
  write_sections: number;
  /** the block writes replay performs, in order (later ones win) */
  writes: ReplayWrite[];
  /** the kernel's position afterwards */
  position: JournalPosition;
  /** when cleared: the commit seq every section is re-initialised with (init_journal) */
  erase_seq: number | null;
  /** entries not replayed although present (past provided_data_sectors) */
  skipped_entries: number;
  /** set when the kernel would fail the device (dm_integrity_io_error during replay_journal) */
  failed?: string;
}

function sectorOf(plain: Buffer, g: Geometry, section: number, n: number): { hi: number; sector: number } {
  const off = section * g.journal_section_sectors * SECTOR_SIZE + entryOffset(g.journal_entry_size, n);
  const lo = plain.readUInt32LE(off);
  const hi = plain.readUInt32LE(off + 4);
  return { hi, sector: hi * 2 ** 32 + lo };
}

const UNUSED = 0xffffffff;
const IN_PROGRESS = 0xfffffffe;

function sectorCommitId(plain: Buffer, g: Geometry, section: number, j: number): bigint {
  return plain.readBigUInt64LE((section * g.journal_section_sectors + j) * SECTOR_SIZE + JOURNAL_SECTOR_DATA);
}

/**
 * replay_journal(): the plan, from the decrypted journal. `ids` are the volume's commit ids; `mode` is the
 * kernel's: outside journal mode ('B', 'D') a non-empty journal is replayed and then cleared.
 */
export function planReplay(g: Geometry, plain: Buffer, ids: readonly bigint[] = COMMIT_IDS, mode: JournalMode = 'journal'): ReplayPlan {
  const N = g.journal_sections;
  const used = [false, false, false, false];
  const maxSection = [0, 0, 0, 0];
  let journal_empty = true;
  let last_used = 0;
  let write_start = 0;
  const clear = (reason: string): ReplayPlan => {
    const erase_seq = prevCommitSeq(prevCommitSeq(last_used));
    return {
      failed: reason,
      clear_reason: reason,
      journal_empty,
      write_start,
      write_sections: 0,
      writes: [],
      position: { free_section: 0, commit_seq: nextCommitSeq(erase_seq) },
      erase_seq,
      skipped_entries: 0,
    };
  };
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < g.journal_section_sectors; j++) {
      const id = sectorCommitId(plain, g, i, j);
      let k = -1;
      for (let s = 0; s < N_COMMIT_IDS; s++) if (commitId(i, j, s, ids) === id) k = s;
      if (k < 0) return clear(`journal commit id not valid at section ${i} sector ${j}`);
      used[k] = true;
      maxSection[k] = i;
    }
    if (journal_empty) {
      for (let n = 0; n < g.journal_section_entries; n++) {
        if (sectorOf(plain, g, i, n).hi !== UNUSED) {
          journal_empty = false;
          break;
        }
      }
    }
  }
  let unused: number;
  if (!used[N_COMMIT_IDS - 1]) {
    unused = N_COMMIT_IDS - 1;
    while (unused && !used[unused - 1]) unused--;
  } else {
    for (unused = 0; unused < N_COMMIT_IDS; unused++) if (!used[unused]) break;
    if (unused === N_COMMIT_IDS) return clear('all four journal commit ids in use');
  }
  last_used = prevCommitSeq(unused);
  let want = prevCommitSeq(last_used);
  if (!used[want] && used[prevCommitSeq(want)]) journal_empty = true;
  write_start = maxSection[last_used]! + 1;
  if (write_start >= N) want = nextCommitSeq(want);
  write_start %= N;
  let i = write_start;
  let write_sections = 0;
  outer: for (; write_sections < N; write_sections++) {
    for (let j = 0; j < g.journal_section_sectors; j++) {
      if (sectorCommitId(plain, g, i, j) !== commitId(i, j, want, ids)) break outer;
    }
    i++;
    if (i >= N) want = nextCommitSeq(want);
    i %= N;
  }
  const writes: ReplayWrite[] = [];
  let skipped = 0;
  if (!journal_empty) {
    // do_journal_write(from_replay)
    for (let n = 0, s = write_start; n < write_sections; n++, s = (s + 1) % N) {
      for (let e = 0; e < g.journal_section_entries; e++) {
        const { hi, sector: raw } = sectorOf(plain, g, s, e);
        if (hi === UNUSED) continue;
        let sector = raw;
        if (hi === IN_PROGRESS || sector >= g.provided_data_sectors) {
          skipped++;
          continue;
        }
        sector -= sector % g.sectors_per_block;
        const secBase = s * g.journal_section_sectors * SECTOR_SIZE;
        const eo = secBase + entryOffset(g.journal_entry_size, e);
        const dataOff = secBase + (JOURNAL_BLOCK_SECTORS + e * g.sectors_per_block) * SECTOR_SIZE;
        const data = Buffer.from(plain.subarray(dataOff, dataOff + g.block_size));
        for (let k = 0; k < g.sectors_per_block; k++) {
          plain.copy(data, k * SECTOR_SIZE + JOURNAL_SECTOR_DATA, eo + 8 + k * 8, eo + 16 + k * 8); // restore_last_bytes
        }
        const tagOff = eo + 8 + 8 * g.sectors_per_block;
        writes.push({ sector, data, tag: Buffer.from(plain.subarray(tagOff, tagOff + g.tag_size)), section: s, entry: e });
      }
    }
  }
  if (write_sections === N && (mode === 'journal' || journal_empty)) {
    return {
      clear_reason: null,
      journal_empty,
      write_start,
      write_sections,
      writes,
      position: { free_section: write_start, commit_seq: want },
      erase_seq: null,
      skipped_entries: skipped,
    };
  }
  const erase_seq = prevCommitSeq(prevCommitSeq(last_used));
  return {
    clear_reason: `journal section ${i} is incomplete (a crash during a journal write); ${write_sections} consistent section(s) replayed`,
    journal_empty,
    write_start,
    write_sections,
    writes,
    position: { free_section: 0, commit_seq: nextCommitSeq(erase_seq) },
    erase_seq,
    skipped_entries: skipped,
  };
}

/** The journal area, decrypted (rw_journal + encrypt_journal(false)). */
export function readJournal(vol: Volume): Buffer {
  const g = vol.geometry;
  const raw = Buffer.alloc(g.journal_sections * g.journal_section_sectors * SECTOR_SIZE);
  vol.meta.read(raw, SB_SECTORS * SECTOR_SIZE);
  return openSections(vol, raw);
}

/**
 * replay_journal() for an open volume: decrypt, plan, and the checks after which the kernel fails the device —
 * an invalid commit id (find_commit_seq), a section MAC that does not match (rw_section_mac in
 * do_journal_write, only for the sections replayed, only when the journal is not empty), a replayed tag that
 * does not match its data. Each is one clear error here.
 */
export function planVolumeReplay(vol: Volume): ReplayPlan {
  if (vol.sb.flags & SB_FLAG_DIRTY_BITMAP) {
    throw new IntegrityStudioError(
      'the volume was left in bitmap mode without a clean close (dirty_bitmap): its journal area holds the dirty bitmap, not a journal; a writable open recalculates the dirty regions',
      'EJOURNAL',
    );
  }
  const codec = journalCodec(vol);
  const plain = readJournal(vol);
  const plan = planReplay(vol.geometry, plain, codec.commitIds, vol.options.mode ?? 'journal');
  if (plan.failed) {
    const hint = codec.encrypted
      ? ': the journal encryption key or algorithm is wrong (--journal-crypt, --journal-crypt-key-file), or the journal is damaged'
      : ': the journal is damaged, or it is encrypted and --journal-crypt was not given';
    throw new IntegrityStudioError(`cannot replay the journal: ${plan.failed}${hint} (the kernel fails the device)`, 'EJOURNAL');
  }
  if (!plan.journal_empty) {
    for (let n = 0; n < plan.write_sections; n++) codec.checkMac(plain, (plan.write_start + n) % vol.geometry.journal_sections);
  }
  checkTags(vol, plan.writes);
  return plan;
}

/** Checks every replayed tag as do_journal_write(from_replay) does; the kernel fails the device otherwise. */
function checkTags(vol: Volume, writes: ReplayWrite[]): void {
  if (vol.hasher.external) return; // without internal_hash the kernel copies the tags as they are
  const t = Buffer.alloc(vol.geometry.tag_size);
  for (const w of writes) {
    vol.hasher.tag(w.sector, w.data, t, 0);
    if (!t.equals(w.tag)) {
      throw new IntegrityStudioError(
        `journal entry for sector ${w.sector} (section ${w.section}) has a tag that does not match its data: tag mismatch when replaying journal — the kernel would fail the device (wrong --integrity algorithm or key?)`,
        'EILSEQ',
      );
    }
  }
}

/** Read-only: present the volume as the kernel shows it after replay, without writing a byte. */
export function overlayJournal(vol: Volume): ReplayPlan {
  const plan = planVolumeReplay(vol);
  vol.target.overlay.clear();
  for (const w of plan.writes) vol.target.overlay.set(w.sector, { data: w.data, tag: w.tag });
  return plan;
}

/** init_journal(start, n, seq): empty sections with the commit ids of `seq`, sealed and written. */
export function initJournal(vol: Volume, start: number, n: number, seq: number): void {
  const g = vol.geometry;
  const sectionBytes = g.journal_section_sectors * SECTOR_SIZE;
  const seal = sectionSealer(vol);
  const ids = journalCodec(vol).commitIds;
  for (let k = 0; k < n; k++) {
    const i = (start + k) % g.journal_sections;
    const plain = Buffer.alloc(sectionBytes);
    for (let j = 0; j < g.journal_section_sectors; j++) plain.writeBigUInt64LE(commitId(i, j, seq, ids), j * SECTOR_SIZE + JOURNAL_SECTOR_DATA);
    for (let e = 0; e < g.journal_section_entries; e++) plain.writeUInt32LE(0xffffffff, entryOffset(g.journal_entry_size, e) + 4);
    vol.meta.write(seal(plain, i), SB_SECTORS * SECTOR_SIZE + i * sectionBytes);
  }
}

/** Replays the journal on disk as the kernel does on activation; returns where the next write goes. */
export function replayOnDisk(vol: Volume): JournalPosition & { plan: ReplayPlan } {
  const plan = planVolumeReplay(vol);
  for (const w of plan.writes) writeInPlace(vol.target, w.sector, w.data, w.tag);
  if (plan.writes.length) {
    vol.data.flush();
    if (vol.data !== vol.meta) vol.meta.flush();
  }
  if (plan.erase_seq !== null) {
    // clear_journal: write_start first, then the middle, then the last one (the kernel's order)
    initJournal(vol, plan.write_start, vol.geometry.journal_sections, plan.erase_seq);
    vol.meta.flush();
  }
  return { ...plan.position, plan };
}

export function sectionSealer(vol: Volume): SectionSealer {
  return (plain, section) => sealSections(vol, plain, section);
}
