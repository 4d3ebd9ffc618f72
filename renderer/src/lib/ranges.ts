// Bad-block ranges as an administrator reads them: in blocks and 512-byte sectors with the unit named, and where
// they are in the image (byte offsets through the interleaved layout, DESIGN.md "Geometry"). Pure.
import type { GeometryInfo, SuperblockInfo, VolumeSnapshot } from '../../../engine/api.js';
import { formatCount } from './format.js';

export const SECTOR = 512;

/** get_area_and_offset() + get_data_sector(): the physical 512-byte sector of a logical data sector. With a
 *  separate metadata device the data is linear on the data device. */
export function physicalSector(
  sb: Pick<SuperblockInfo, 'log2_interleave_sectors'>,
  g: Pick<GeometryInfo, 'initial_sectors' | 'metadata_run' | 'meta_dev'>,
  logical: number,
): number {
  if (g.meta_dev) return logical;
  const il = 2 ** sb.log2_interleave_sectors;
  const area = Math.floor(logical / il);
  return g.initial_sectors + area * il + (area + 1) * g.metadata_run + (logical - area * il);
}

/** a run of bytes in the image, both ends inclusive (as first_sector / last_sector are) */
export interface ExtentInImage {
  first_byte: number;
  last_byte: number;
}

/** the byte extents in the image (or the data device) holding logical sectors [first, end), each as its first and
 *  last byte (inclusive): one per interleave
 *  area the range crosses, since each area's data follows its own run of tags */
export function imageExtents(
  sb: Pick<SuperblockInfo, 'log2_interleave_sectors'>,
  g: Pick<GeometryInfo, 'initial_sectors' | 'metadata_run' | 'meta_dev'>,
  first: number,
  end: number,
): ExtentInImage[] {
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

export function describeRange(first: number, end: number, sectorsPerBlock: number): string {
  const last = end - 1;
  const secs = first === last ? `sector ${formatCount(first)}` : `sectors ${formatCount(first)}–${formatCount(last)}`;
  if (sectorsPerBlock <= 1) return secs;
  const b0 = Math.floor(first / sectorsPerBlock),
    b1 = Math.floor(last / sectorsPerBlock);
  return `${b0 === b1 ? `block ${formatCount(b0)}` : `blocks ${formatCount(b0)}–${formatCount(b1)}`} (${secs})`;
}

export function sectorsPerBlock(v: Pick<VolumeSnapshot, 'superblock' | 'geometry'>): number {
  if (v.superblock) return 2 ** v.superblock.log2_sectors_per_block;
  return v.geometry ? v.geometry.block_size / SECTOR : 1;
}
