// Known damage, whole, on request (snapshots and events carry only its bounded summary): a page at a time for the
// Errors panel, and exports (JSON, CSV) streamed to a file or an HTTP response row by row, never built whole in
// memory. The list is the current scrub's damage log, plus the last finished one's where the current one has not
// been yet (engine/jobs/damage.ts), as the summary counts it.
import fs from 'node:fs';
import { once } from 'node:events';
import { IntegrityStudioError } from '../engine/errors.js';
import { openVolume } from '../engine/volume.js';
import { allRanges, pageOf, summaryFrom, type DamageKind } from '../engine/jobs/damage.js';
import type { Geometry } from '../engine/layout/geometry.js';
import type { ErrorPage, ExportErrorsRequest, ExportResult, ListErrorsRequest } from '../engine/api.js';
import { sourcesOf } from './damage-sources.js';
import { openLuksIntegrity } from './luks/header-view.js';
import { readLuks2Header } from '../engine/luks/index.js';
import { segmentFromLuks } from '../engine/crypt/volume.js';
import type { Entry } from './volumes.js';
import { holdsOf, holdsText } from './fsmap/holds.js';
import type { KeptMapping } from './fsmap/index.js';

const DEFAULT_PAGE = 200;
const MAX_PAGE = 2000;

const KINDS: Record<NonNullable<ListErrorsRequest['kind']>, ReadonlySet<DamageKind>> = {
  all: new Set<DamageKind>(['bad', 'read-error']),
  bad: new Set<DamageKind>(['bad']),
  'read-error': new Set<DamageKind>(['read-error']),
};

export function listErrors(e: Entry, req: ListErrorsRequest): ErrorPage {
  const limit = req.limit ?? DEFAULT_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new IntegrityStudioError(`listErrors: limit must be 1 to ${MAX_PAGE}`);
  const from = req.fromSector ?? 0;
  if (!Number.isSafeInteger(from) || from < 0) throw new IntegrityStudioError('listErrors: fromSector must be a sector number, 0 or more');
  const kinds = KINDS[req.kind ?? 'all'];
  const { sources } = sourcesOf(e);
  const page = pageOf(sources, from, limit, kinds);
  // the count of ranges of these kinds, from the logs' summaries (bounded work, not a read of the lists; a range
  // the current scrub and the last finished one both reach at the position counts in each)
  let total = 0;
  for (const { src, from: f } of sources) {
    const sum = summaryFrom(src, f ?? 0, 1);
    total += (kinds.has('bad') ? sum.bad_range_count : 0) + (kinds.has('read-error') ? sum.read_error_range_count : 0);
  }
  return { rows: page.rows, next_sector: page.next, total_ranges: total };
}

/** byte extents in the image (or the data device) of logical sectors [first, end): one per interleave area */
function extents(g: Geometry, first: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const il = 2 ** g.log2_interleave_sectors;
  for (let s = first; s < end; ) {
    const areaEnd = g.meta_dev ? end : Math.min(end, (Math.floor(s / il) + 1) * il);
    const area = Math.floor(s / il);
    const p = g.meta_dev ? s : g.initial_sectors + area * il + (area + 1) * g.metadata_run + (s - area * il);
    out.push([p * 512, (p + (areaEnd - s)) * 512 - 1]);
    s = areaEnd;
  }
  return out;
}

/** the geometry mapping a volume's logical sectors to bytes of its image (LUKS2: of the dm-integrity under it) */
function geometryOf(e: Entry): { g: Geometry; offset: number; spb: number; luks: boolean } {
  if (e.luks) {
    const seg = segmentFromLuks(readLuks2Header(e.path));
    const v = openLuksIntegrity(e.path, seg);
    try {
      return { g: v.geometry, offset: seg.offset, spb: seg.sector_size / 512, luks: true };
    } finally {
      v.close();
    }
  }
  const v = openVolume(e.path, { dataDevice: e.options.data_device ?? undefined, superblockOnly: true });
  try {
    return { g: v.geometry, offset: 0, spb: v.geometry.sectors_per_block, luks: false };
  } finally {
    v.close();
  }
}

/** kernel log lines of a LUKS2 range kept in one JSON row (the CSV has one row per sector, every one) */
const ROW_LINES = 64;
const aead = (sector: number) => `INTEGRITY AEAD ERROR, sector ${sector}`;

/** a CSV cell: quoted, quotes doubled */
const csvCell = (s: string) => `"${s.replace(/"/g, '""')}"`;

/**
 * The export as a stream of text pieces (JSON or CSV), row by row: memory holds a page of ranges, whatever the count.
 * With a mapping of this damage (host/fsmap), every range says what it holds (JSON `holds`, CSV column `holds`).
 */
export function* exportLines(e: Entry, format: 'json' | 'csv', mapping: KeptMapping | null = null): Generator<string, number> {
  const { g, offset, spb, luks } = geometryOf(e);
  const { sources, scrub, counts } = sourcesOf(e, spb);
  const on = g.meta_dev ? 'data device' : 'image';
  const index = mapping ? holdsOf(mapping.result) : null;
  const holdsCell = (first: number, end: number) => (index ? csvCell(holdsText(index.at(first, end))) : '');
  let n = 0;
  if (format === 'csv') {
    if (luks) {
      // as dm-crypt logs them: one line per failing encryption sector (512-byte sector numbers of the dm-crypt device)
      yield 'sector,encryption_sector,kernel_log,holds\n';
      for (const r of allRanges(sources, KINDS.all)) {
        n++;
        for (let s = r.first_sector; s < r.end_sector; s += spb) yield `${s},${s / spb},"${aead(s)}",${holdsCell(s, s + spb)}\n`;
      }
      return n;
    }
    yield 'kind,first_sector,last_sector,sectors,first_block,last_block,blocks,block_size,on,first_byte,last_byte,holds\n';
    for (const r of allRanges(sources, KINDS.all)) {
      n++;
      const fb = Math.floor(r.first_sector / spb),
        blocks = Math.ceil((r.end_sector - r.first_sector) / spb);
      const holds = holdsCell(r.first_sector, r.end_sector);
      for (const [a, b] of extents(g, r.first_sector, r.end_sector)) {
        yield [
          r.kind,
          r.first_sector,
          r.end_sector - 1,
          r.end_sector - r.first_sector,
          fb,
          fb + blocks - 1,
          blocks,
          spb * 512,
          on,
          a + offset,
          b + offset,
          holds,
        ].join(',') + '\n';
      }
    }
    return n;
  }
  yield `{\n "volume": ${JSON.stringify({ name: e.name, path: e.path, data_device: e.options.data_device, type: luks ? 'luks2' : 'dm-integrity', algorithm: e.luks ? 'LUKS2' : e.options.integrity, block_size: spb * 512 })},\n`;
  yield ` "scrub": ${JSON.stringify(scrub)},\n "bad_blocks": ${counts.bad},\n "read_errors": ${counts.read},\n`;
  if (mapping) {
    const { items: _items, ...m } = mapping.result;
    yield ` "mapping": ${JSON.stringify({ mapped_at: mapping.mapped_at, ...m })},\n`;
  }
  yield ` "note": "sectors are 512 bytes${luks ? ' (of the dm-crypt device)' : ''}; every range (first_sector–last_sector, first_block–last_block, first_byte–last_byte) includes both ends${mapping ? '; holds: what the range holds in the file system (file byte ranges are [start, end))' : ''}",\n "ranges": [`;
  for (const r of allRanges(sources, KINDS.all)) {
    const fb = Math.floor(r.first_sector / spb),
      blocks = Math.ceil((r.end_sector - r.first_sector) / spb);
    const lines: string[] = [];
    if (luks) for (let s = r.first_sector; s < r.end_sector && lines.length < ROW_LINES; s += spb) lines.push(aead(s));
    yield `${n ? ',' : ''}\n  ${JSON.stringify({
      kind: r.kind,
      first_sector: r.first_sector,
      last_sector: r.end_sector - 1,
      sectors: r.end_sector - r.first_sector,
      first_block: fb,
      last_block: fb + blocks - 1,
      blocks,
      block_size: spb * 512,
      on,
      extents: extents(g, r.first_sector, r.end_sector).map(([a, b]) => ({ first_byte: a + offset, last_byte: b + offset })),
      ...(luks ? { kernel_log: lines, kernel_log_lines: blocks } : {}),
      ...(index ? index.at(r.first_sector, r.end_sector) : {}),
    })}`;
    n++;
  }
  yield `\n ],\n "ranges_total": ${n}\n}\n`;
  return n;
}

/** the export's pieces joined into chunks of about `size` characters: a million rows are a few thousand writes, not a
 *  million (a stream or an HTTP response pays per write, and its reader per chunk) */
export function* exportChunks(e: Entry, format: 'json' | 'csv', mapping: KeptMapping | null = null, size = 65536): Generator<string, number> {
  const it = exportLines(e, format, mapping);
  let piece = '';
  for (;;) {
    const step = it.next();
    if (step.done) {
      if (piece) yield piece;
      return step.value;
    }
    piece += step.value;
    if (piece.length >= size) {
      yield piece;
      piece = '';
    }
  }
}

/** Writes the export to `path` on the host, streamed (a full file system: the partial file is removed). */
export async function exportErrors(e: Entry, req: ExportErrorsRequest, mapping: KeptMapping | null = null): Promise<ExportResult> {
  const out = fs.createWriteStream(req.path, { flags: 'w', mode: 0o644 });
  let bytes = 0;
  let ranges = 0;
  try {
    const it = exportChunks(e, req.format, mapping);
    for (;;) {
      const step = it.next();
      if (step.done) {
        ranges = step.value;
        break;
      }
      bytes += Buffer.byteLength(step.value);
      if (!out.write(step.value)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  } catch (err) {
    out.destroy();
    fs.rmSync(req.path, { force: true });
    throw new IntegrityStudioError(
      `could not write ${req.path}: ${(err as Error).message}`,
      (err as NodeJS.ErrnoException).code === 'ENOSPC' ? 'ENOSPC' : 'EIO',
    );
  }
  return { path: req.path, bytes, ranges };
}
