// `verify --map-files` / `scrub --map-files`: what the bad blocks hold (engine/fsmap), read from the volume itself
// without verification — plain volumes through the dm-integrity target (volumeSource), LUKS2 ones through dm-crypt
// with the volume key (cryptSource). --json puts the FsMapResult in the report's `mapping`; the text lists the damaged
// files with their byte ranges, the structures and free space, and counts them on an "errors:" line as `zpool status`
// counts its errors (our words).
import { IntegrityStudioError } from '../engine/errors.js';
import { openVolume, type VolumeOptions } from '../engine/volume.js';
import { openCryptVolume, type CryptSegment } from '../engine/crypt/volume.js';
import { cryptSource, mapBadSectors, volumeSource, type FsMapItem, type FsMapResult, type SectorRange } from '../engine/fsmap/index.js';

/** the mapping of `ranges` on a plain volume (opened read-only here) */
export function mapPlain(device: string, o: VolumeOptions, ranges: SectorRange[]): FsMapResult {
  const vol = openVolume(device, { ...o, readOnly: true });
  try {
    return mapBadSectors(volumeSource(vol), ranges);
  } finally {
    vol.close();
  }
}

/** the mapping of `ranges` on a LUKS2 volume: its plaintext, so the volume key is needed */
export function mapCrypt(device: string, segment: CryptSegment, volumeKey: Uint8Array | null, ranges: SectorRange[]): FsMapResult {
  if (!volumeKey)
    throw new IntegrityStudioError(
      `${device}: the file system is inside the encryption: --map-files needs the volume's key (--key-file F or its passphrase)`,
      'EKEY',
    );
  const cv = openCryptVolume(device, segment, volumeKey);
  try {
    return mapBadSectors(cryptSource(cv), ranges);
  } finally {
    cv.close();
  }
}

const n = (x: number) => String(Math.round(x)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const pl = (x: number, one: string, many = `${one}s`) => `${n(x)} ${x === 1 ? one : many}`;
const sectors = (r: readonly [number, number]) => (r[1] - r[0] === 1 ? `sector ${n(r[0])}` : `sectors ${n(r[0])}–${n(r[1] - 1)}`);

/** how many byte ranges and structures' names a text listing shows per item (--json has all the mapping keeps) */
const SHOWN = 16;

function fileLines(i: Extract<FsMapItem, { kind: 'file' }>): string {
  const name = i.paths[0] ?? `<inode ${i.inode}>${i.path_error ? ` (${i.path_error})` : ''}`;
  const also =
    i.paths_total > 1 ? `; also ${i.paths.slice(1).join(', ')}${i.paths_total > i.paths.length ? ` and ${i.paths_total - i.paths.length} more` : ''}` : '';
  let out = `  ${name}  (inode ${i.inode}, ${i.file_type}, ${pl(i.size, 'byte')}${also})\n`;
  if (i.extents?.length) {
    const ex = i.extents.slice(0, SHOWN);
    for (const [a, b, byte] of ex) {
      const end = Math.min(byte + (b - a) * 512, i.size);
      out += `      bytes ${n(byte)}–${n(end - 1)}  (${sectors([a, b])})\n`;
    }
    const total = i.extents_total ?? i.extents.length;
    if (total > ex.length) out += `      … and ${pl(total - ex.length, 'range')} more (--json lists up to 256)\n`;
  } else if (i.byte_ranges.length) {
    out += `      bytes ${i.byte_ranges
      .slice(0, SHOWN)
      .map(([a, b]) => `${n(a)}–${n(b - 1)}`)
      .join(
        ', ',
      )}${i.byte_ranges_total > SHOWN ? ` … (${n(i.byte_ranges_total)} ranges)` : ''}  (${i.ranges.slice(0, 4).map(sectors).join(', ')}${i.ranges_total > 4 ? ', …' : ''})\n`;
  }
  if (!i.byte_ranges_total) out += `      ${i.meaning}\n`;
  if (i.uncertain) out += `      uncertain: ${i.uncertain}\n`;
  return out;
}

function metaLines(i: Extract<FsMapItem, { kind: 'metadata' }>): string {
  let out = `  ${i.structure}: ${i.description}  (${i.ranges.slice(0, 4).map(sectors).join(', ')}${i.ranges_total > 4 ? `, … ${n(i.ranges_total)} ranges` : ''})\n      ${i.meaning}\n`;
  if (i.owner?.paths.length) out += `      of ${i.owner.paths[0]} (inode ${i.owner.inode})\n`;
  if (i.names?.length)
    out += `      names it holds: ${i.names.slice(0, SHOWN).join(', ')}${(i.names_total ?? 0) > SHOWN ? `, … (${n(i.names_total!)} in all)` : ''}\n`;
  if (i.inodes?.length)
    out += `      inodes it holds: ${i.inodes
      .slice(0, SHOWN)
      .map((x) => `${x.inode}${x.paths[0] ? ` ${x.paths[0]}` : ''}`)
      .join(', ')}${(i.inodes_total ?? 0) > SHOWN ? `, … (${n(i.inodes_total!)} in all)` : ''}\n`;
  if (i.uncertain) out += `      uncertain: ${i.uncertain}\n`;
  return out;
}

/** The text of --map-files: the "errors:" count line, then files, structures, free space, and what could not be mapped. */
export function mappingText(m: FsMapResult): string {
  const files = m.items.filter((i): i is Extract<FsMapItem, { kind: 'file' }> => i.kind === 'file');
  const metas = m.items.filter((i): i is Extract<FsMapItem, { kind: 'metadata' }> => i.kind === 'metadata');
  const frees = m.items.filter((i) => i.kind === 'free');
  const unmapped = m.items.filter((i): i is Extract<FsMapItem, { kind: 'unmapped' }> => i.kind === 'unmapped');
  const counts = [
    m.files_damaged ? `data damaged in ${pl(m.files_damaged, 'file')}` : 'no file data damaged',
    m.metadata_items ? `${pl(m.metadata_items, 'file-system structure')} damaged` : '',
    m.free_sectors ? `${pl(m.free_sectors, 'bad sector')} in free space (harmless)` : '',
    m.unmapped_sectors ? `${pl(m.unmapped_sectors, 'bad sector')} could not be mapped` : '',
  ].filter(Boolean);
  let out = `errors: ${counts.join('; ')}\n`;
  out += `file system: ${m.fs_description}${m.fs_label ? ` "${m.fs_label}"` : ''}${m.block_size ? `, ${n(m.block_size)}-byte blocks` : ''}\n`;
  if (m.may_be_stale) out += `may be stale: ${m.may_be_stale}\n`;
  if (m.relied_on_damaged.length) out += `rests on damaged structures: ${m.relied_on_damaged.join('; ')}\n`;
  if (files.length) out += `damaged files (${n(files.length)}):\n${files.map(fileLines).join('')}`;
  if (metas.length) out += `file-system structures (${n(metas.length)}):\n${metas.map(metaLines).join('')}`;
  if (frees.length) {
    const ranges = frees.flatMap((f) => f.ranges);
    out += `free space (${pl(m.free_sectors, 'sector')}: ${ranges.slice(0, SHOWN).map(sectors).join(', ')}${ranges.length > SHOWN ? ', …' : ''}):\n      not in use by the file system: harmless; rewriting those blocks with zeros (a valid tag) clears them (the dashboard's Errors panel does it, asking first)\n`;
  }
  if (unmapped.length)
    out += `could not map:\n${unmapped.map((u) => `  ${u.reason}  (${pl(u.sectors, 'sector')}: ${u.ranges.slice(0, 4).map(sectors).join(', ')}${u.ranges_total > 4 ? ', …' : ''})\n`).join('')}`;
  return out;
}
