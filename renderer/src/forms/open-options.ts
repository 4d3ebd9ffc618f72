// The open options every volume form takes (integritysetup open's): algorithms, keys (hex or a key file on the
// host), mode, data device, discards, bitmap tuning. Validation speaks of the form's controls, never CLI flags.
// Pure: no DOM.
import type { KeyInput, OpenOptionsInfo, OpenOptionsRequest, VolumeMode } from '../../../engine/api.js';

export interface KeyForm {
  source: 'hex' | 'file';
  hex: string;
  file: string;
}
export const EMPTY_KEY: KeyForm = { source: 'hex', hex: '', file: '' };

export interface OpenForm {
  integrity: string;
  integrityKey: KeyForm;
  journalIntegrity: string;
  journalIntegrityKey: KeyForm;
  journalCrypt: string;
  journalCryptKey: KeyForm;
  mode: VolumeMode;
  dataDevice: string;
  allowDiscards: boolean;
  bitmapSectorsPerBit: string;
  bitmapFlushTimeMs: string;
}

export const DEFAULT_OPEN: OpenForm = {
  integrity: 'crc32c',
  integrityKey: EMPTY_KEY,
  journalIntegrity: '',
  journalIntegrityKey: EMPTY_KEY,
  journalCrypt: '',
  journalCryptKey: EMPTY_KEY,
  mode: 'journal',
  dataDevice: '',
  allowDiscards: false,
  bitmapSectorsPerBit: '',
  bitmapFlushTimeMs: '',
};

/** the engine's journal ciphers (engine/integrity/journal-keys.ts SUPPORTED_JOURNAL_CRYPT), integritysetup's names */
export const JOURNAL_CRYPT_CIPHERS = ['ctr-aes', 'cbc-aes', 'xts-aes', 'ecb-aes', 'chacha20'] as const;
export const JOURNAL_MAC_FALLBACK = ['hmac-sha1', 'hmac-sha256', 'hmac-sha512'];

export const keyed = (alg: string) => alg.startsWith('hmac-');
export const journalMacAlgorithms = (algorithms: string[]) => {
  const k = algorithms.filter(keyed);
  return k.length ? k : JOURNAL_MAC_FALLBACK;
};

export const LABELS = {
  integrity: 'Integrity algorithm',
  integrityKey: 'Integrity key',
  journalIntegrity: 'Journal integrity (MAC)',
  journalIntegrityKey: 'Journal integrity key',
  journalCrypt: 'Journal encryption',
  journalCryptKey: 'Journal encryption key',
  mode: 'Mode',
  dataDevice: 'Separate data device',
  allowDiscards: 'Allow discards',
  bitmapSectorsPerBit: 'Bitmap: sectors per bit',
  bitmapFlushTimeMs: 'Bitmap: flush time (ms)',
} as const;

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
const int = (s: string) => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : NaN);

export function keyInput(k: KeyForm): KeyInput | undefined {
  if (k.source === 'file') return k.file.trim() ? { file: k.file.trim() } : undefined;
  return k.hex ? { hex: k.hex } : undefined;
}

/** one line naming the problem with a key field, or undefined. `need`: the algorithm needs a key; `optional`:
 *  an empty field keeps the key the host holds (Edit) */
export function keyProblem(k: KeyForm, label: string, need: boolean, optional = false): string | undefined {
  const given = k.source === 'file' ? !!k.file.trim() : !!k.hex;
  if (k.source === 'hex' && k.hex && !/^([0-9a-fA-F]{2})+$/.test(k.hex)) return `${label}: hex digits only, two per byte`;
  if (need && !given && !optional) return `${label}: required (hex digits or a key file on the host)`;
  return undefined;
}

export type OpenErrors = Partial<Record<keyof OpenForm, string>>;

export function validateOpen(f: OpenForm, o: { keysOptional?: boolean } = {}): OpenErrors {
  const e: OpenErrors = {};
  const opt = !!o.keysOptional;
  const ik = keyProblem(f.integrityKey, LABELS.integrityKey, keyed(f.integrity), opt);
  if (ik) e.integrityKey = ik;
  else if (!keyed(f.integrity) && keyInput(f.integrityKey)) e.integrityKey = `${LABELS.integrityKey}: ${f.integrity} takes no key (leave it empty)`;
  const jk = keyProblem(f.journalIntegrityKey, LABELS.journalIntegrityKey, !!f.journalIntegrity, opt);
  if (jk) e.journalIntegrityKey = jk;
  const ck = keyProblem(f.journalCryptKey, LABELS.journalCryptKey, !!f.journalCrypt, opt);
  if (ck) e.journalCryptKey = ck;
  if (f.bitmapSectorsPerBit.trim()) {
    const n = int(f.bitmapSectorsPerBit);
    if (!(n >= 1 && isPow2(n))) e.bitmapSectorsPerBit = `${LABELS.bitmapSectorsPerBit}: a power of two (for example 65536)`;
  }
  if (f.bitmapFlushTimeMs.trim()) {
    const n = int(f.bitmapFlushTimeMs);
    if (!(n >= 1)) e.bitmapFlushTimeMs = `${LABELS.bitmapFlushTimeMs}: a whole number of milliseconds, at least 1`;
  }
  return e;
}

export function openRequest(f: OpenForm): OpenOptionsRequest {
  const r: OpenOptionsRequest = { integrity: f.integrity, mode: f.mode, allowDiscards: f.allowDiscards };
  if (f.dataDevice.trim()) r.dataDevice = f.dataDevice.trim();
  const ik = keyed(f.integrity) ? keyInput(f.integrityKey) : undefined;
  if (ik) r.integrityKey = ik;
  if (f.journalIntegrity) {
    r.journalIntegrity = f.journalIntegrity;
    const k = keyInput(f.journalIntegrityKey);
    if (k) r.journalIntegrityKey = k;
  }
  if (f.journalCrypt) {
    r.journalCrypt = f.journalCrypt;
    const k = keyInput(f.journalCryptKey);
    if (k) r.journalCryptKey = k;
  }
  if (f.bitmapSectorsPerBit.trim()) r.bitmapSectorsPerBit = Number(f.bitmapSectorsPerBit.trim());
  if (f.bitmapFlushTimeMs.trim()) r.bitmapFlushTimeMs = Number(f.bitmapFlushTimeMs.trim());
  return r;
}

/** the form's values from what the host holds (Edit): algorithms only, key fields empty (= keep) */
export function openFormFrom(o: OpenOptionsInfo): OpenForm {
  return {
    ...DEFAULT_OPEN,
    integrity: o.integrity,
    journalIntegrity: o.journal_integrity ?? '',
    journalCrypt: o.journal_crypt ?? '',
    mode: o.mode,
    dataDevice: o.data_device ?? '',
    allowDiscards: o.allow_discards,
    bitmapSectorsPerBit: o.bitmap_sectors_per_bit === null ? '' : String(o.bitmap_sectors_per_bit),
    bitmapFlushTimeMs: o.bitmap_flush_time_ms === null ? '' : String(o.bitmap_flush_time_ms),
  };
}

function keyArgs(k: KeyForm, flag: string, placeholder: string): string[] {
  if (k.source === 'file' && k.file.trim()) return [`--${flag}-key-file`, k.file.trim(), `--${flag}-key-size`, 'KEY_BYTES'];
  return [`--${flag}-key-file`, placeholder, `--${flag}-key-size`, k.hex ? String(k.hex.length / 2) : 'KEY_BYTES'];
}

/** integritysetup words for the options shared by format and open (keys as key files, never their bytes) */
export function openArgs(f: OpenForm, forFormat: boolean): string[] {
  const a = ['--integrity', f.integrity];
  if (keyed(f.integrity)) a.push(...keyArgs(f.integrityKey, 'integrity', 'KEYFILE'));
  if (f.journalIntegrity) a.push('--journal-integrity', f.journalIntegrity, ...keyArgs(f.journalIntegrityKey, 'journal-integrity', 'JMAC_KEYFILE'));
  if (f.journalCrypt) a.push('--journal-crypt', f.journalCrypt, ...keyArgs(f.journalCryptKey, 'journal-crypt', 'JCRYPT_KEYFILE'));
  if (f.dataDevice.trim()) a.push('--data-device', f.dataDevice.trim());
  if (f.mode === 'bitmap') a.push('--integrity-bitmap-mode');
  if (f.mode === 'direct') a.push('--integrity-no-journal');
  if (!forFormat) {
    if (f.allowDiscards) a.push('--allow-discards');
    if (f.bitmapSectorsPerBit.trim()) a.push('--bitmap-sectors-per-bit', f.bitmapSectorsPerBit.trim());
    if (f.bitmapFlushTimeMs.trim()) a.push('--bitmap-flush-time', f.bitmapFlushTimeMs.trim());
  }
  return a;
}
