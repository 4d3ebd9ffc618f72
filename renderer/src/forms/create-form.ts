// The create form: integritysetup format's options plus the open options the volume is then used with; the
// kernel's limits checked before submit (dm_integrity_ctr and integritysetup's), messages naming the form's
// controls; the equivalent command, quoted for a POSIX shell. Pure: no DOM.
import type { CreateVolumeRequest } from '../../../engine/api.js';
import { commandLine } from '../lib/shell.js';
import { DEFAULT_OPEN, openArgs, openRequest, validateOpen, type OpenErrors, type OpenForm } from './open-options.js';

export interface CreateForm extends OpenForm {
  path: string;
  /** empty: format the existing file or device as it is (a new image needs a size) */
  sizeMiB: string;
  name: string;
  tagSize: string;
  sectorSize: string;
  journalSizeKiB: string;
  interleaveSectors: string;
  bufferSectors: string;
  noWipe: boolean;
  integrityRecalculate: boolean;
  legacyPadding: boolean;
  legacyHmac: boolean;
}

export const CREATE_LABELS = {
  path: 'Image path',
  sizeMiB: 'Size (MiB, only for a new image)',
  name: 'Name',
  tagSize: 'Tag size (bytes)',
  sectorSize: 'Sector size',
  journalSizeKiB: 'Journal size (KiB)',
  interleaveSectors: 'Interleave sectors',
  bufferSectors: 'Buffer sectors',
  noWipe: 'Do not wipe (tags are not written)',
  integrityRecalculate: 'Recalculate tags in the background',
  legacyPadding: 'Legacy padding (kernels before 4.19)',
  legacyHmac: 'Legacy HMAC (kernels before 5.12)',
} as const;

export const DEFAULT_FORM: CreateForm = {
  ...DEFAULT_OPEN,
  path: '',
  sizeMiB: '',
  name: '',
  tagSize: '',
  sectorSize: '512',
  journalSizeKiB: '',
  interleaveSectors: '',
  bufferSectors: '',
  noWipe: false,
  integrityRecalculate: false,
  legacyPadding: false,
  legacyHmac: false,
};

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
/** the largest size in MiB whose byte count is still exact (2^53 bytes = 8 PiB) */
export const MAX_SIZE_MIB = Math.floor(Number.MAX_SAFE_INTEGER / 1048576);
const int = (s: string) => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : NaN);

export type CreateErrors = Partial<Record<keyof CreateForm, string>> & OpenErrors;

/** field → one line naming the problem; empty when the form can be submitted */
export function validateForm(f: CreateForm): CreateErrors {
  const L = CREATE_LABELS;
  const e: CreateErrors = { ...validateOpen(f) };
  if (!f.path.trim()) e.path = `${L.path}: required (a new file is created when you give a size)`;
  if (f.path.trim() && !f.path.trim().startsWith('/'))
    e.path = `${L.path}: an absolute path, starting with / (a relative one would depend on the folder the host runs in)`;
  if (f.sizeMiB.trim()) {
    const n = int(f.sizeMiB);
    if (!(n >= 1)) e.sizeMiB = `${L.sizeMiB}: a whole number of MiB, at least 1 (leave it empty to format an existing file or device)`;
    else if (n > MAX_SIZE_MIB) e.sizeMiB = `${L.sizeMiB}: at most ${MAX_SIZE_MIB.toLocaleString('en')} MiB (8 PiB)`;
  }
  if (f.tagSize.trim()) {
    const n = int(f.tagSize);
    if (!(n >= 1 && n <= 255)) e.tagSize = `${L.tagSize}: 1 to 255 bytes (the kernel's limit)`;
  }
  const ss = int(f.sectorSize);
  if (!(ss >= 512 && ss <= 4096 && isPow2(ss))) e.sectorSize = `${L.sectorSize}: a power of two from 512 to 4096`;
  if (f.interleaveSectors.trim()) {
    const n = int(f.interleaveSectors);
    if (!(n >= 8 && n <= 2 ** 31 && isPow2(n))) e.interleaveSectors = `${L.interleaveSectors}: a power of two from 8 to 2147483648`;
  }
  if (f.bufferSectors.trim()) {
    const n = int(f.bufferSectors);
    if (!(n >= 1)) e.bufferSectors = `${L.bufferSectors}: a positive whole number`;
  }
  if (f.journalSizeKiB.trim()) {
    const n = int(f.journalSizeKiB);
    if (!(n >= 4)) e.journalSizeKiB = `${L.journalSizeKiB}: a whole number of KiB, at least 4`;
  }
  if (f.integrityRecalculate && !f.noWipe)
    e.integrityRecalculate = `${L.integrityRecalculate}: only for a volume formatted without wiping (tick “${L.noWipe}”)`;
  return e;
}

export function toRequest(f: CreateForm): CreateVolumeRequest {
  const n = (s: string) => (s.trim() ? Number(s.trim()) : undefined);
  const r: CreateVolumeRequest = {
    ...openRequest(f),
    path: f.path.trim(),
    sectorSize: n(f.sectorSize),
    noWipe: f.noWipe,
    integrityRecalculate: f.integrityRecalculate,
    legacyPadding: f.legacyPadding,
    legacyHmac: f.legacyHmac,
  };
  if (f.sizeMiB.trim()) r.size = Number(f.sizeMiB) * 1024 * 1024;
  if (f.name.trim()) r.name = f.name.trim();
  if (f.tagSize.trim()) r.tagSize = n(f.tagSize);
  if (f.journalSizeKiB.trim()) r.journalSize = Number(f.journalSizeKiB) * 1024;
  if (f.interleaveSectors.trim()) r.interleaveSectors = n(f.interleaveSectors);
  if (f.bufferSectors.trim()) r.bufferSectors = n(f.bufferSectors);
  return r;
}

/** the equivalent integritysetup command (keys shown as key files, never their bytes), POSIX-shell quoted */
export function formatCommand(f: CreateForm): string {
  const a = ['integritysetup', 'format', f.path.trim() || 'IMAGE', ...openArgs(f, true)];
  if (f.tagSize.trim()) a.push('--tag-size', f.tagSize.trim());
  if (f.sectorSize.trim() && f.sectorSize.trim() !== '512') a.push('--sector-size', f.sectorSize.trim());
  if (f.journalSizeKiB.trim()) a.push('--journal-size', String(Number(f.journalSizeKiB) * 1024));
  if (f.interleaveSectors.trim()) a.push('--interleave-sectors', f.interleaveSectors.trim());
  if (f.bufferSectors.trim()) a.push('--buffer-sectors', f.bufferSectors.trim());
  if (f.noWipe) a.push('--no-wipe');
  if (f.integrityRecalculate) a.push('--integrity-recalculate');
  if (f.legacyPadding) a.push('--integrity-legacy-padding');
  if (f.legacyHmac) a.push('--integrity-legacy-hmac');
  const cmd = commandLine(a);
  // a new image is a sparse file of the given size first
  return f.sizeMiB.trim() && /^\d+$/.test(f.sizeMiB.trim())
    ? `${commandLine(['truncate', '-s', `${f.sizeMiB.trim()}M`, f.path.trim() || 'IMAGE'])}\n${cmd}`
    : cmd;
}

/** the equivalent `integritysetup open` for the options of a form (Add, Edit) */
export function openCommand(path: string, f: OpenForm, name = 'NAME'): string {
  return commandLine(['integritysetup', 'open', path.trim() || 'IMAGE', name, ...openArgs(f, false)]);
}
