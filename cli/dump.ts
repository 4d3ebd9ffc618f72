// dump and status text as integritysetup prints them, in the 2.6 or the 2.8 wording (--format-version, or
// $INTEGRITY_STUDIO_FORMAT_VERSION). 2.6: cryptsetup 2.6.1's INTEGRITY_dump / action_status; 2.8: 2.8.8's, which
// print sizes with their units ("[512-byte units] (… [bytes])"). Both checked against the binaries (golden sets).
import type { VolumeMode } from '../engine/api.js';
import { IntegrityStudioError } from '../engine/errors.js';
import { flagNames, SB_FLAG_INLINE, SB_FLAG_RECALCULATING, SECTOR_SIZE, type Superblock } from '../engine/layout/superblock.js';
import { FileDevice } from '../engine/io/device.js';
import { readSuperblock, type Volume } from '../engine/volume.js';
import { intOpt, str, type Values } from './args.js';

export type FormatVersion = '2.6' | '2.8';

/** --format-version 2.6|2.8 (also 2.6.1, 2.8.8 …); default 2.6, the wording the 6.1-era tools print. */
export function formatVersion(v: Values): FormatVersion {
  const s = str(v, 'format-version') ?? process.env.INTEGRITY_STUDIO_FORMAT_VERSION ?? '2.6';
  const m = /^2\.(6|8)(\.\d+)?$/.exec(s);
  if (!m) throw new IntegrityStudioError(`--format-version takes 2.6 or 2.8 (the integritysetup whose output to print), not "${s}"`);
  return `2.${m[1]}` as FormatVersion;
}

/** integritysetup dump (lib/integrity/integrity.c INTEGRITY_dump) */
export function dumpText(device: string, sb: Superblock, ver: FormatVersion = '2.6'): string {
  const sectorSize = SECTOR_SIZE << sb.log2_sectors_per_block;
  const recalc = sb.version >= 2 && (sb.flags & SB_FLAG_RECALCULATING) !== 0;
  const flags = flagNames(sb.flags)
    .map((f) => `${f} `)
    .join('');
  if (ver === '2.6') {
    const lines = [
      `Info for integrity device ${device}.`,
      `superblock_version ${sb.version}`,
      `log2_interleave_sectors ${sb.log2_interleave_sectors}`,
      `integrity_tag_size ${sb.integrity_tag_size}`,
      `journal_sections ${sb.journal_sections}`,
      `provided_data_sectors ${sb.provided_data_sectors}`,
      `sector_size ${sectorSize}`,
    ];
    if (recalc) lines.push(`recalc_sector ${sb.recalc_sector}`);
    lines.push(`log2_blocks_per_bitmap ${sb.log2_blocks_per_bitmap_bit}`);
    lines.push(`flags ${flags}`);
    return lines.join('\n') + '\n';
  }
  const lines = [
    `INTEGRITY header information for ${device}.`,
    `version: ${sb.version}`,
    `tag size: ${sb.integrity_tag_size} [bytes]`,
    `sector size: ${sectorSize} [bytes]`,
    `data size: ${sb.provided_data_sectors} [512-byte units] (${sb.provided_data_sectors * SECTOR_SIZE} [bytes])`,
  ];
  if (recalc) lines.push(`recalculate sector: ${sb.recalc_sector}`);
  lines.push(`journal sections: ${sb.journal_sections}`);
  lines.push(`log2 interleave sectors: ${sb.log2_interleave_sectors}`);
  lines.push(`log2 blocks per bitmap: ${sb.log2_blocks_per_bitmap_bit}`);
  // both print the flags in flagNames' order (have_journal_mac recalculating dirty_bitmap fix_padding fix_hmac inline)
  lines.push(`flags: ${flags}`);
  return lines.join('\n') + '\n';
}

export interface StatusFacts {
  device: string;
  dataDevice: string | null;
  integrity: string;
  tagSize: number;
  sectorSize: number;
  interleaveSectors: number;
  sizeSectors: number;
  mode: VolumeMode | 'inline';
  journalBytes: number;
  journalWatermark: number;
  journalCommitTime: number;
  journalIntegrity?: string;
  journalCrypt?: string;
  bitmapSectorsPerBit: number;
  bitmapFlushTime: number;
  discards: boolean;
}

/** hmac-sha256 → hmac(sha256), ctr-aes → ctr(aes): the kernel's names, as integritysetup status prints them */
export function kernelAlgName(alg: string): string {
  const m = /^([a-z0-9]+)-(.+)$/.exec(alg);
  if (!m || !['hmac', 'ctr', 'cbc', 'xts', 'ecb'].includes(m[1]!)) return alg;
  return `${m[1]}(${m[2]})`;
}

/**
 * integritysetup status's lines for a volume (src/integritysetup.c action_status), as far as they come from the
 * disk and the open options. Not printed: "mode" (read-only here) and "failures" (the kernel's counter of the
 * active device; `verify` counts ours). The first line says what we are looking at: an image, not an active device.
 */
export function statusText(f: StatusFacts, ver: FormatVersion): string {
  const u = (n: number | string, unit: string, old: string) => (ver === '2.8' ? `${n} [${unit}]` : `${n}${old}`);
  const lines = [
    `${f.device} is a dm-integrity volume (not an active device; integritysetup ${ver} status fields).`,
    '  type:    INTEGRITY',
    `  tag size: ${u(f.tagSize, 'bytes', '')}`,
    `  integrity: ${kernelAlgName(f.integrity)}`,
    `  device:  ${f.dataDevice ?? f.device}${f.dataDevice ? ' (detached)' : ''}`,
  ];
  if (f.dataDevice) lines.push(`  metadata device:  ${f.device}`);
  lines.push(`  sector size:  ${u(f.sectorSize, 'bytes', ' bytes')}`);
  lines.push(`  interleave sectors: ${f.interleaveSectors}`);
  lines.push(ver === '2.8' ? `  size:    ${f.sizeSectors} [512-byte units] (${f.sizeSectors * SECTOR_SIZE} [bytes])` : `  size:    ${f.sizeSectors} sectors`);
  if (f.mode === 'bitmap') {
    lines.push(`  bitmap 512-byte sectors per bit: ${f.bitmapSectorsPerBit}`);
    lines.push(`  bitmap flush interval: ${u(f.bitmapFlushTime, 'ms', ' ms')}`);
  }
  if (f.mode === 'inline' && ver === '2.8') lines.push('  inline mode');
  if (f.mode !== 'journal') lines.push('  journal: not active');
  else {
    lines.push(`  journal size: ${u(f.journalBytes, 'bytes', ' bytes')}`);
    lines.push(`  journal watermark: ${f.journalWatermark}%`);
    lines.push(`  journal commit time: ${u(f.journalCommitTime, 'ms', ' ms')}`);
    if (f.journalIntegrity) lines.push(`  journal integrity MAC: ${kernelAlgName(f.journalIntegrity)}`);
    if (f.journalCrypt) lines.push(`  journal encryption: ${kernelAlgName(f.journalCrypt)}`);
  }
  if (f.discards) lines.push('  flags: discards ');
  return lines.join('\n') + '\n';
}

/** the options dump and status take beyond the open options */
export const DUMP_OPTIONS = { 'format-version': { type: 'string' as const } };

/** The superblock alone (dump): no size checks, no data device needed, 0 bytes written. */
export function readSuperblockOf(device: string): Superblock {
  const dev = FileDevice.open(device, { readOnly: true });
  try {
    return readSuperblock(dev);
  } finally {
    dev.close();
  }
}

/** What status prints of an opened volume and its open options (defaults as the kernel's). */
export function statusFacts(vol: Volume, v: Values): StatusFacts {
  const g = vol.geometry;
  const o = vol.options;
  const num = (name: string, dflt: number) => intOpt(v, name) ?? dflt;
  return {
    device: vol.path,
    dataDevice: vol.dataPath,
    integrity: vol.hasher.algorithm,
    tagSize: vol.sb.integrity_tag_size,
    sectorSize: g.block_size,
    interleaveSectors: g.meta_dev ? 1 : 2 ** vol.sb.log2_interleave_sectors,
    sizeSectors: vol.sb.provided_data_sectors,
    mode: vol.sb.flags & SB_FLAG_INLINE ? 'inline' : (o.mode ?? 'journal'),
    journalBytes: g.journal_sections * g.journal_section_sectors * SECTOR_SIZE,
    journalWatermark: num('journal-watermark', 50),
    journalCommitTime: num('journal-commit-time', 10000),
    journalIntegrity: o.journalIntegrity,
    journalCrypt: o.journalCrypt,
    bitmapSectorsPerBit: num('bitmap-sectors-per-bit', 32768),
    bitmapFlushTime: num('bitmap-flush-time', 10000),
    discards: !!o.allowDiscards,
  };
}
