// Test helper: a fresh volume as `integritysetup format` + the kernel's first activation leave it, made by the
// product's formatter (engine/commands/format.ts: superblock version 5 with fix_padding and fix_hmac, a random
// salt, the journal init_journal(0, N, 0) writes, every block zeroed with its tag). Kept as a short name for
// tests that need a volume made on the host; an existing file at `path` is replaced.
import fs from 'node:fs';
import { formatVolume } from '../commands/format.js';
import type { VolumeOptions } from '../volume.js';

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
