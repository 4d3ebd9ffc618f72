// Writes a LUKS2 header as cryptsetup 2.6.1's luksFormat does (lib/luks2/luks2_json_format.c LUKS2_generate_hdr,
// luks2_keyslot_luks2.c): 16 KiB metadata ×2, a 16 MiB - 32 KiB keyslots area, the data segment at 16 MiB,
// one keyslot (argon2id/argon2i/pbkdf2) and a pbkdf2 digest. The dm-integrity superblock at the segment
// offset and the wipe are the caller's (dm-integrity's format).
import crypto from 'node:crypto';
import os from 'node:os';
import { IntegrityStudioError } from '../errors.js';
import { FileDevice, type BlockDevice } from '../io/device.js';
import { afSectors, afSplit } from './af.js';
import {
  CHECKSUM_L,
  LUKS2_HDR_BIN_LEN,
  LUKS2_MAGIC_1ST,
  LUKS2_MAGIC_2ND,
  OFF,
  headerChecksum,
  integrityKeySize,
  nodeHash,
  readLuks2HeaderFrom,
} from './header.js';
import { cryptArea, secretBytes, type Luks2Secret } from './keyslot.js';
import { deriveKey, estimateKdfMs, type KdfProgress } from './kdf.js';
import type { Luks2Info, Luks2Kdf } from './types.js';

export const LUKS2_HDR_SIZE = 16384;
/** cryptsetup's default metadata + keyslots size: the data segment starts at 16 MiB */
export const LUKS2_DEFAULT_DATA_OFFSET = 16 * 1024 * 1024;
export const LUKS2_DEFAULT_KEYSLOTS_SIZE = LUKS2_DEFAULT_DATA_OFFSET - 2 * LUKS2_HDR_SIZE;
export const LUKS_STRIPES = 4000;

export interface Luks2FormatOptions {
  secret: Luks2Secret;
  /** the data segment's cipher (cryptsetup --cipher): default aes-xts-plain64, aes-xts-random with --integrity hmac-* */
  cipher?: string;
  /** --integrity: hmac-sha256, hmac-sha512, aead, poly1305 (or the kernel's name, hmac(sha256)) */
  integrity?: string;
  /** --key-size in bits: the cipher's key (the integrity key is added, as cryptsetup does) */
  keySize?: number;
  /** --sector-size: 512..4096 */
  sectorSize?: number;
  pbkdf?: 'argon2id' | 'argon2i' | 'pbkdf2';
  /** --hash: pbkdf2 hash, AF hash and digest hash (default sha256) */
  hash?: string;
  /** --pbkdf-force-iterations (pbkdf2 iterations or argon2 time cost) */
  pbkdfIterations?: number;
  /** --pbkdf-memory KiB (argon2), default 1 GiB capped at half the RAM, as cryptsetup */
  pbkdfMemory?: number;
  /** --pbkdf-parallel (argon2), default min(4, CPUs) */
  pbkdfParallel?: number;
  /** --iter-time ms, used when no iteration count is forced (default 2000) */
  iterTimeMs?: number;
  label?: string;
  subsystem?: string;
  uuid?: string;
  /** --key-slot (default 0) */
  keyslot?: number;
  /** a given volume key (else random) */
  volumeKey?: Buffer;
  onProgress?(p: KdfProgress): void;
}

/** cryptsetup's --integrity name → the LUKS2 JSON / kernel name */
export function integrityJsonName(i: string): string {
  const m = /^hmac-(sha1|sha256|sha512)$/.exec(i);
  if (m) return `hmac(${m[1]})`;
  if (i === 'cmac-aes') return 'cmac(aes)';
  return i;
}

/** cryptsetup's default --key-size for a cipher (bits, without the integrity key) */
export function defaultKeyBits(cipher: string): number {
  if (/-xts-/.test(cipher)) return 512;
  if (cipher.startsWith('aegis128')) return 128;
  return 256;
}

function u64s(n: number): string {
  return String(n);
}

function ceil4k(n: number): number {
  return Math.ceil(n / 4096) * 4096;
}

/** the argon2/pbkdf2 costs for `iterTimeMs`, as crypt_benchmark_pbkdf does (minimum argon2 time 4, memory cut first) */
async function chooseKdf(o: Luks2FormatOptions, keyLen: number, salt: string): Promise<Luks2Kdf> {
  const type = o.pbkdf ?? 'argon2id';
  const target = o.iterTimeMs ?? 2000;
  if (type === 'pbkdf2') {
    const hash = o.hash ?? 'sha256';
    if (!nodeHash(hash)) throw new IntegrityStudioError(`hash "${hash}" is not supported`);
    if (o.pbkdfIterations !== undefined) {
      if (o.pbkdfIterations < 1000) throw new IntegrityStudioError('Forced iteration count is too low for pbkdf2 (minimum is 1000).');
      return { type, hash, iterations: o.pbkdfIterations, salt };
    }
    const perIter = (await estimateKdfMs({ type, hash, iterations: 1, salt }, keyLen)) || 1e-3;
    return { type, hash, iterations: Math.max(1000, Math.floor(target / perIter)), salt };
  }
  const cpus = o.pbkdfParallel ?? Math.min(4, os.availableParallelism());
  let memory = o.pbkdfMemory ?? Math.min(1048576, Math.floor(os.totalmem() / 1024 / 2));
  if (o.pbkdfIterations !== undefined) {
    if (o.pbkdfIterations < 4) throw new IntegrityStudioError(`Forced iteration count is too low for ${type} (minimum is 4).`);
    return { type, time: o.pbkdfIterations, memory, cpus, salt };
  }
  const perPass = await estimateKdfMs({ type, time: 1, memory, cpus, salt }, keyLen);
  let time = Math.floor(target / perPass);
  if (time < 4) {
    time = 4;
    if (o.pbkdfMemory === undefined) memory = Math.max(32, Math.floor((memory * target) / (4 * perPass)));
  }
  return { type, time, memory, cpus, salt };
}

/** cryptsetup's minimum for the digest: 1000 iterations, else what takes 125 ms */
function digestIterations(hash: string, vkLen: number): number {
  const n = 1000;
  const t0 = performance.now();
  crypto.pbkdf2Sync(Buffer.alloc(vkLen), Buffer.alloc(32), n, 32, nodeHash(hash)!);
  const ms = performance.now() - t0;
  return Math.max(1000, Math.floor((125 / ms) * n));
}

/** The binary header (struct luks2_hdr_disk) with its checksum over |header|JSON area|. */
function binaryHeader(secondary: boolean, seqid: number, label: string, subsystem: string, uuid: string, jsonArea: Buffer): Buffer {
  const b = Buffer.alloc(LUKS2_HDR_BIN_LEN);
  (secondary ? LUKS2_MAGIC_2ND : LUKS2_MAGIC_1ST).copy(b, OFF.magic);
  b.writeUInt16BE(2, OFF.version);
  b.writeBigUInt64BE(BigInt(LUKS2_HDR_SIZE), OFF.hdrSize);
  b.writeBigUInt64BE(BigInt(seqid), OFF.seqid);
  b.write(label, OFF.label, 47, 'latin1');
  b.write('sha256', OFF.checksumAlg, 'latin1');
  crypto.randomFillSync(b, OFF.salt, 64);
  b.write(uuid, OFF.uuid, 39, 'latin1');
  b.write(subsystem, OFF.subsystem, 47, 'latin1');
  b.writeBigUInt64BE(BigInt(secondary ? LUKS2_HDR_SIZE : 0), OFF.hdrOffset);
  headerChecksum('sha256', b, jsonArea).copy(b, OFF.csum, 0, CHECKSUM_L);
  return b;
}

/**
 * Writes a fresh LUKS2 header (both copies, JSON, one keyslot) on `target`, which must already exist and be
 * larger than 16 MiB. Returns the header as read back and the volume key (the caller zeroes it when done).
 */
export async function formatLuks2Header(target: string | BlockDevice, o: Luks2FormatOptions): Promise<{ info: Luks2Info; volumeKey: Buffer }> {
  const cipher = o.cipher ?? (o.integrity && /^hmac-|^hmac\(/.test(o.integrity) ? 'aes-xts-random' : 'aes-xts-plain64');
  if (!/^[a-z0-9]+(-[a-z0-9:]+)*$/.test(cipher)) throw new IntegrityStudioError(`cipher "${cipher}" is not a cryptsetup cipher specification`);
  const integ = o.integrity ? integrityJsonName(o.integrity) : undefined;
  if (integ && !/^(hmac\((sha1|sha256|sha512)\)|aead|poly1305|cmac\(aes\))$/.test(integ))
    throw new IntegrityStudioError(`integrity "${o.integrity}" is not one LUKS2 supports here (hmac-sha256, hmac-sha512, aead, poly1305)`);
  const keyBits = o.keySize ?? defaultKeyBits(cipher);
  if (keyBits % 8 || keyBits <= 0 || keyBits > 4096) throw new IntegrityStudioError(`key size ${keyBits} is not a positive multiple of 8 bits`);
  const vkLen = keyBits / 8 + (integ ? integrityKeySize(integ) : 0);
  const sectorSize = o.sectorSize ?? 512;
  if (![512, 1024, 2048, 4096].includes(sectorSize)) throw new IntegrityStudioError(`Unsupported encryption sector size ${sectorSize}.`);
  const hash = o.hash ?? 'sha256';
  if (!nodeHash(hash)) throw new IntegrityStudioError(`hash "${hash}" is not supported`);
  const slot = o.keyslot ?? 0;
  if (!Number.isInteger(slot) || slot < 0 || slot > 31) throw new IntegrityStudioError(`keyslot ${slot} is out of range (0..31)`);
  if (o.volumeKey && o.volumeKey.length !== vkLen)
    throw new IntegrityStudioError(`the volume key is ${o.volumeKey.length} bytes; this cipher and integrity need ${vkLen}`);
  const label = o.label ?? '';
  const subsystem = o.subsystem ?? '';
  if (Buffer.byteLength(label) > 47 || Buffer.byteLength(subsystem) > 47) throw new IntegrityStudioError('label and subsystem are at most 47 bytes');
  const uuid = o.uuid ?? crypto.randomUUID();

  const own = typeof target === 'string';
  const dev = own ? FileDevice.open(target, { readOnly: false }) : target;
  const pass = secretBytes(o.secret);
  const volumeKey = o.volumeKey ? Buffer.from(o.volumeKey) : crypto.randomBytes(vkLen);
  let areaKey: Buffer | null = null;
  let split: Buffer | null = null;
  try {
    if (dev.size <= LUKS2_DEFAULT_DATA_OFFSET) {
      throw new IntegrityStudioError(
        `${dev.name} is too small: a LUKS2 device needs more than ${LUKS2_DEFAULT_DATA_OFFSET} bytes (16 MiB of metadata and keyslots)`,
      );
    }
    const areaKeySize = 64; // aes-xts-plain64, 512-bit: cryptsetup's keyslot cipher
    const kdfSalt = crypto.randomBytes(32).toString('base64');
    const kdf = await chooseKdf(o, areaKeySize, kdfSalt);
    const areaLen = afSectors(vkLen, LUKS_STRIPES) * 512;
    const areaOffset = 2 * LUKS2_HDR_SIZE + slot * ceil4k(areaLen);
    const areaSize = ceil4k(areaLen);
    if (areaOffset + areaSize > 2 * LUKS2_HDR_SIZE + LUKS2_DEFAULT_KEYSLOTS_SIZE)
      throw new IntegrityStudioError(`keyslot ${slot} does not fit the keyslots area`);

    areaKey = await deriveKey(pass, kdf, areaKeySize, o.onProgress, slot);
    split = Buffer.alloc(areaSize);
    afSplit(volumeKey, LUKS_STRIPES, hash).copy(split);
    cryptArea('aes-xts-plain64', areaKey, split.subarray(0, areaLen), true);

    const digestSalt = crypto.randomBytes(32);
    const dIter = digestIterations(hash, vkLen);
    const digest = crypto.pbkdf2Sync(volumeKey, digestSalt, dIter, crypto.createHash(nodeHash(hash)!).digest().length, nodeHash(hash)!);

    const kdfJson =
      kdf.type === 'pbkdf2'
        ? { type: 'pbkdf2', hash: kdf.hash, iterations: kdf.iterations, salt: kdf.salt }
        : { type: kdf.type, time: kdf.time, memory: kdf.memory, cpus: kdf.cpus, salt: kdf.salt };
    const segment: Record<string, unknown> = {
      type: 'crypt',
      offset: u64s(LUKS2_DEFAULT_DATA_OFFSET),
      size: 'dynamic',
      iv_tweak: '0',
      encryption: cipher,
      sector_size: sectorSize,
    };
    if (integ) segment.integrity = { type: integ, journal_encryption: 'none', journal_integrity: 'none' };
    const json = {
      keyslots: {
        [slot]: {
          type: 'luks2',
          key_size: vkLen,
          af: { type: 'luks1', stripes: LUKS_STRIPES, hash },
          area: { type: 'raw', offset: u64s(areaOffset), size: u64s(areaSize), encryption: 'aes-xts-plain64', key_size: areaKeySize },
          kdf: kdfJson,
        },
      },
      tokens: {},
      segments: { '0': segment },
      digests: {
        '0': {
          type: 'pbkdf2',
          keyslots: [String(slot)],
          segments: ['0'],
          hash,
          iterations: dIter,
          salt: digestSalt.toString('base64'),
          digest: digest.toString('base64'),
        },
      },
      config: { json_size: u64s(LUKS2_HDR_SIZE - LUKS2_HDR_BIN_LEN), keyslots_size: u64s(LUKS2_DEFAULT_KEYSLOTS_SIZE) },
    };
    const text = Buffer.from(JSON.stringify(json), 'utf8');
    const jsonArea = Buffer.alloc(LUKS2_HDR_SIZE - LUKS2_HDR_BIN_LEN);
    if (text.length >= jsonArea.length) throw new IntegrityStudioError('the LUKS2 JSON metadata does not fit its area');
    text.copy(jsonArea);

    // keyslots area first (zeroed, then our slot), then the secondary and primary headers
    const zero = Buffer.alloc(1 << 20);
    for (let pos = 2 * LUKS2_HDR_SIZE; pos < LUKS2_DEFAULT_DATA_OFFSET; pos += zero.length)
      dev.write(zero.subarray(0, Math.min(zero.length, LUKS2_DEFAULT_DATA_OFFSET - pos)), pos);
    dev.write(split, areaOffset);
    const seqid = 1;
    const h2 = binaryHeader(true, seqid, label, subsystem, uuid, jsonArea);
    dev.write(Buffer.concat([h2, jsonArea]), LUKS2_HDR_SIZE);
    const h1 = binaryHeader(false, seqid, label, subsystem, uuid, jsonArea);
    dev.write(Buffer.concat([h1, jsonArea]), 0);
    dev.flush();
    const info = readLuks2HeaderFrom(dev, own ? target : dev.name);
    return { info, volumeKey };
  } catch (e) {
    volumeKey.fill(0);
    throw e;
  } finally {
    pass.fill(0);
    areaKey?.fill(0);
    split?.fill(0);
    if (own) dev.close();
  }
}
