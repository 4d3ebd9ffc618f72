// Known damage of a scrub, kept compactly: a failing disk can have millions of bad blocks, so a scrub's ranges are
// not held in memory, sent with every update or rewritten whole on every save. They go, in ascending order as the
// scrub finds them, into a sidecar file of delta-coded varints (IMAGE.scrub.damage: a range of one block after a gap
// of one takes 2 bytes), with a sparse index (one entry per INDEX_EVERY ranges, with the block counts before it) in
// the JSON state; only a bounded summary — counts, the first ranges, a coarse map of the volume — is kept in memory.
// A range stays open (in memory and in the state) while the next block may still extend it; it is closed — written —
// as soon as the scrub passes its end, so the file is in ascending order of sector whatever the kinds.
import fs from 'node:fs';
import path from 'node:path';
import { DAMAGE_FIRST_RANGES, DAMAGE_MAP_CELLS, type DamageSummary, type ErrorRangeRow } from '../api.js';

export type DamageKind = 'bad' | 'read-error';
type Range = [number, number];

/** ranges between two index entries */
export const INDEX_EVERY = 4096;

/** An index entry: where a record starts in the file, its range's first sector, the delta base before it, and the
 *  blocks and ranges of each kind in the records before it. */
export interface IndexEntry {
  offset: number;
  sector: number;
  base: number;
  bad: number;
  read: number;
  bad_ranges: number;
  read_ranges: number;
}

/** What the JSON state file keeps of a damage log: the bytes of the sidecar that are valid (a crash after an
 *  append but before the state was saved leaves more: they are cut off on resume), the open ranges, the index and
 *  the summary of the closed ranges. */
export interface DamageState {
  bytes: number;
  open: { bad: Range | null; 'read-error': Range | null };
  /** the first sector of the last range written (records are delta-coded from it) */
  last_start: number;
  records: number;
  index: IndexEntry[];
  summary: DamageSummary;
}

/** A log as readers take it: the file and what its state file says of it. */
export interface DamageSource {
  file: string;
  state: DamageState;
}

export function emptySummary(totalSectors: number): DamageSummary {
  const cells = Math.max(1, Math.min(DAMAGE_MAP_CELLS, totalSectors));
  return {
    bad_blocks: 0,
    read_errors: 0,
    bad_range_count: 0,
    read_error_range_count: 0,
    bad_ranges: [],
    read_error_ranges: [],
    map: {
      cells,
      sectors_per_cell: Math.max(1, Math.ceil(totalSectors / cells)),
      bad: new Array<number>(cells).fill(0),
      read_errors: new Array<number>(cells).fill(0),
    },
  };
}

export function emptyDamageState(totalSectors: number): DamageState {
  return { bytes: 0, open: { bad: null, 'read-error': null }, last_start: 0, records: 0, index: [], summary: emptySummary(totalSectors) };
}

/** bytes appended in place (a varint is at most 8 bytes for a sector number below 2^53) */
class Bytes {
  buf = Buffer.allocUnsafe(1 << 16);
  length = 0;
  varint(v: number): void {
    if (this.length + 8 > this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.length++] = v;
  }
}

const blocksOf = (r: Range, spb: number) => Math.ceil((r[1] - r[0]) / spb);

/** counts a range into a summary: blocks, range count, first ranges, map cells */
function summarize(s: DamageSummary, kind: DamageKind, r: Range, spb: number): void {
  const blocks = blocksOf(r, spb);
  if (kind === 'bad') {
    s.bad_blocks += blocks;
    s.bad_range_count++;
    if (s.bad_ranges.length < DAMAGE_FIRST_RANGES) s.bad_ranges.push([r[0], r[1]]);
  } else {
    s.read_errors += blocks;
    s.read_error_range_count++;
    if (s.read_error_ranges.length < DAMAGE_FIRST_RANGES) s.read_error_ranges.push([r[0], r[1]]);
  }
  const cells = kind === 'bad' ? s.map.bad : s.map.read_errors;
  const w = s.map.sectors_per_cell;
  addToCells(cells, w, r, spb);
}

/** counts the blocks of range r (block starts at r[0] + k·spb) into the cells their first sector falls in */
function addToCells(cells: number[], w: number, r: Range, spb: number, onlyCell?: number, minStart = 0): void {
  for (let c = onlyCell ?? Math.floor(r[0] / w); c * w < r[1] && c < cells.length; c++) {
    const lo = Math.max(r[0], c * w, minStart),
      hi = Math.min(r[1], (c + 1) * w);
    const first = r[0] + Math.ceil((lo - r[0]) / spb) * spb;
    if (hi > first) cells[c]! += Math.ceil((hi - first) / spb);
    if (onlyCell !== undefined) return;
  }
}

/**
 * The writer side, in the scrub: blocks arrive in ascending order; adjacent blocks of one kind merge into one range.
 * flush() appends the closed ranges to the file (the caller then saves the state, which records `bytes`).
 */
export class DamageLog {
  private pending = new Bytes();

  constructor(
    readonly file: string,
    readonly state: DamageState,
    private readonly spb: number,
  ) {}

  /** Opens the log of a scrub to continue: a file longer than the state says (written, then a crash before the
   *  state was saved) is cut back; a missing or shorter one means the state is not this file's: start afresh. */
  static resume(file: string, state: DamageState | undefined, totalSectors: number, spb: number): DamageLog {
    let st = state && Array.isArray(state.index) ? state : emptyDamageState(totalSectors);
    let size = -1;
    try {
      size = fs.statSync(file).size;
    } catch {
      /* absent */
    }
    if (st.bytes === 0 || size < st.bytes) {
      if (st.bytes > 0) st = emptyDamageState(totalSectors);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, Buffer.alloc(0), { mode: 0o600 });
    } else if (size > st.bytes) fs.truncateSync(file, st.bytes);
    return new DamageLog(file, st, spb);
  }

  /** the block starting at `sector` is bad (or could not be read); blocks come in ascending order */
  add(kind: DamageKind, sector: number): void {
    const open = this.state.open[kind];
    if (open && open[1] === sector) {
      open[1] = sector + this.spb;
      return;
    }
    // every open range ending at or before this block can no longer grow
    this.passed(sector + 1);
    this.state.open[kind] = [sector, sector + this.spb];
  }

  /** the scrub is at `sector`: open ranges that end before it cannot grow any more, so they are closed (in order
   *  of their start: the file stays sorted) */
  passed(sector: number): void {
    const bad = this.state.open.bad;
    const read = this.state.open['read-error'];
    const b = !!bad && bad[1] < sector;
    const r = !!read && read[1] < sector;
    if (b && r && read![0] < bad![0]) {
      this.closeOpen('read-error');
      this.closeOpen('bad');
      return;
    }
    if (b) this.closeOpen('bad');
    if (r) this.closeOpen('read-error');
  }

  private closeOpen(kind: DamageKind): void {
    this.close(kind, this.state.open[kind]!);
    this.state.open[kind] = null;
  }

  private close(kind: DamageKind, r: Range): void {
    const st = this.state;
    if (st.records % INDEX_EVERY === 0) {
      st.index.push({
        offset: st.bytes + this.pending.length,
        sector: r[0],
        base: st.last_start,
        bad: st.summary.bad_blocks,
        read: st.summary.read_errors,
        bad_ranges: st.summary.bad_range_count,
        read_ranges: st.summary.read_error_range_count,
      });
    }
    // head = (gap from the last range's first sector) × 2 + kind; then the length (ranges are ascending: gap ≥ 0)
    this.pending.varint((r[0] - st.last_start) * 2 + (kind === 'bad' ? 0 : 1));
    this.pending.varint(r[1] - r[0]);
    st.last_start = r[0];
    st.records++;
    summarize(st.summary, kind, r, this.spb);
  }

  /** what is needed to take back what was added since (a chunk the device stopped answering in is done again) */
  mark(): { pending: number; records: number; index: number; last_start: number; open: DamageState['open']; summary: DamageSummary } {
    const st = this.state;
    return {
      pending: this.pending.length,
      records: st.records,
      index: st.index.length,
      last_start: st.last_start,
      open: structuredClone(st.open),
      summary: structuredClone(st.summary),
    };
  }

  rollback(m: ReturnType<DamageLog['mark']>): void {
    const st = this.state;
    this.pending.length = m.pending;
    st.records = m.records;
    st.index.length = m.index;
    st.last_start = m.last_start;
    st.open = m.open;
    st.summary = m.summary;
  }

  /** the summary with the open ranges counted too (what is known now) */
  summary(): DamageSummary {
    const s: DamageSummary = structuredClone(this.state.summary);
    for (const kind of ['bad', 'read-error'] as const) {
      const open = this.state.open[kind];
      if (open) summarize(s, kind, open, this.spb);
    }
    return s;
  }

  /** appends the ranges closed since the last flush, made durable (before the state file says so) */
  flush(): void {
    if (!this.pending.length) return;
    const b = this.pending.buf.subarray(0, this.pending.length);
    const fd = fs.openSync(this.file, 'a', 0o600);
    try {
      for (let done = 0; done < b.length; ) done += fs.writeSync(fd, b, done, b.length - done);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.state.bytes += b.length;
    this.pending.length = 0;
  }

  /** closes the open ranges (the scrub reached the end) and flushes */
  finish(): void {
    this.passed(Number.MAX_SAFE_INTEGER);
    this.flush();
  }
}

/** One record read back. */
export interface DamageRecord {
  kind: DamageKind;
  first: number;
  end: number;
}

/**
 * Reads the closed ranges of a log, ascending, from index entry `start` (or the beginning), calling `each`; stops
 * when it returns false. Reads in 256 KiB pieces: memory stays bounded whatever the count.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a callback that returns nothing goes on (the caller's arrow functions need not say so)
export function readRecords(src: DamageSource, each: (r: DamageRecord) => boolean | void, start?: IndexEntry): void {
  const bytes = src.state.bytes;
  let fd: number;
  try {
    fd = fs.openSync(src.file, 'r');
  } catch {
    return;
  }
  try {
    const buf = Buffer.alloc(256 << 10);
    let pos = start?.offset ?? 0,
      base = start?.base ?? 0;
    let have = 0,
      at = 0;
    const byte = (): number => {
      if (at === have) {
        have = fs.readSync(fd, buf, 0, Math.min(buf.length, bytes - pos), pos);
        at = 0;
        if (have <= 0) throw new Error(`${src.file}: the damage log is shorter than its state file says`);
      }
      pos++;
      return buf[at++]!;
    };
    const varint = (): number => {
      let v = 0,
        mul = 1;
      for (;;) {
        const b = byte();
        v += (b & 0x7f) * mul;
        if (b < 0x80) return v;
        mul *= 0x80;
      }
    };
    while (pos < bytes) {
      const head = varint();
      const len = varint();
      const first = base + Math.floor(head / 2);
      base = first;
      if (each({ kind: head % 2 === 0 ? 'bad' : 'read-error', first, end: first + len }) === false) return;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** the last index entry whose range starts at or before `sector` (records from there on reach every range that
 *  ends after it: ranges are ascending and never overlap) */
function entryBefore(st: DamageState, sector: number): IndexEntry | undefined {
  let lo = 0,
    hi = st.index.length - 1,
    best: IndexEntry | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (st.index[mid]!.sector <= sector) {
      best = st.index[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

/** every range of a log (closed, then open) that ends after `after`, ascending, clipped to start at `clip` or later;
 *  stops when `each` returns false */
function rangesAfter(src: DamageSource, after: number, clip: number, each: (kind: DamageKind, r: Range) => boolean): void {
  let going = true;
  readRecords(
    src,
    (rec) => {
      if (rec.end <= after || rec.end <= clip) return true;
      going = each(rec.kind, [Math.max(rec.first, clip), rec.end]);
      return going;
    },
    entryBefore(src.state, Math.max(after, clip)),
  );
  const open = (['bad', 'read-error'] as const)
    .map((k) => [k, src.state.open[k]] as const)
    .filter((x): x is readonly [DamageKind, Range] => !!x[1])
    .sort((a, b) => a[1][0] - b[1][0]);
  for (const [k, o] of open) {
    if (!going) return;
    if (o[1] > after && o[1] > clip) going = each(k, [Math.max(o[0], clip), o[1]]);
  }
}

/**
 * A page of known damage, merged from several logs (the current scrub's, and the last finished one's at or past the
 * current position): `limit` ranges of the kinds asked for, starting with the first range ending after `fromSector`,
 * ascending; a block two logs name counts once. Memory holds a page, whatever the logs hold.
 */
export function pageOf(
  sources: Array<{ src: DamageSource; from?: number }>,
  fromSector: number,
  limit: number,
  kinds: ReadonlySet<DamageKind>,
): { rows: ErrorRangeRow[]; next: number | null } {
  const all: Array<[DamageKind, Range]> = [];
  for (const { src, from = 0 } of sources) {
    let n = 0;
    rangesAfter(src, fromSector, from, (kind, r) => {
      if (kinds.has(kind)) {
        all.push([kind, r]);
        n++;
      }
      return n <= limit;
    });
  }
  all.sort((p, q) => p[1][0] - q[1][0]);
  const rows: ErrorRangeRow[] = [];
  for (const [kind, [a, b]] of all) {
    const last = rows[rows.length - 1];
    if (last && last.kind === kind && a <= last.end_sector) {
      last.end_sector = Math.max(last.end_sector, b);
      continue;
    }
    rows.push({ kind, first_sector: a, end_sector: b });
  }
  const page = rows.slice(0, limit);
  return { rows: page, next: rows.length > limit ? page[page.length - 1]!.end_sector : null };
}

/** Every range of the logs, merged as pageOf does, a page at a time (exports): bounded memory. */
export function* allRanges(sources: Array<{ src: DamageSource; from?: number }>, kinds: ReadonlySet<DamageKind>, pageSize = 4096): Generator<ErrorRangeRow> {
  let from = 0;
  for (;;) {
    const p = pageOf(sources, from, pageSize, kinds);
    yield* p.rows;
    if (p.next === null) return;
    from = p.next;
  }
}

/** Every range of one kind in a log, ascending (the CLI's --json lists them all; memory grows with the count). */
export function allOf(src: DamageSource, kind: DamageKind): Array<[number, number]> {
  const out: Range[] = [];
  rangesAfter(src, -1, 0, (k, r) => {
    if (k === kind) out.push(r);
    return true;
  });
  return out;
}

/**
 * The summary of a log's damage at or past `from` (what a finished scrub's findings still say where a newer one
 * has not been yet). Exact, and bounded: the index gives the counts before its entry at `from`; only the records
 * from there to the end of `from`'s map cell (and until the first ranges are found) are read; the cells after it
 * come from the stored map.
 */
export function summaryFrom(src: DamageSource, fromSector: number, spb: number): DamageSummary {
  // a block is past `from` when it ends after it (blocks start at multiples of spb)
  const from = Math.floor(fromSector / spb) * spb;
  const st = src.state;
  const full = structuredClone(st.summary);
  // the open ranges belong to the log too (they are its last)
  for (const kind of ['bad', 'read-error'] as const) {
    const o = st.open[kind];
    if (o) summarize(full, kind, o, spb);
  }
  if (from <= 0) return full;
  const w = full.map.sectors_per_cell,
    cells = full.map.cells;
  const cellOf = Math.floor(from / w);
  const cellEnd = (cellOf + 1) * w;
  const out = emptySummary(1);
  out.map = {
    cells,
    sectors_per_cell: w,
    bad: full.map.bad.map((n, c) => (c > cellOf ? n : 0)),
    read_errors: full.map.read_errors.map((n, c) => (c > cellOf ? n : 0)),
  };
  const e = entryBefore(st, from);
  // before `from`: blocks of each kind, and ranges that end at or before it
  const before = { bad: e?.bad ?? 0, 'read-error': e?.read ?? 0 };
  const rangesBefore = { bad: e?.bad_ranges ?? 0, 'read-error': e?.read_ranges ?? 0 };
  const visit = (kind: DamageKind, first: number, end: number) => {
    if (first < from) before[kind] += blocksOf([first, Math.min(end, from)], spb);
    if (end <= from) {
      rangesBefore[kind]++;
      return;
    }
    const r: Range = [Math.max(first, from), end];
    const list = kind === 'bad' ? out.bad_ranges : out.read_error_ranges;
    if (list.length < DAMAGE_FIRST_RANGES) list.push(r);
    if (r[0] < cellEnd && cellOf < cells) addToCells(kind === 'bad' ? out.map.bad : out.map.read_errors, w, [first, end], spb, cellOf, from);
  };
  readRecords(
    src,
    (rec) => {
      // past `from`'s cell with both lists full, the rest only adds to what the stored totals already count
      if (rec.first >= Math.max(from, cellEnd) && out.bad_ranges.length >= DAMAGE_FIRST_RANGES && out.read_error_ranges.length >= DAMAGE_FIRST_RANGES)
        return false;
      if (rec.first >= from && rec.first >= cellEnd) {
        const list = rec.kind === 'bad' ? out.bad_ranges : out.read_error_ranges;
        if (list.length < DAMAGE_FIRST_RANGES) list.push([rec.first, rec.end]);
        return true;
      }
      visit(rec.kind, rec.first, rec.end);
      return true;
    },
    e,
  );
  for (const kind of ['bad', 'read-error'] as const) {
    const o = st.open[kind];
    if (!o) continue;
    if (o[0] >= from && o[0] >= cellEnd) {
      const list = kind === 'bad' ? out.bad_ranges : out.read_error_ranges;
      if (list.length < DAMAGE_FIRST_RANGES) list.push([o[0], o[1]]);
    } else visit(kind, o[0], o[1]);
  }
  out.bad_blocks = full.bad_blocks - before.bad;
  out.read_errors = full.read_errors - before['read-error'];
  out.bad_range_count = full.bad_range_count - rangesBefore.bad;
  out.read_error_range_count = full.read_error_range_count - rangesBefore['read-error'];
  out.bad_ranges.sort((p, q) => p[0] - q[0]);
  out.read_error_ranges.sort((p, q) => p[0] - q[0]);
  return out;
}

/** Two summaries of damage at different places (the current scrub's, and the last finished one's past its
 *  position) as one: counts and maps added, first ranges merged. */
export function addSummaries(a: DamageSummary, b: DamageSummary): DamageSummary {
  const merge = (x: Array<[number, number]>, y: Array<[number, number]>) => [...x, ...y].sort((p, q) => p[0] - q[0]).slice(0, DAMAGE_FIRST_RANGES);
  return {
    bad_blocks: a.bad_blocks + b.bad_blocks,
    read_errors: a.read_errors + b.read_errors,
    bad_range_count: a.bad_range_count + b.bad_range_count,
    read_error_range_count: a.read_error_range_count + b.read_error_range_count,
    bad_ranges: merge(a.bad_ranges, b.bad_ranges),
    read_error_ranges: merge(a.read_error_ranges, b.read_error_ranges),
    map: { ...a.map, bad: a.map.bad.map((n, i) => n + (b.map.bad[i] ?? 0)), read_errors: a.map.read_errors.map((n, i) => n + (b.map.read_errors[i] ?? 0)) },
  };
}
