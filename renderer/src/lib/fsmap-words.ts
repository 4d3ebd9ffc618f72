// The words for what known damage holds (the host's DamageMapSummary and FsMapItems, issue 20): the count line the
// status and the volume list show (as `zpool status` counts "data errors" in files), and each item's lines. Pure.
import type { DamageMapSummary, FsMapItem, SectorRange } from '../../../engine/api.js';
import { formatCount, plural } from './format.js';

/** "sector 10" / "sectors 10–17" (512-byte sectors, both ends included) */
export function sectorWords(r: SectorRange): string {
  return r[1] - r[0] === 1 ? `sector ${formatCount(r[0])}` : `sectors ${formatCount(r[0])}–${formatCount(r[1] - 1)}`;
}

/** "bytes 5,120–5,631" from a half-open [start, end) byte range */
export function byteWords(r: readonly [number, number]): string {
  return `bytes ${formatCount(r[0])}–${formatCount(r[1] - 1)}`;
}

/** what the counts say, in the status line's words: "data errors in 3 files; 2 file-system structures damaged; …" */
export function mapCounts(m: DamageMapSummary): string {
  const parts = [
    m.files_damaged ? `data errors in ${plural(m.files_damaged, 'file')}` : 'no file data damaged',
    m.metadata_items ? `${plural(m.metadata_items, 'file-system structure')} damaged` : '',
    m.free_sectors ? `${plural(m.free_sectors, 'bad sector')} in free space (harmless)` : '',
    m.unmapped_sectors ? `${plural(m.unmapped_sectors, 'bad sector')} not mapped` : '',
  ];
  return parts.filter(Boolean).join('; ');
}

/** The status panel's Errors line; null when there is no known damage. */
export function errorsLine(m: DamageMapSummary | null | undefined): string | null {
  if (!m || m.state === 'none') return null;
  switch (m.state) {
    case 'mapped':
      return m.fs ? mapCounts(m) : `not mapped to files: ${m.fs_description}`;
    case 'outdated':
      return `${m.fs ? mapCounts(m) : m.fs_description} when last mapped; the known damage changed since${m.reason ? ` (${m.reason})` : ': mapping again'}`;
    case 'mapping':
      return 'finding which files and structures hold the bad blocks…';
    case 'pending':
      return 'not mapped to files yet';
    case 'unavailable':
      return `not mapped to files: ${m.reason}`;
    case 'failed':
      return `could not map the bad blocks to files: ${m.reason}`;
  }
}

/** The volume list's "Damaged files" cell. */
export function damagedFilesCell(m: DamageMapSummary | null | undefined): { text: string; title: string } {
  if (!m || m.state === 'none') return { text: '—', title: 'no known damage' };
  if (m.state === 'mapped' || m.state === 'outdated') {
    if (!m.fs) return { text: 'no file system', title: m.fs_description };
    return { text: `${formatCount(m.files_damaged)}${m.state === 'outdated' ? ' (old)' : ''}`, title: mapCounts(m) };
  }
  if (m.state === 'mapping') return { text: 'mapping…', title: 'finding which files hold the bad blocks' };
  if (m.state === 'pending') return { text: 'not mapped', title: 'open the volume to map its bad blocks to files' };
  return { text: m.state === 'failed' ? 'could not map' : 'not mapped', title: m.reason ?? '' };
}

/** "ext4 (…) · 4,096-byte blocks · mapped 2026-… in 0.4 s" */
export function fsWords(m: DamageMapSummary): string {
  return `${m.fs_description}${m.block_size ? ` · ${formatCount(m.block_size)}-byte blocks` : ''}`;
}

/** a file's hard links beyond the first path: "also /a, /b (and 3 more)" */
export function alsoWords(paths: string[], total: number): string {
  if (total <= 1) return '';
  const more = total - paths.length;
  return `also ${paths.slice(1).join(', ')}${more > 0 ? ` (and ${formatCount(more)} more)` : ''}`;
}

/** a label for an item (its first path, its structure, free space, or why it could not be mapped) */
export function itemLabel(i: FsMapItem): string {
  switch (i.kind) {
    case 'file':
      return i.paths[0] ?? `inode ${i.inode} (no path found${i.path_error ? `: ${i.path_error}` : ''})`;
    case 'metadata':
      return i.description;
    case 'free':
      return 'free space';
    case 'unmapped':
      return i.reason;
  }
}
