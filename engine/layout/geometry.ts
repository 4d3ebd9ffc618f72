// Volume geometry as the kernel computes it: calculate_journal_section_size(), calculate_device_limits(),
// get_area_and_offset(), get_data_sector(), get_metadata_sector_and_offset(), get_provided_data_sectors().
import { FormatError } from '../errors.js';
import { SB_FLAG_FIXED_PADDING, SB_FLAG_HAVE_JOURNAL_MAC, SB_SECTORS, SECTOR_SIZE, type Superblock } from './superblock.js';

export const JOURNAL_BLOCK_SECTORS = 8;
export const JOURNAL_SECTOR_DATA = SECTOR_SIZE - 8; // 504: the last 8 bytes hold the commit id
export const JOURNAL_MAC_PER_SECTOR = 8;
export const JOURNAL_MAC_SIZE = JOURNAL_MAC_PER_SECTOR * JOURNAL_BLOCK_SECTORS;
export const JOURNAL_ENTRY_ROUNDUP = 8;
export const METADATA_PADDING_SECTORS = 8;
export const DEFAULT_INTERLEAVE_SECTORS = 32768;
export const DEFAULT_BUFFER_SECTORS = 128;
export const DEFAULT_JOURNAL_SIZE_FACTOR = 7;
export const DEFAULT_MAX_JOURNAL_SECTORS = 131072;
export const MAX_TAG_SIZE = 255; // dm_integrity_ctr: "Invalid tag size" above this (u8 on the kernel side of journal)

export interface Geometry {
  readonly sectors_per_block: number;
  readonly block_size: number;
  readonly tag_size: number;
  readonly journal_entry_size: number;
  readonly journal_entries_per_sector: number;
  readonly journal_section_entries: number;
  readonly journal_section_sectors: number;
  readonly journal_sections: number;
  readonly journal_entries: number;
  /** superblock + journal, in sectors from the start of the metadata device */
  readonly initial_sectors: number;
  readonly provided_data_sectors: number;
  /** true when tags live on a separate metadata device (data is then linear on the data device) */
  readonly meta_dev: boolean;
  /** sectors of tags before each interleave area's data (1 with a meta device, as in the kernel) */
  readonly metadata_run: number;
  readonly log2_interleave_sectors: number;
  readonly log2_sectors_per_block: number;
  /** sectors the layout needs on the device that holds the data (the last data sector + 1) */
  readonly data_device_sectors_needed: number;
  /** sectors the layout needs on the device that holds superblock, journal and tags */
  readonly meta_device_sectors_needed: number;
}

/** calculate_journal_section_size() */
export function journalGeometry(tagSize: number, log2SectorsPerBlock: number, haveJournalMac: boolean) {
  const sectorsPerBlock = 1 << log2SectorsPerBlock;
  const entrySize = Math.ceil((8 + 8 * sectorsPerBlock + tagSize) / JOURNAL_ENTRY_ROUNDUP) * JOURNAL_ENTRY_ROUNDUP;
  const space = JOURNAL_SECTOR_DATA - (haveJournalMac ? JOURNAL_MAC_PER_SECTOR : 0);
  const perSector = Math.floor(space / entrySize);
  const sectionEntries = perSector * JOURNAL_BLOCK_SECTORS;
  return {
    journal_entry_size: entrySize,
    journal_entries_per_sector: perSector,
    journal_section_entries: sectionEntries,
    journal_section_sectors: (sectionEntries << log2SectorsPerBlock) + JOURNAL_BLOCK_SECTORS,
  };
}

/** metadata_run for an interleaved layout (calculate_device_limits, no meta device) */
export function metadataRun(tagSize: number, log2Interleave: number, log2SectorsPerBlock: number, fixPadding: boolean): number {
  const padding = fixPadding ? METADATA_PADDING_SECTORS * SECTOR_SIZE : SECTOR_SIZE << METADATA_PADDING_SECTORS;
  const bytes = tagSize * 2 ** (log2Interleave - log2SectorsPerBlock);
  return (Math.ceil(bytes / padding) * padding) / SECTOR_SIZE;
}

export interface LayoutParams {
  tag_size: number;
  log2_sectors_per_block: number;
  log2_interleave_sectors: number;
  journal_sections: number;
  provided_data_sectors: number;
  flags: number;
  meta_dev: boolean;
  /** log2 of the kernel's buffer_sectors, only used to size the tag area on a meta device */
  log2_buffer_sectors?: number;
}

export function computeGeometry(p: LayoutParams): Geometry {
  if (p.tag_size <= 0) throw new FormatError(`invalid tag size ${p.tag_size}`);
  const j = journalGeometry(p.tag_size, p.log2_sectors_per_block, (p.flags & SB_FLAG_HAVE_JOURNAL_MAC) !== 0);
  if (j.journal_entries_per_sector === 0) {
    throw new FormatError(`tag size ${p.tag_size} is too large: a journal entry does not fit in a journal sector`);
  }
  const initial_sectors = SB_SECTORS + j.journal_section_sectors * p.journal_sections;
  const sectors_per_block = 1 << p.log2_sectors_per_block;
  let metadata_run: number;
  let dataNeeded: number;
  let metaNeeded: number;
  if (!p.meta_dev) {
    metadata_run = metadataRun(p.tag_size, p.log2_interleave_sectors, p.log2_sectors_per_block, (p.flags & SB_FLAG_FIXED_PADDING) !== 0);
    const il = 2 ** p.log2_interleave_sectors;
    const last = p.provided_data_sectors - 1;
    const area = Math.floor(last / il);
    const offset = last - area * il;
    dataNeeded = initial_sectors + area * il + (area + 1) * metadata_run + offset + 1;
    metaNeeded = dataNeeded;
  } else {
    metadata_run = 1;
    const log2Buf = p.log2_buffer_sectors ?? 7;
    const bufBytes = SECTOR_SIZE * 2 ** log2Buf;
    const metaBytes = Math.floor(p.provided_data_sectors / sectors_per_block) * p.tag_size;
    metaNeeded = initial_sectors + Math.ceil(metaBytes / bufBytes) * 2 ** log2Buf;
    dataNeeded = p.provided_data_sectors;
  }
  return {
    sectors_per_block,
    block_size: sectors_per_block * SECTOR_SIZE,
    tag_size: p.tag_size,
    ...j,
    journal_sections: p.journal_sections,
    journal_entries: j.journal_section_entries * p.journal_sections,
    initial_sectors,
    provided_data_sectors: p.provided_data_sectors,
    meta_dev: p.meta_dev,
    metadata_run,
    log2_interleave_sectors: p.log2_interleave_sectors,
    log2_sectors_per_block: p.log2_sectors_per_block,
    data_device_sectors_needed: dataNeeded,
    meta_device_sectors_needed: metaNeeded,
  };
}

export function geometryOf(sb: Superblock, metaDev: boolean): Geometry {
  return computeGeometry({
    tag_size: sb.integrity_tag_size,
    log2_sectors_per_block: sb.log2_sectors_per_block,
    log2_interleave_sectors: sb.log2_interleave_sectors,
    journal_sections: sb.journal_sections,
    provided_data_sectors: sb.provided_data_sectors,
    flags: sb.flags,
    meta_dev: metaDev,
  });
}

/**
 * Checks that the layout fits the devices (calculate_device_limits). `metaSectors` is the size of the
 * device holding the superblock; `dataSectors` that of the data device (the same device without --data-device).
 */
export function checkDeviceLimits(g: Geometry, metaSectors: number, dataSectors: number): void {
  if (g.initial_sectors + METADATA_PADDING_SECTORS >= metaSectors || g.initial_sectors > 0xffffffff) {
    throw new FormatError(
      `device too small for the journal: superblock and ${g.journal_sections} journal sections need ${g.initial_sectors + METADATA_PADDING_SECTORS} sectors, the device has ${metaSectors}`,
    );
  }
  if (g.meta_device_sectors_needed > metaSectors) {
    throw new FormatError(
      `device is truncated: the layout needs ${g.meta_device_sectors_needed} sectors (${g.meta_device_sectors_needed * SECTOR_SIZE} bytes), the device has ${metaSectors}`,
    );
  }
  if (g.meta_dev && g.data_device_sectors_needed > dataSectors) {
    throw new FormatError(`data device is too small: provided_data_sectors is ${g.provided_data_sectors}, the data device has ${dataSectors} sectors`);
  }
}

/** get_area_and_offset() + get_data_sector(): the physical sector of a logical sector on the data device */
export function dataSector(g: Geometry, logical: number): number {
  if (g.meta_dev) return logical;
  const il = 2 ** g.log2_interleave_sectors;
  const area = Math.floor(logical / il);
  const offset = logical - area * il;
  return g.initial_sectors + area * il + (area + 1) * g.metadata_run + offset;
}

/** get_metadata_sector_and_offset() as a byte offset on the metadata device of the tag of a logical sector */
export function tagOffset(g: Geometry, logical: number): number {
  let area: number;
  let offset: number;
  if (g.meta_dev) {
    area = 0;
    offset = logical;
  } else {
    const il = 2 ** g.log2_interleave_sectors;
    area = Math.floor(logical / il);
    offset = logical - area * il;
  }
  const runStart = g.initial_sectors + area * (2 ** g.log2_interleave_sectors + g.metadata_run);
  return runStart * SECTOR_SIZE + Math.floor(offset / g.sectors_per_block) * g.tag_size;
}

/** Sectors left in the interleave area that holds `logical` (a contiguous run of data and of tags). */
export function sectorsLeftInArea(g: Geometry, logical: number): number {
  if (g.meta_dev) return g.provided_data_sectors - logical;
  const il = 2 ** g.log2_interleave_sectors;
  return il - (logical % il);
}

/**
 * get_provided_data_sectors() for an interleaved layout: greedily from the top bit down to bit 3,
 * keep each bit while the last data sector still fits in the device.
 */
export function providedDataSectors(p: Omit<LayoutParams, 'provided_data_sectors'>, deviceSectors: number, dataDeviceSectors?: number): number {
  if (p.meta_dev) {
    const spb = 1 << p.log2_sectors_per_block;
    const d = dataDeviceSectors ?? 0;
    return d - (d % spb);
  }
  let provided = 0;
  const top = Math.floor(Math.log2(deviceSectors));
  for (let bit = top; bit >= 3; bit--) {
    const trial = provided + 2 ** bit;
    const g = computeGeometry({ ...p, provided_data_sectors: trial });
    const ok = g.initial_sectors + METADATA_PADDING_SECTORS < deviceSectors && g.meta_device_sectors_needed <= deviceSectors;
    if (ok) provided = trial;
  }
  return provided;
}
