// Journal mode ('J') writes as the kernel makes them: dm_integrity_map_continue + __journal_read_write put each
// block in the next free journal entry (data in the section's data sectors, the last 8 bytes of every 512-byte
// sector moved to the entry's last_bytes, tag in the entry); integrity_commit closes the current section
// (pad_uncommitted), stamps every sector of the uncommitted sections with the commit id of commit_seq
// (advancing commit_seq when the section index wraps), and writes them (write_journal, with MAC and
// encryption when configured); do_journal_write copies the committed entries to their final places.
// We write back eagerly after every commit, then flush, so a committed section is never needed again —
// but it stays on disk, and the kernel replays it harmlessly (it re-writes what is already there).
import { SECTOR_SIZE } from '../layout/superblock.js';
import { JOURNAL_BLOCK_SECTORS, JOURNAL_SECTOR_DATA } from '../layout/geometry.js';
import type { IntegrityTarget } from './target.js';
import { IntegrityStudioError } from '../errors.js';
import { computeTags, isNoSpace, reserveInPlace, rewriteSame, writeInPlace } from './write.js';

export const COMMIT_IDS = [0x1111111111111111n, 0x2222222222222222n, 0x3333333333333333n, 0x4444444444444444n];
export const N_COMMIT_IDS = COMMIT_IDS.length;

/** dm_integrity_commit_id(); `ids` are the volume's commit ids (encrypted ones under a stream cipher) */
export function commitId(section: number, sector: number, seq: number, ids: readonly bigint[] = COMMIT_IDS): bigint {
  return ids[seq]! ^ ((BigInt(section) << 32n) ^ BigInt(sector));
}

export function nextCommitSeq(seq: number): number {
  return (seq + 1) % N_COMMIT_IDS;
}

/** Where the kernel left the journal: the section to fill next and its commit sequence (replay_journal). */
export interface JournalPosition {
  free_section: number;
  commit_seq: number;
}

/** Turns a plaintext section into the bytes written to disk (section MAC, then encryption), in place or new. */
export type SectionSealer = (plain: Buffer, section: number) => Buffer;

// JournalState crosses IPC to the dashboard: defined in the contract
import type { JournalState } from '../api.js';

export type { JournalState };

/** A block written to the journal: a view of the write's one copy of its data and tags (made when asked). */
class JournalBlock {
  constructor(
    readonly sector: number,
    readonly src: Buffer,
    readonly off: number,
    private readonly bs: number,
    readonly tags: Buffer,
    readonly toff: number,
    private readonly ts: number,
  ) {}

  get data(): Buffer {
    return this.src.subarray(this.off, this.off + this.bs);
  }

  get tag(): Buffer {
    return this.tags.subarray(this.toff, this.toff + this.ts);
  }
}

type PendingBlock = { sector: number; data: Buffer; tag: Buffer };

export class JournalWriter {
  private readonly sectionBytes: number;
  /** plaintext of the sections being filled, from uncommitted_section on */
  private sections: Buffer[] = [];
  private uncommitted_section: number;
  private free_section_entry = 0;
  private commit_seq: number;
  private commits = 0;
  /** blocks in the uncommitted sections, in write order, for the write-back after commit */
  private pending: JournalBlock[] = [];

  constructor(
    private readonly t: IntegrityTarget,
    pos: JournalPosition,
    private readonly seal: SectionSealer,
    /** the volume's commit ids (journal-keys.ts journalCodec().commitIds) */
    private readonly ids: readonly bigint[] = COMMIT_IDS,
  ) {
    this.sectionBytes = t.geometry.journal_section_sectors * SECTOR_SIZE;
    this.uncommitted_section = pos.free_section;
    this.commit_seq = pos.commit_seq;
  }

  state(): JournalState {
    const g = this.t.geometry;
    return {
      journal_sections: g.journal_sections,
      journal_section_entries: g.journal_section_entries,
      entries_in_use: this.pending.length,
      free_section: (this.uncommitted_section + Math.max(0, this.sections.length - (this.free_section_entry ? 1 : 0))) % g.journal_sections,
      free_section_entry: this.free_section_entry,
      commit_seq: this.commit_seq,
      commits: this.commits,
    };
  }

  private newSection(): Buffer {
    const g = this.t.geometry;
    const b = Buffer.alloc(this.sectionBytes);
    // init_journal: every entry unused (sector_hi = 0xffffffff)
    for (let n = 0; n < g.journal_section_entries; n++) b.writeUInt32LE(0xffffffff, entryOffset(g.journal_entry_size, n) + 4);
    return b;
  }

  /** Appends whole blocks to the journal; the caller has checked alignment and range. `tags` are supplied by the
   *  layer above on a volume without internal hash (one tag_size tag per block), else computed here. */
  write(sector: number, data: Buffer, suppliedTags?: Uint8Array): void {
    const g = this.t.geometry;
    const bs = g.block_size;
    // one copy of the caller's data (it may reuse its buffer) and of the tags for the whole write; each entry's
    // pending block and overlay are views of them (no allocation and copy per block)
    const copy = Buffer.from(data.subarray(0, Math.floor(data.length / bs) * bs));
    const tags = suppliedTags ? Buffer.from(suppliedTags) : computeTags(this.t, sector, copy);
    const ts = g.tag_size;
    const spb = g.sectors_per_block;
    const nb = copy.length / bs;
    for (let b = 0; b < nb; ) {
      if (this.sections.length === g.journal_sections && this.free_section_entry === 0) this.commit();
      if (this.free_section_entry === 0) this.sections.push(this.newSection());
      const sec = this.sections[this.sections.length - 1]!;
      const n0 = this.free_section_entry;
      // the entries' data sectors of a section are contiguous: the blocks that go in this section in one copy
      const k = Math.min(nb - b, g.journal_section_entries - n0);
      sec.set(copy.subarray(b * bs, (b + k) * bs), (JOURNAL_BLOCK_SECTORS + n0 * spb) * SECTOR_SIZE);
      for (let q = 0; q < k; q++, b++) {
        const n = n0 + q;
        const s = sector + b * spb;
        const eo = entryOffset(g.journal_entry_size, n);
        // journal_entry: le64 sector, last_bytes[sectors_per_block], tag
        sec.writeUInt32LE(s % 0x100000000, eo);
        sec.writeUInt32LE(Math.floor(s / 0x100000000), eo + 4);
        for (let j = 0; j < spb; j++) {
          const from = b * bs + j * SECTOR_SIZE + JOURNAL_SECTOR_DATA;
          const to = eo + 8 + j * 8;
          for (let i = 0; i < 8; i++) sec[to + i] = copy[from + i]!;
        }
        const to = eo + 8 + 8 * spb;
        for (let i = 0; i < ts; i++) sec[to + i] = tags[b * ts + i]!;
        const e = new JournalBlock(s, copy, b * bs, bs, tags, b * ts, ts);
        this.pending.push(e);
        this.t.overlay.set(s, e);
      }
      this.free_section_entry = (n0 + k) % g.journal_section_entries;
    }
  }

  /** blocks written back by this writer's commits (what reached the volume) */
  blocksWritten = 0;

  /** drops the blocks not yet committed (a commit that could not reserve their space) */
  private abandon(): void {
    for (const p of this.pending) this.t.overlay.delete(p.sector);
    this.pending = [];
    this.sections = [];
    this.free_section_entry = 0;
  }

  /**
   * dm_integrity_postsuspend: after a clean close the kernel re-initialises the whole journal as empty, the
   * sections from free_section on with commit_seq and those before it with the next one.
   */
  closeJournal(init: (start: number, n: number, seq: number) => void): void {
    this.commit();
    if (!this.commits) return;
    const N = this.t.geometry.journal_sections;
    const free = this.uncommitted_section;
    init(free, N - free, this.commit_seq);
    if (free) init(0, free, nextCommitSeq(this.commit_seq));
    this.t.meta.flush();
  }

  /**
   * integrity_commit + do_journal_write: durable once this returns. `writeback: false` stops after the
   * journal is committed, as a crash right after the commit would (tests and crash simulations only).
   */
  commit(opts: { writeback?: boolean } = {}): void {
    if (!this.sections.length) return;
    const g = this.t.geometry;
    this.free_section_entry = 0; // pad_uncommitted: the rest of the current section stays unused
    let i = this.uncommitted_section;
    const journalBase = 8 * SECTOR_SIZE; // the journal starts after the superblock (SB_SECTORS)
    // a sparse image on a file system that is full: fail before the commit point with nothing changed, not during
    // the write-back (a committed journal the next open would replay into the same full file system)
    try {
      if (this.t.meta.hasHoles?.())
        for (let k = 0; k < this.sections.length; k++)
          rewriteSame(this.t.meta, journalBase + ((i + k) % g.journal_sections) * this.sectionBytes, this.sectionBytes);
      if (opts.writeback !== false) reserveRuns(this.t, this.pending);
    } catch (e) {
      if (!isNoSpace(e)) throw e;
      const blocks = new Set(this.pending.map((p) => p.sector)).size;
      this.abandon();
      throw new IntegrityStudioError(
        `${this.t.data.name}: no space left on device (the file system holding it is full): the ${blocks} block(s) waiting in the journal were not written, nothing of them reached the volume${this.blocksWritten ? ` (the ${this.blocksWritten} block(s) committed before them are on it)` : ', and the volume is as it was'}; free some space and write again`,
        'ENOSPC',
      );
    }
    for (const plain of this.sections) {
      // dm_integrity_commit_id() as two le32 halves: (id ^ (section << 32 ^ sector)), without a BigInt per sector
      const id = this.ids[this.commit_seq]!;
      const lo = Number(id & 0xffffffffn);
      const hi = (Number(id >> 32n) ^ i) >>> 0;
      for (let j = 0; j < g.journal_section_sectors; j++) {
        const o = j * SECTOR_SIZE + JOURNAL_SECTOR_DATA;
        plain.writeUInt32LE((lo ^ j) >>> 0, o);
        plain.writeUInt32LE(hi, o + 4);
      }
      const out = this.seal(plain, i);
      this.t.meta.write(out, journalBase + i * this.sectionBytes);
      i++;
      if (i >= g.journal_sections) {
        i = 0;
        this.commit_seq = nextCommitSeq(this.commit_seq);
      }
    }
    this.t.meta.flush();
    this.commits++;
    if (opts.writeback === false) {
      this.pending = [];
      this.sections = [];
      this.uncommitted_section = i;
      return;
    }
    // write-back (do_journal_write): later entries overwrite earlier ones for the same block; the blocks are
    // written in sector order, runs of adjacent blocks as one data write and one tag write (one flush follows
    // them all, so their order among themselves does not matter)
    writeBack(this.t, this.pending, false);
    this.t.data.flush();
    if (this.t.data !== this.t.meta) this.t.meta.flush();
    this.blocksWritten += new Set(this.pending.map((p) => p.sector)).size;
    for (const p of this.pending) this.t.overlay.delete(p.sector);
    this.pending = [];
    this.sections = [];
    this.uncommitted_section = i;
  }
}

/** Writes journal blocks in place, the last entry of each block winning, adjacent blocks coalesced into runs. */
/** reserveInPlace over the blocks of `pending`, run by run of adjacent blocks */
function reserveRuns(t: IntegrityTarget, pending: ReadonlyArray<{ sector: number }>): void {
  if (!t.data.hasHoles?.() && !(t.meta !== t.data && t.meta.hasHoles?.())) return;
  const spb = t.geometry.sectors_per_block;
  const sectors = [...new Set(pending.map((p) => p.sector))].sort((a, b) => a - b);
  for (let i = 0; i < sectors.length; ) {
    let j = i + 1;
    while (j < sectors.length && sectors[j] === sectors[j - 1]! + spb) j++;
    reserveInPlace(t, sectors[i]!, (j - i) * spb);
    i = j;
  }
}

export function writeBack(t: IntegrityTarget, pending: ReadonlyArray<PendingBlock>, reserve = true): void {
  const last = new Map<number, PendingBlock>();
  for (const p of pending) last.set(p.sector, p);
  // sequential writes come in ascending order, once each: no sort needed
  let ascending = true;
  for (let k = 1; k < pending.length && ascending; k++) ascending = pending[k]!.sector > pending[k - 1]!.sector;
  const sectors = ascending ? pending.map((p) => p.sector) : [...last.keys()].sort((a, b) => a - b);
  const g = t.geometry;
  const spb = g.sectors_per_block;
  let i = 0;
  while (i < sectors.length) {
    let j = i + 1;
    // a run: consecutive blocks within one interleave area (writeInPlace splits at area ends anyway), ≤ 4 MiB
    while (j < sectors.length && sectors[j] === sectors[j - 1]! + spb && (j - i) * g.block_size < 4 << 20) j++;
    if (j - i === 1) {
      const p = last.get(sectors[i]!)!;
      writeInPlace(t, sectors[i]!, p.data, p.tag, reserve);
    } else {
      const data = Buffer.allocUnsafe((j - i) * g.block_size);
      const tags = Buffer.allocUnsafe((j - i) * g.tag_size);
      for (let k = i; k < j; ) {
        const p = last.get(sectors[k]!)!;
        // blocks of one journaled write that follow each other: one copy of their data and one of their tags
        let e = k + 1;
        if (p instanceof JournalBlock) {
          while (e < j) {
            const q = last.get(sectors[e]!)!;
            if (!(q instanceof JournalBlock) || q.src !== p.src || q.off !== p.off + (e - k) * g.block_size) break;
            e++;
          }
          p.src.copy(data, (k - i) * g.block_size, p.off, p.off + (e - k) * g.block_size);
          p.tags.copy(tags, (k - i) * g.tag_size, p.toff, p.toff + (e - k) * g.tag_size);
        } else {
          p.data.copy(data, (k - i) * g.block_size);
          p.tag.copy(tags, (k - i) * g.tag_size);
        }
        k = e;
      }
      writeInPlace(t, sectors[i]!, data, tags, reserve);
    }
    i = j;
  }
}

/** access_journal_entry(): entry n lives in metadata sector n % 8, slot n / 8 */
export function entryOffset(entrySize: number, n: number): number {
  return (n % JOURNAL_BLOCK_SECTORS) * SECTOR_SIZE + Math.floor(n / JOURNAL_BLOCK_SECTORS) * entrySize;
}
