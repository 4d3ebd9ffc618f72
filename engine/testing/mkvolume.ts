// Test helper: a fresh volume laid out as `integritysetup format` lays it out (superblock version 5 with
// fix_padding and fix_hmac, a random salt, the journal initialised with commit seq 0 as dm_integrity_ctr's
// init_journal does, every block zeroed with its tag as the format wipe leaves it). Only for tests that need a
// volume made on the host before a kernel round trip; the product's formatter is engine/format/format.ts.
import fs from 'node:fs';
import crypto from 'node:crypto';
import { SB_FLAG_FIXED_HMAC, SB_FLAG_FIXED_PADDING, SB_FLAG_HAVE_JOURNAL_MAC, SECTOR_SIZE, superblockVersion, type Superblock } from '../format/superblock.js';
import { computeGeometry, journalGeometry, providedDataSectors } from '../format/geometry.js';
import { openVolume, superblockBytes, type VolumeOptions } from '../volume.js';
import { initJournal } from '../target/replay.js';
import { writeInPlace } from '../target/write.js';

export interface MkVolumeOptions extends VolumeOptions {
  sizeBytes: number;
  tagSize: number;
  interleaveSectors?: number;
  /** bytes of journal; default 1/128 of the device, as integritysetup */
  journalBytes?: number;
}

export function mkVolume(path: string, o: MkVolumeOptions): void {
  const sectors = o.sizeBytes / SECTOR_SIZE;
  fs.writeFileSync(path, Buffer.alloc(0));
  fs.truncateSync(path, o.sizeBytes);
  const flags = SB_FLAG_FIXED_PADDING | SB_FLAG_FIXED_HMAC | (o.journalIntegrity ? SB_FLAG_HAVE_JOURNAL_MAC : 0);
  const log2il = Math.log2(o.interleaveSectors ?? 32768);
  const j = journalGeometry(o.tagSize, 0, !!o.journalIntegrity);
  const journalSectors = Math.min(131072, (o.journalBytes ?? o.sizeBytes / 128) / SECTOR_SIZE);
  const journal_sections = Math.max(1, Math.floor(journalSectors / j.journal_section_sectors));
  const params = { tag_size: o.tagSize, log2_sectors_per_block: 0, log2_interleave_sectors: log2il, journal_sections, flags, meta_dev: false };
  const provided = providedDataSectors(params, sectors);
  computeGeometry({ ...params, provided_data_sectors: provided });
  const sb: Superblock = {
    version: superblockVersion(flags, false, false),
    log2_interleave_sectors: log2il,
    integrity_tag_size: o.tagSize,
    journal_sections,
    provided_data_sectors: provided,
    flags,
    log2_sectors_per_block: 0,
    log2_blocks_per_bitmap_bit: 15,
    recalc_sector: 0,
    salt: crypto.randomBytes(16),
  };
  const fd = fs.openSync(path, 'r+');
  fs.writeSync(fd, superblockBytes(sb, o), 0, 4096, 0);
  fs.closeSync(fd);
  const vol = openVolume(path, { ...o, readOnly: false, superblockOnly: true });
  try {
    initJournal(vol, 0, journal_sections, 0);
    const zeros = Buffer.alloc(1 << 20);
    for (let s = 0; s < provided; s += zeros.length / SECTOR_SIZE) {
      const n = Math.min(zeros.length / SECTOR_SIZE, provided - s);
      writeInPlace(vol.target, s, zeros.subarray(0, n * SECTOR_SIZE));
    }
    vol.meta.flush();
  } finally {
    vol.close();
  }
}
