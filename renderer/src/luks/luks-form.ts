// LUKS2 in the dashboard, pure parts: the create form (cryptsetup luksFormat --type luks2 --integrity …'s options:
// the valid integrity/cipher/key-size combinations, checks before submit in the form's words, the equivalent
// commands without the passphrase), and the sectors failing authentication as the kernel logs them (with exports).
import type { CreateLuksVolumeRequest, LuksSecretInput, VolumeSnapshot } from '../../../engine/api.js';
import { commandLine } from '../lib/shell.js';

export interface LuksCreateForm {
  path: string;
  sizeMiB: string;
  name: string;
  integrity: string;
  cipher: string;
  keySize: string;
  sectorSize: string;
  pbkdf: 'argon2id' | 'argon2i' | 'pbkdf2';
  /** pbkdf2 iterations or argon2 time cost; empty: benchmarked as cryptsetup does (2 s) */
  pbkdfIterations: string;
  /** argon2 memory KiB; empty: cryptsetup's default (1 GiB, at most half the RAM) */
  pbkdfMemory: string;
  secretSource: 'passphrase' | 'file';
  passphrase: string;
  passphrase2: string;
  keyFile: string;
  noWipe: boolean;
}

export const LUKS_LABELS = {
  path: 'Image path',
  sizeMiB: 'Size (MiB, only for a new image)',
  name: 'Name',
  integrity: 'Integrity',
  cipher: 'Cipher',
  keySize: 'Key size',
  sectorSize: 'Encryption sector size',
  pbkdf: 'Key derivation (PBKDF)',
  pbkdfIterations: 'Iterations / time cost',
  pbkdfMemory: 'Memory (KiB, Argon2)',
  passphrase: 'Passphrase',
  passphrase2: 'Passphrase again',
  keyFile: 'Key file on the host',
  noWipe: 'Do not wipe (unwritten sectors fail authentication until written)',
} as const;

/** integrity → the ciphers the kernel pairs with it here (dm-crypt AEAD with random IVs) */
export const INTEGRITY_CIPHERS: Record<string, string[]> = {
  'hmac-sha256': ['aes-xts-random'],
  'hmac-sha512': ['aes-xts-random'],
  'hmac-sha1': ['aes-xts-random'],
  aead: ['aes-gcm-random', 'aegis128-random'],
  poly1305: ['chacha20-random'],
};

/** cipher → the key sizes in bits (the cipher's key; an HMAC key is added, as cryptsetup does); the first is the default */
export const CIPHER_KEY_BITS: Record<string, string[]> = {
  'aes-xts-random': ['512', '256'],
  'aes-gcm-random': ['256', '128'],
  'aegis128-random': ['128'],
  'chacha20-random': ['256'],
};

export const DEFAULT_LUKS_FORM: LuksCreateForm = {
  path: '',
  sizeMiB: '',
  name: '',
  integrity: 'hmac-sha256',
  cipher: 'aes-xts-random',
  keySize: '512',
  sectorSize: '4096',
  pbkdf: 'argon2id',
  pbkdfIterations: '',
  pbkdfMemory: '',
  secretSource: 'passphrase',
  passphrase: '',
  passphrase2: '',
  keyFile: '',
  noWipe: false,
};

/** a change of integrity or cipher keeps the form a valid combination */
export function withIntegrity(f: LuksCreateForm, integrity: string): LuksCreateForm {
  const ciphers = INTEGRITY_CIPHERS[integrity] ?? [];
  const cipher = ciphers.includes(f.cipher) ? f.cipher : (ciphers[0] ?? f.cipher);
  return withCipher({ ...f, integrity }, cipher);
}
export function withCipher(f: LuksCreateForm, cipher: string): LuksCreateForm {
  const sizes = CIPHER_KEY_BITS[cipher] ?? [];
  return { ...f, cipher, keySize: sizes.includes(f.keySize) ? f.keySize : (sizes[0] ?? f.keySize) };
}

const int = (s: string) => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : NaN);
export type LuksErrors = Partial<Record<keyof LuksCreateForm, string>>;

export function validateLuks(f: LuksCreateForm): LuksErrors {
  const L = LUKS_LABELS;
  const e: LuksErrors = {};
  if (!f.path.trim()) e.path = `${L.path}: required (a new file is created when you give a size)`;
  if (f.sizeMiB.trim() && !(int(f.sizeMiB) > 16))
    e.sizeMiB = `${L.sizeMiB}: a whole number of MiB, more than 16 (the LUKS2 header and keyslots take the first 16 MiB)`;
  if (!(INTEGRITY_CIPHERS[f.integrity] ?? []).includes(f.cipher)) e.cipher = `${L.cipher}: ${f.cipher} does not go with ${f.integrity}`;
  if (f.pbkdfIterations.trim()) {
    const n = int(f.pbkdfIterations);
    const min = f.pbkdf === 'pbkdf2' ? 1000 : 4;
    if (!(n >= min)) e.pbkdfIterations = `${L.pbkdfIterations}: at least ${min} for ${f.pbkdf} (leave it empty to measure what takes 2 seconds)`;
  }
  if (f.pbkdfMemory.trim() && f.pbkdf !== 'pbkdf2' && !(int(f.pbkdfMemory) >= 32 && int(f.pbkdfMemory) <= 4194304))
    e.pbkdfMemory = `${L.pbkdfMemory}: 32 to 4194304 KiB`;
  if (f.secretSource === 'passphrase') {
    if (!f.passphrase) e.passphrase = `${L.passphrase}: required`;
    else if (f.passphrase !== f.passphrase2) e.passphrase2 = 'Passphrases do not match.';
  } else if (!f.keyFile.trim()) e.keyFile = `${L.keyFile}: required (a file on the host whose bytes are the passphrase)`;
  return e;
}

export function luksRequest(f: LuksCreateForm): CreateLuksVolumeRequest {
  const secret: LuksSecretInput = f.secretSource === 'passphrase' ? { passphrase: f.passphrase } : { file: f.keyFile.trim() };
  const r: CreateLuksVolumeRequest = {
    path: f.path.trim(),
    integrity: f.integrity,
    cipher: f.cipher,
    keySize: Number(f.keySize),
    sectorSize: Number(f.sectorSize),
    pbkdf: f.pbkdf,
    secret,
    noWipe: f.noWipe,
  };
  if (f.sizeMiB.trim()) r.size = Number(f.sizeMiB) * 1024 * 1024;
  if (f.name.trim()) r.name = f.name.trim();
  if (f.pbkdfIterations.trim()) r.pbkdfIterations = Number(f.pbkdfIterations);
  if (f.pbkdfMemory.trim() && f.pbkdf !== 'pbkdf2') r.pbkdfMemory = Number(f.pbkdfMemory);
  return r;
}

/** the options both tools share, in cryptsetup's spelling (never the passphrase: a key file stands for it) */
function formatArgs(f: LuksCreateForm): string[] {
  const a = ['--cipher', f.cipher, '--integrity', f.integrity, '--key-size', f.keySize, '--sector-size', f.sectorSize, '--pbkdf', f.pbkdf];
  if (f.pbkdfIterations.trim()) a.push('--pbkdf-force-iterations', f.pbkdfIterations.trim());
  if (f.pbkdfMemory.trim() && f.pbkdf !== 'pbkdf2') a.push('--pbkdf-memory', f.pbkdfMemory.trim());
  if (f.noWipe) a.push('--integrity-no-wipe');
  if (f.secretSource === 'file') a.push('--key-file', f.keyFile.trim() || 'KEYFILE');
  return a;
}

/** `cryptsetup luksFormat …` and `integrity-studio luks-format …`, POSIX-shell quoted; a typed passphrase is asked by the tool */
export function luksCommands(f: LuksCreateForm): { cryptsetup: string; ours: string } {
  const dev = f.path.trim() || 'IMAGE';
  const size = f.sizeMiB.trim() && /^\d+$/.test(f.sizeMiB.trim()) ? `${commandLine(['truncate', '-s', `${f.sizeMiB.trim()}M`, dev])}\n` : '';
  return {
    cryptsetup: size + commandLine(['cryptsetup', 'luksFormat', '--type', 'luks2', ...formatArgs(f), dev]),
    ours: size + commandLine(['integrity-studio', 'luks-format', ...formatArgs(f), dev]),
  };
}

/** the kernel's line for a sector failing authentication (dm-crypt crypt_convert_block_aead) */
export function aeadLine(sector: number): string {
  return `INTEGRITY AEAD ERROR, sector ${sector}`;
}

export function luksSpb(v: Pick<VolumeSnapshot, 'luks'>): number {
  return (v.luks?.sector_size ?? 512) / 512;
}
