// Bad-block ranges as an administrator reads them: in blocks and 512-byte sectors with the unit named, and where
// they are in the image (byte offsets through the interleaved layout, DESIGN.md "Geometry"). Pure.
import type { GeometryInfo, SuperblockInfo, VolumeSnapshot } from '../../../engine/api.js';
import { formatCount } from './format.js';

export const SECTOR = 512;

/** get_area_and_offset() + get_data_sector(): the physical 512-byte sector of a logical data sector. With a
 *  separate metadata device the data is linear on the data device. */
export function physicalSector(sb: Pick<SuperblockInfo, 'log2_interleave_sectors'>, g: Pick<GeometryInfo, 'initial_sectors' | 'metadata_run' | 'meta_dev'>, logical: number): number {
  if (g.meta_dev) return logical;
  const il = 2 ** sb.log2_interleave_sectors;
  const area = Math.floor(logical / il);
  return g.initial_sectors + area * il + (area + 1) * g.metadata_run + (logical - area * il);
}

/** a run of bytes in the image, both ends inclusive (as first_sector / last_sector are) */
export interface ExtentInImage { first_byte: number; last_byte: number }

/** the byte extents in the image (or the data device) holding logical sectors [first, end), each as its first and
 *  last byte (inclusive): one per interleave
 *  area the range crosses, since each area's data follows its own run of tags */
export function imageExtents(sb: Pick<SuperblockInfo, 'log2_interleave_sectors'>, g: Pick<GeometryInfo, 'initial_sectors' | 'metadata_run' | 'meta_dev'>, first: number, end: number): ExtentInImage[] {
  const out: ExtentInImage[] = [];
  const il = 2 ** sb.log2_interleave_sectors;
  let s = first;
  while (s < end) {
    const areaEnd = g.meta_dev ? end : Math.min(end, (Math.floor(s / il) + 1) * il);
    const p = physicalSector(sb, g, s);
    out.push({ first_byte: p * SECTOR, last_byte: (p + (areaEnd - s)) * SECTOR - 1 });
    s = areaEnd;
  }
  return out;
}

export interface ErrorRow {
  kind: 'bad' | 'read-error';
  first_sector: number;
  last_sector: number;
  sectors: number;
  first_block: number;
  last_block: number;
  blocks: number;
  block_size: number;
  /** where the data is: byte offsets in the image (or in the data device, `on`) */
  on: 'image' | 'data device';
  extents: ExtentInImage[];
  /** "sector 100", "sectors 100–107", "block 10 (sectors 80–87)", "blocks 10–11 (sectors 80–95)" */
  text: string;
}

export function describeRange(first: number, end: number, sectorsPerBlock: number): string {
  const last = end - 1;
  const secs = first === last ? `sector ${formatCount(first)}` : `sectors ${formatCount(first)}–${formatCount(last)}`;
  if (sectorsPerBlock <= 1) return secs;
  const b0 = Math.floor(first / sectorsPerBlock), b1 = Math.floor(last / sectorsPerBlock);
  return `${b0 === b1 ? `block ${formatCount(b0)}` : `blocks ${formatCount(b0)}–${formatCount(b1)}`} (${secs})`;
}

export function sectorsPerBlock(v: Pick<VolumeSnapshot, 'superblock' | 'geometry'>): number {
  if (v.superblock) return 2 ** v.superblock.log2_sectors_per_block;
  return v.geometry ? v.geometry.block_size / SECTOR : 1;
}

export function errorRows(v: Pick<VolumeSnapshot, 'superblock' | 'geometry' | 'bad_ranges' | 'verification' | 'data_device'>): ErrorRow[] {
  const spb = sectorsPerBlock(v);
  const rows: ErrorRow[] = [];
  const add = (kind: ErrorRow['kind'], [first, end]: [number, number]) => {
    const first_block = Math.floor(first / spb), last_block = Math.floor((end - 1) / spb);
    rows.push({
      kind, first_sector: first, last_sector: end - 1, sectors: end - first, first_block, last_block, blocks: last_block - first_block + 1,
      block_size: spb * SECTOR, on: v.geometry?.meta_dev ? 'data device' : 'image',
      extents: v.superblock && v.geometry ? imageExtents(v.superblock, v.geometry, first, end) : [],
      text: describeRange(first, end, spb),
    });
  };
  for (const r of v.bad_ranges) add('bad', r);
  for (const r of v.verification?.read_error_ranges ?? []) add('read-error', r);
  return rows;
}

export function errorsJson(v: VolumeSnapshot): string {
  return JSON.stringify({
    volume: { name: v.name, path: v.path, data_device: v.data_device, algorithm: v.algorithm, block_size: sectorsPerBlock(v) * SECTOR },
    scrub: { started_at: v.verification.started_at, finished_at: v.verification.finished_at, state: v.verification.scrub, checked_blocks: v.verification.checked_blocks, total_blocks: v.verification.total_blocks },
    bad_blocks: v.error_count,
    read_errors: v.verification.read_errors,
    note: 'sectors are 512 bytes; every range (first_sector–last_sector, first_block–last_block, first_byte–last_byte) includes both ends',
    ranges: errorRows(v).map(({ text: _t, ...r }) => r),
  }, null, 2) + '\n';
}

export function errorsCsv(v: VolumeSnapshot): string {
  const head = 'kind,first_sector,last_sector,sectors,first_block,last_block,blocks,block_size,on,first_byte,last_byte';
  const lines = errorRows(v).flatMap((r) => (r.extents.length ? r.extents : [{ first_byte: NaN, last_byte: NaN }]).map((x) =>
    [r.kind, r.first_sector, r.last_sector, r.sectors, r.first_block, r.last_block, r.blocks, r.block_size, r.on, Number.isNaN(x.first_byte) ? '' : x.first_byte, Number.isNaN(x.last_byte) ? '' : x.last_byte].join(',')));
  return [head, ...lines].join('\n') + '\n';
}
