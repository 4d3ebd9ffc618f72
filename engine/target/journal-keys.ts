// Journal MAC and encryption hooks. Without --journal-integrity / --journal-crypt the journal is stored
// as it is. The keyed transforms live in engine/format/journal-crypt.ts.
import { IntegrityStudioError } from '../errors.js';
import type { Volume } from '../volume.js';

export function openSections(vol: Volume, raw: Buffer): Buffer {
  if (vol.options.journalCrypt || vol.options.journalIntegrity) {
    throw new IntegrityStudioError('journal MAC / journal encryption: not wired yet');
  }
  return raw;
}

export function sealSections(vol: Volume, plain: Buffer, _section: number): Buffer {
  if (vol.options.journalCrypt || vol.options.journalIntegrity) {
    throw new IntegrityStudioError('journal MAC / journal encryption: not wired yet');
  }
  return plain;
}
