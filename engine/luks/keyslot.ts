// LUKS2 keyslots: the area's cipher (cryptsetup lib/utils_storage_wrappers.c: 512-byte sectors, IV = sector
// number from the area start), unlock (LUKS2_keyslot_open: KDF → area decrypt → AF_merge → digest check)
// and the reverse for format. Volume keys are returned to the caller only; temporaries are zeroed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { IntegrityStudioError } from '../errors.js';
import { FileDevice, type BlockDevice } from '../io/device.js';
import { afMerge, afSectors } from './af.js';
import { nodeHash, readLuks2HeaderFrom } from './header.js';
import { deriveKey, type KdfProgress } from './kdf.js';
import type { Luks2Digest, Luks2Info, Luks2Keyslot } from './types.js';

/** cryptsetup's words for a passphrase or key file that opens no keyslot */
export const NO_KEY_MESSAGE = 'No key available with this passphrase.';

export class NoKeyError extends IntegrityStudioError {
  constructor() {
    super(NO_KEY_MESSAGE, 'ENOKEY');
    this.name = 'NoKeyError';
  }
}

const SECTOR = 512;

/** Encrypts or decrypts a keyslot area in place, 512-byte sector by sector (aes-xts-plain64, aes-cbc-…). */
export function cryptArea(spec: string, key: Buffer, data: Buffer, encrypt: boolean): void {
  const m = /^aes-(xts|cbc|ecb)(?:-(plain64|plain|essiv:sha256|null))?$/.exec(spec);
  if (!m) throw new IntegrityStudioError(`keyslot area cipher "${spec}" is not supported here (aes-xts-plain64, aes-cbc-plain64, aes-cbc-essiv:sha256)`);
  const [, mode, iv = 'plain64'] = m;
  const bits = (mode === 'xts' ? key.length / 2 : key.length) * 8;
  if (![128, 192, 256].includes(bits) || (mode === 'xts' && bits === 192))
    throw new IntegrityStudioError(`keyslot area key size ${key.length} does not fit ${spec}`);
  const alg = `aes-${bits}-${mode}`;
  if (data.length % SECTOR) throw new IntegrityStudioError('keyslot area length is not a multiple of 512');
  let essivKey: Buffer | null = null;
  if (iv === 'essiv:sha256') essivKey = crypto.createHash('sha256').update(key).digest();
  const ivb = Buffer.alloc(16);
  for (let s = 0; s * SECTOR < data.length; s++) {
    ivb.fill(0);
    if (iv === 'plain64') ivb.writeBigUInt64LE(BigInt(s));
    else if (iv === 'plain') ivb.writeUInt32LE(s >>> 0);
    else if (essivKey) {
      ivb.writeBigUInt64LE(BigInt(s));
      const c = crypto.createCipheriv(`aes-${essivKey.length * 8}-ecb`, essivKey, null).setAutoPadding(false);
      c.update(ivb).copy(ivb);
    }
    const part = data.subarray(s * SECTOR, (s + 1) * SECTOR);
    const c = encrypt
      ? crypto.createCipheriv(alg, key, mode === 'ecb' ? null : ivb).setAutoPadding(false)
      : crypto.createDecipheriv(alg, key, mode === 'ecb' ? null : ivb).setAutoPadding(false);
    const out = c.update(part);
    c.final();
    out.copy(part);
    out.fill(0);
  }
  essivKey?.fill(0);
}

/** pbkdf2 digest of a candidate volume key (LUKS2 digest "pbkdf2") */
export function digestOf(d: Pick<Luks2Digest, 'hash' | 'iterations' | 'salt'>, volumeKey: Buffer, len: number): Buffer {
  const h = nodeHash(d.hash);
  if (!h) throw new IntegrityStudioError(`digest hash "${d.hash}" is not supported here`);
  return crypto.pbkdf2Sync(volumeKey, Buffer.from(d.salt, 'base64'), d.iterations, len, h);
}

export function digestMatches(d: Luks2Digest, volumeKey: Buffer): boolean {
  const want = Buffer.from(d.digest, 'base64');
  const got = digestOf(d, volumeKey, want.length);
  return got.length === want.length && crypto.timingSafeEqual(got, want);
}

export interface Luks2Secret {
  passphrase?: Uint8Array;
  /** a key file path, or '-' for standard input */
  keyFile?: string;
  /** bytes to skip at the start of the key file (--keyfile-offset) */
  keyFileOffset?: number;
  /** bytes to read from the key file (--keyfile-size); default: to its end, at most 8 MiB as cryptsetup */
  keyFileSize?: number;
}

export type UnlockProgress = KdfProgress | { phase: 'keyslot-start' | 'keyslot-fail'; keyslot: number };

export interface UnlockOptions {
  /** try only this keyslot (as --key-slot) */
  keyslot?: number;
  onProgress?(p: UnlockProgress): void;
}

const KEYFILE_SIZE_MAX = 8 * 1024 * 1024;

/** The passphrase bytes from a secret (key files read raw, as cryptsetup --key-file). Caller zeroes them. */
export function secretBytes(s: Luks2Secret): Buffer {
  if (s.keyFile !== undefined) {
    let data: Buffer;
    try {
      data = fs.readFileSync(s.keyFile === '-' ? 0 : s.keyFile); // '-': standard input, as cryptsetup --key-file -
    } catch (e) {
      throw new IntegrityStudioError(`cannot read key file ${s.keyFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'EIO');
    }
    const off = s.keyFileOffset ?? 0;
    if (off > data.length) {
      data.fill(0);
      throw new IntegrityStudioError(`key file ${s.keyFile} is shorter than its offset ${off}`);
    }
    const want = s.keyFileSize ?? Math.min(data.length - off, KEYFILE_SIZE_MAX);
    if (s.keyFileSize === undefined && data.length - off > KEYFILE_SIZE_MAX) {
      data.fill(0);
      throw new IntegrityStudioError(`key file ${s.keyFile} is larger than 8 MiB (give --keyfile-size)`);
    }
    if (off + want > data.length) {
      data.fill(0);
      throw new IntegrityStudioError('Cannot read requested amount of data.');
    }
    const out = Buffer.from(data.subarray(off, off + want));
    data.fill(0);
    return out;
  }
  if (s.passphrase !== undefined) return Buffer.from(s.passphrase);
  throw new IntegrityStudioError('a passphrase or a key file is needed to unlock the LUKS2 volume');
}

/** LUKS2_keyslot_open for one keyslot: the volume key, or null when the passphrase does not open it. */
export async function openKeyslot(
  dev: BlockDevice,
  info: Luks2Info,
  ks: Luks2Keyslot,
  pass: Uint8Array,
  onProgress?: (p: UnlockProgress) => void,
): Promise<Buffer | null> {
  const digest = info.digests.find((d) => d.keyslots.includes(ks.id));
  if (!digest || ks.type !== 'luks2') return null;
  const len = afSectors(ks.keySize, ks.af.stripes) * SECTOR;
  if (len > ks.area.size) throw new IntegrityStudioError(`keyslot ${ks.id}: area (${ks.area.size} bytes) is smaller than its key material (${len})`);
  if (ks.area.offset + len > dev.size) throw new IntegrityStudioError(`keyslot ${ks.id}: the device ends before its area (truncated)`);
  onProgress?.({ phase: 'keyslot-start', keyslot: ks.id });
  const areaKey = await deriveKey(pass, ks.kdf, ks.area.keySize, onProgress, ks.id);
  const area = Buffer.alloc(len);
  try {
    dev.read(area, ks.area.offset);
    cryptArea(ks.area.encryption, areaKey, area, false);
    const vk = afMerge(area, ks.keySize, ks.af.stripes, ks.af.hash);
    if (digestMatches(digest, vk)) return vk;
    vk.fill(0);
    onProgress?.({ phase: 'keyslot-fail', keyslot: ks.id });
    return null;
  } finally {
    areaKey.fill(0);
    area.fill(0);
  }
}

/** Unlocks a LUKS2 device: tries the keyslots bound to the data segment (high priority first, as cryptsetup). */
export async function unlockLuks2(
  src: string | BlockDevice,
  secret: Luks2Secret,
  opts: UnlockOptions = {},
): Promise<{ info: Luks2Info; volumeKey: Buffer; keyslot: number }> {
  const own = typeof src === 'string';
  const dev = own ? FileDevice.open(src, { readOnly: true }) : src;
  const pass = secretBytes(secret);
  try {
    const info = readLuks2HeaderFrom(dev, own ? src : dev.name);
    // LUKS2_config_get_requirements: cryptsetup refuses to activate with requirements it does not know
    if (info.config.requirements.length) {
      throw new IntegrityStudioError(
        `${info.path}: the LUKS2 header has requirements this tool does not support (${info.config.requirements.join(', ')}; e.g. an unfinished reencryption): finish it with cryptsetup first`,
      );
    }
    const segDigests = info.digests.filter((d) => d.segments.includes(info.dataSegment.id));
    let slots = info.keyslots.filter((k) => k.type === 'luks2' && segDigests.some((d) => d.keyslots.includes(k.id)));
    if (opts.keyslot !== undefined) {
      const k = info.keyslots.find((x) => x.id === opts.keyslot);
      if (!k) throw new IntegrityStudioError(`Keyslot ${opts.keyslot} is not active.`);
      slots = [k];
    } else {
      const pr = (k: Luks2Keyslot) => k.priority ?? 1;
      slots = [...slots.filter((k) => pr(k) === 2), ...slots.filter((k) => pr(k) === 1)];
    }
    for (const ks of slots) {
      const vk = await openKeyslot(dev, info, ks, pass, opts.onProgress);
      if (vk) return { info, volumeKey: vk, keyslot: ks.id };
    }
    throw new NoKeyError();
  } finally {
    pass.fill(0);
    if (own) dev.close();
  }
}
