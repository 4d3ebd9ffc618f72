// The `integritysetup open …` command (quoted for a POSIX shell) and the dm table line equivalent to a volume
// and its open options: every option the kernel needs, in the order and with the crypto API names that
// dm_integrity_status(STATUSTYPE_TABLE) prints them (`dmsetup table`). Keys never appear: placeholders only.
import { SB_FLAG_FIXED_HMAC, SB_FLAG_FIXED_PADDING, SB_FLAG_RECALCULATING, SB_SECTORS, type Superblock } from '../engine/layout/superblock.js';
import type { Geometry } from '../engine/layout/geometry.js';
import { algorithmInfo } from '../engine/hash/index.js';
import type { OpenOptionsInfo } from '../engine/api.js';

/** The kernel's defaults that integritysetup passes on (dm-integrity.c DEFAULT_*) */
export const DEFAULT_BUFFER_SECTORS = 128;
export const DEFAULT_JOURNAL_WATERMARK = 50;
export const DEFAULT_COMMIT_TIME_MS = 10000;
export const DEFAULT_BITMAP_FLUSH_MS = 10000;

/** One word for a POSIX shell: left bare when it has no special character, else single-quoted. */
export function shellQuote(s: string): string {
  if (s === '') return "''";
  return /^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** integritysetup's cipher/hash name (ctr-aes, hmac-sha256) → the kernel crypto API's (ctr(aes), hmac(sha256)),
 *  as crypt_parse_hash_integrity_mode / INTEGRITY_create_dmd do */
export function kernelCryptoName(name: string): string {
  try {
    return algorithmInfo(name).kernelName;
  } catch {
    const m = /^([a-z0-9]+)-([a-z0-9]+)$/.exec(name);
    return m ? `${m[1]}(${m[2]})` : name;
  }
}

const fls = (n: number) => 31 - Math.clz32(n);
const ffs = (n: number) => (n ? 31 - Math.clz32(n & -n) : 31);

export interface CommandInput {
  path: string;
  name: string;
  options: OpenOptionsInfo;
  /** key lengths in bytes of the keys the host holds (for --*-key-size); absent when not held */
  keySizes: { integrity?: number; journalIntegrity?: number; journalCrypt?: number };
  /** buffer_sectors given at create (integritysetup --buffer-sectors), else the default */
  bufferSectors?: number | null;
}

export function openCommand(v: CommandInput, sb: Superblock): string {
  const o = v.options;
  const w: string[] = ['integritysetup', 'open', shellQuote(v.path), shellQuote(v.name)];
  const opt = (...words: string[]) => w.push(...words.map(shellQuote));
  if (o.data_device) opt('--data-device', o.data_device);
  if (o.integrity !== 'crc32c') opt('--integrity', o.integrity);
  if (algorithmInfo(o.integrity).keyed) {
    opt('--integrity-key-file', 'INTEGRITY_KEY_FILE');
    if (v.keySizes.integrity) opt('--integrity-key-size', String(v.keySizes.integrity));
  }
  if (o.journal_integrity) {
    opt('--journal-integrity', o.journal_integrity, '--journal-integrity-key-file', 'JOURNAL_INTEGRITY_KEY_FILE');
    if (v.keySizes.journalIntegrity) opt('--journal-integrity-key-size', String(v.keySizes.journalIntegrity));
  }
  if (o.journal_crypt) {
    opt('--journal-crypt', o.journal_crypt, '--journal-crypt-key-file', 'JOURNAL_CRYPT_KEY_FILE');
    if (v.keySizes.journalCrypt) opt('--journal-crypt-key-size', String(v.keySizes.journalCrypt));
  }
  if (o.mode === 'bitmap') {
    opt('--integrity-bitmap-mode');
    if (o.bitmap_sectors_per_bit) opt('--bitmap-sectors-per-bit', String(o.bitmap_sectors_per_bit));
    if (o.bitmap_flush_time_ms) opt('--bitmap-flush-time', String(o.bitmap_flush_time_ms));
  } else if (o.mode === 'direct') opt('--integrity-no-journal');
  if (v.bufferSectors && v.bufferSectors !== DEFAULT_BUFFER_SECTORS) opt('--buffer-sectors', String(v.bufferSectors));
  if (o.allow_discards) opt('--allow-discards');
  if (sb.flags & SB_FLAG_RECALCULATING) opt('--integrity-recalculate');
  return w.join(' ');
}

/** dm_integrity_status(STATUSTYPE_TABLE): the table line `dmsetup table` prints for this volume */
export function dmTable(v: CommandInput, sb: Superblock, g: Geometry): string {
  const o = v.options;
  const args: string[] = [];
  if (o.data_device) args.push(`meta_device:${v.path}`);
  if (g.sectors_per_block !== 1) args.push(`block_size:${g.block_size}`);
  if (sb.flags & SB_FLAG_RECALCULATING) args.push('recalculate');
  if (o.allow_discards) args.push('allow_discards');
  args.push(`journal_sectors:${g.initial_sectors - SB_SECTORS}`);
  args.push(`interleave_sectors:${2 ** sb.log2_interleave_sectors}`);
  // ic->log2_buffer_sectors = min3(__fls(buffer_sectors), __ffs(ic->metadata_run), 31 - SECTOR_SHIFT)
  const log2Buffer = Math.min(fls(v.bufferSectors || DEFAULT_BUFFER_SECTORS), g.meta_dev ? 31 : ffs(g.metadata_run), 31 - 9);
  args.push(`buffer_sectors:${2 ** log2Buffer}`);
  if (o.mode === 'journal') args.push(`journal_watermark:${DEFAULT_JOURNAL_WATERMARK}`, `commit_time:${DEFAULT_COMMIT_TIME_MS}`);
  if (o.mode === 'bitmap') {
    const spbit = o.bitmap_sectors_per_bit ?? g.sectors_per_block * 2 ** sb.log2_blocks_per_bitmap_bit;
    args.push(`sectors_per_bit:${spbit}`, `bitmap_flush_interval:${o.bitmap_flush_time_ms ?? DEFAULT_BITMAP_FLUSH_MS}`);
  }
  if (sb.flags & SB_FLAG_FIXED_PADDING) args.push('fix_padding');
  if (sb.flags & SB_FLAG_FIXED_HMAC) args.push('fix_hmac');
  // EMIT_ALG: internal_hash, journal_crypt, journal_mac, each with its key (hex) when it has one
  args.push(`internal_hash:${kernelCryptoName(o.integrity)}${algorithmInfo(o.integrity).keyed ? ':<key>' : ''}`);
  if (o.journal_crypt) args.push(`journal_crypt:${kernelCryptoName(o.journal_crypt)}:<key>`);
  if (o.journal_integrity) args.push(`journal_mac:${kernelCryptoName(o.journal_integrity)}:<key>`);
  const mode = o.mode === 'bitmap' ? 'B' : o.mode === 'direct' ? 'D' : 'J';
  return `0 ${sb.provided_data_sectors} integrity ${o.data_device ?? v.path} 0 ${sb.integrity_tag_size} ${mode} ${args.length} ${args.join(' ')}`;
}
