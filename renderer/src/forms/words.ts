// The host's messages are shared with the CLI; a form shows them in its own words: a CLI flag becomes the label
// of the control that sets it, and a raw system error (ENOENT … lstat '…') a sentence. Pure.
import { CREATE_LABELS } from './create-form.js';
import { LABELS } from './open-options.js';

const FLAG_LABEL: Record<string, string> = {
  size: CREATE_LABELS.sizeMiB,
  force: 'Format and erase it',
  'no-wipe': CREATE_LABELS.noWipe,
  'integrity-recalculate': CREATE_LABELS.integrityRecalculate,
  'tag-size': CREATE_LABELS.tagSize,
  'sector-size': CREATE_LABELS.sectorSize,
  'journal-size': CREATE_LABELS.journalSizeKiB,
  'interleave-sectors': CREATE_LABELS.interleaveSectors,
  'buffer-sectors': CREATE_LABELS.bufferSectors,
  'integrity-legacy-padding': CREATE_LABELS.legacyPadding,
  'integrity-legacy-hmac': CREATE_LABELS.legacyHmac,
  integrity: LABELS.integrity,
  'integrity-key-file': LABELS.integrityKey,
  'integrity-key': LABELS.integrityKey,
  'journal-integrity': LABELS.journalIntegrity,
  'journal-integrity-key-file': LABELS.journalIntegrityKey,
  'journal-integrity-key': LABELS.journalIntegrityKey,
  'journal-crypt': LABELS.journalCrypt,
  'journal-crypt-key-file': LABELS.journalCryptKey,
  'journal-crypt-key': LABELS.journalCryptKey,
  'data-device': LABELS.dataDevice,
  'allow-discards': LABELS.allowDiscards,
  'bitmap-sectors-per-bit': LABELS.bitmapSectorsPerBit,
  'bitmap-flush-time': LABELS.bitmapFlushTimeMs,
  'integrity-bitmap-mode': `${LABELS.mode} “bitmap”`,
  'integrity-no-journal': `${LABELS.mode} “direct”`,
};

export function inFormWords(message: string): string {
  let m = message.replace(/(?:\bintegrity-studio:\s*)/g, '');
  m = m.replace(/ENOENT[^']*'([^']+)'/g, (_all, p: string) => `no such file or folder: ${p} (check that its folder exists)`);
  m = m.replace(/EACCES[^']*'([^']+)'/g, (_all, p: string) => `permission denied: ${p}`);
  m = m.replace(/`?--([a-z][a-z-]*)`?/g, (all, f: string) => (FLAG_LABEL[f] ? `“${FLAG_LABEL[f]}”` : all));
  return m;
}
