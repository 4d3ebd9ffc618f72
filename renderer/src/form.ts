// The create-volume form: its defaults, the kernel's limits checked before submit (dm_integrity_ctr and
// integritysetup's), and the equivalent `integritysetup format …` command line. Pure: no DOM.
import type { CreateVolumeRequest, VolumeMode } from '../../engine/api.js';

export interface CreateForm {
  path: string;
  sizeMiB: string;
  name: string;
  integrity: string;
  integrityKeyHex: string;
  tagSize: string;
  sectorSize: string;
  journalSizeKiB: string;
  interleaveSectors: string;
  bufferSectors: string;
  dataDevice: string;
  noWipe: boolean;
  integrityRecalculate: boolean;
  legacyPadding: boolean;
  legacyHmac: boolean;
  journalIntegrity: string;
  journalIntegrityKeyHex: string;
  journalCrypt: string;
  journalCryptKeyHex: string;
  mode: VolumeMode;
  force: boolean;
}

export const DEFAULT_FORM: CreateForm = {
  path: '', sizeMiB: '64', name: '', integrity: 'crc32c', integrityKeyHex: '', tagSize: '', sectorSize: '512',
  journalSizeKiB: '', interleaveSectors: '', bufferSectors: '', dataDevice: '', noWipe: false, integrityRecalculate: false,
  legacyPadding: false, legacyHmac: false, journalIntegrity: '', journalIntegrityKeyHex: '', journalCrypt: '',
  journalCryptKeyHex: '', mode: 'journal', force: false,
};

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
const int = (s: string) => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : NaN);

/** field → one line naming the problem; empty when the form can be submitted */
export function validateForm(f: CreateForm): Partial<Record<keyof CreateForm, string>> {
  const e: Partial<Record<keyof CreateForm, string>> = {};
  if (!f.path.trim()) e.path = 'Image path is required';
  if (f.sizeMiB.trim()) {
    const n = int(f.sizeMiB);
    if (!(n >= 1)) e.sizeMiB = 'Size must be a whole number of MiB, at least 1';
  }
  if (f.tagSize.trim()) {
    const n = int(f.tagSize);
    if (!(n >= 1 && n <= 255)) e.tagSize = 'Tag size must be 1 to 255 bytes (the kernel limit)';
  }
  const ss = int(f.sectorSize);
  if (!(ss >= 512 && ss <= 4096 && isPow2(ss))) e.sectorSize = 'Sector size must be a power of two from 512 to 4096';
  if (f.interleaveSectors.trim()) {
    const n = int(f.interleaveSectors);
    if (!(n >= 8 && n <= 2 ** 31 && isPow2(n))) e.interleaveSectors = 'Interleave sectors must be a power of two from 8 to 2147483648';
  }
  if (f.bufferSectors.trim()) {
    const n = int(f.bufferSectors);
    if (!(n >= 1)) e.bufferSectors = 'Buffer sectors must be a positive whole number';
  }
  if (f.journalSizeKiB.trim()) {
    const n = int(f.journalSizeKiB);
    if (!(n >= 4)) e.journalSizeKiB = 'Journal size must be a whole number of KiB, at least 4';
  }
  const hexOk = (s: string) => /^([0-9a-fA-F]{2})*$/.test(s);
  if (!hexOk(f.integrityKeyHex)) e.integrityKeyHex = 'Key must be hex digits (whole bytes)';
  if (f.integrity.startsWith('hmac-') && !f.integrityKeyHex) e.integrityKeyHex = `${f.integrity} needs a key`;
  if (!f.integrity.startsWith('hmac-') && f.integrityKeyHex) e.integrityKeyHex = `${f.integrity} takes no key`;
  if (!hexOk(f.journalIntegrityKeyHex)) e.journalIntegrityKeyHex = 'Key must be hex digits (whole bytes)';
  if (f.journalIntegrity && !f.journalIntegrityKeyHex) e.journalIntegrityKeyHex = 'Journal integrity needs a key';
  if (!hexOk(f.journalCryptKeyHex)) e.journalCryptKeyHex = 'Key must be hex digits (whole bytes)';
  if (f.journalCrypt && !f.journalCryptKeyHex) e.journalCryptKeyHex = 'Journal encryption needs a key';
  if (f.integrityRecalculate && !f.noWipe) e.integrityRecalculate = 'Recalculate applies to a volume formatted without wiping (tick "No wipe")';
  return e;
}

export function toRequest(f: CreateForm): CreateVolumeRequest {
  const n = (s: string) => (s.trim() ? Number(s.trim()) : undefined);
  const r: CreateVolumeRequest = {
    path: f.path.trim(), integrity: f.integrity, sectorSize: n(f.sectorSize), mode: f.mode,
    noWipe: f.noWipe, integrityRecalculate: f.integrityRecalculate, legacyPadding: f.legacyPadding, legacyHmac: f.legacyHmac, force: f.force,
  };
  if (f.sizeMiB.trim()) r.size = Number(f.sizeMiB) * 1024 * 1024;
  if (f.name.trim()) r.name = f.name.trim();
  if (f.integrityKeyHex) r.integrityKeyHex = f.integrityKeyHex;
  if (f.tagSize.trim()) r.tagSize = n(f.tagSize);
  if (f.journalSizeKiB.trim()) r.journalSize = Number(f.journalSizeKiB) * 1024;
  if (f.interleaveSectors.trim()) r.interleaveSectors = n(f.interleaveSectors);
  if (f.bufferSectors.trim()) r.bufferSectors = n(f.bufferSectors);
  if (f.dataDevice.trim()) r.dataDevice = f.dataDevice.trim();
  if (f.journalIntegrity) { r.journalIntegrity = f.journalIntegrity; r.journalIntegrityKeyHex = f.journalIntegrityKeyHex; }
  if (f.journalCrypt) { r.journalCrypt = f.journalCrypt; r.journalCryptKeyHex = f.journalCryptKeyHex; }
  return r;
}

const q = (s: string) => (/^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** the equivalent integritysetup command (keys shown as key files, never their bytes) */
export function formatCommand(f: CreateForm): string {
  const a = ['integritysetup', 'format', q(f.path.trim() || 'IMAGE'), '--integrity', f.integrity];
  if (f.integrityKeyHex) a.push('--integrity-key-file', 'KEYFILE', '--integrity-key-size', String(f.integrityKeyHex.length / 2));
  if (f.tagSize.trim()) a.push('--tag-size', f.tagSize.trim());
  if (f.sectorSize.trim() && f.sectorSize.trim() !== '512') a.push('--sector-size', f.sectorSize.trim());
  if (f.journalSizeKiB.trim()) a.push('--journal-size', String(Number(f.journalSizeKiB) * 1024));
  if (f.interleaveSectors.trim()) a.push('--interleave-sectors', f.interleaveSectors.trim());
  if (f.bufferSectors.trim()) a.push('--buffer-sectors', f.bufferSectors.trim());
  if (f.dataDevice.trim()) a.push('--data-device', q(f.dataDevice.trim()));
  if (f.journalIntegrity) a.push('--journal-integrity', f.journalIntegrity, '--journal-integrity-key-file', 'JKEYFILE', '--journal-integrity-key-size', String(f.journalIntegrityKeyHex.length / 2));
  if (f.journalCrypt) a.push('--journal-crypt', f.journalCrypt, '--journal-crypt-key-file', 'CKEYFILE', '--journal-crypt-key-size', String(f.journalCryptKeyHex.length / 2));
  if (f.noWipe) a.push('--no-wipe');
  if (f.integrityRecalculate) a.push('--integrity-recalculate');
  if (f.legacyPadding) a.push('--integrity-legacy-padding');
  if (f.legacyHmac) a.push('--integrity-legacy-hmac');
  if (f.mode === 'bitmap') a.push('--integrity-bitmap-mode');
  if (f.mode === 'direct') a.push('--integrity-no-journal');
  return a.join(' ');
}
