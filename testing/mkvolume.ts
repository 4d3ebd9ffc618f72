// Test helper: a fresh volume as `integritysetup format` + the kernel's first activation leave it, made by the
// product's formatter (engine/commands/format.ts: superblock version 5 with fix_padding and fix_hmac, a random
// salt, the journal init_journal(0, N, 0) writes, every block zeroed with its tag). Kept as a short name for
// tests that need a volume made on the host; an existing file at `path` is replaced.
import fs from 'node:fs';
import { formatVolume } from '../engine/commands/format.js';
import { openWritable } from '../engine/integrity/writable.js';
import type { VolumeOptions } from '../engine/volume.js';

export interface MkVolumeOptions extends VolumeOptions {
  sizeBytes: number;
  tagSize: number;
  interleaveSectors?: number;
  /** bytes of journal; default 1/128 of the device, as integritysetup */
  journalBytes?: number;
}

export function mkVolume(path: string, o: MkVolumeOptions): void {
  fs.rmSync(path, { force: true });
  formatVolume(path, {
    size: o.sizeBytes,
    tagSize: o.tagSize,
    interleaveSectors: o.interleaveSectors,
    journalSize: o.journalBytes,
    integrity: o.integrity,
    integrityKey: o.integrityKey,
    journalIntegrity: o.journalIntegrity,
    journalIntegrityKey: o.journalIntegrityKey,
    journalCrypt: o.journalCrypt,
    journalCryptKey: o.journalCryptKey,
    mode: o.mode,
  });
}

/**
 * A bitmap-mode volume a crash left dirty: formatted with `sizeBytes`, opened in bitmap mode with `sectorsPerBit`,
 * 4 KiB written at each byte offset of `writes` and flushed, then the process "dies" (the metadata device is closed
 * without the clean close), so the bitmap and the superblock's dirty_bitmap flag stay set.
 */
export function mkDirtyBitmapVolume(path: string, sizeBytes: number, sectorsPerBit: number, writes: number[]): void {
  fs.rmSync(path, { force: true });
  formatVolume(path, { size: sizeBytes });
  const w = openWritable(path, { mode: 'bitmap', bitmapSectorsPerBit: sectorsPerBit });
  for (const at of writes) w.write(at, Buffer.alloc(4096, 7));
  w.flush();
  w.meta.close();
}
