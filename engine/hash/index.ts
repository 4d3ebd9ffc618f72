// Tag algorithms behind one interface. The kernel's integrity_sector_checksum():
//   tag = H([salt if fix_hmac] ‖ le64(logical sector) ‖ block data), truncated to tag_size or zero-padded.
import crypto from 'node:crypto';
import { IntegrityStudioError } from '../errors.js';
import { crc32c } from './crc32c.js';

export interface TagHasherOptions {
  /** integritysetup name: crc32c, crc32, sha1, sha256, hmac-sha256, blake2b-256, xxhash64, ... */
  algorithm: string;
  /** key for keyed algorithms (hmac-*) */
  key?: Uint8Array;
  /** the superblock salt, present when the superblock has fix_hmac */
  salt?: Uint8Array | null;
  tagSize: number;
}

export interface TagHasher {
  readonly algorithm: string;
  readonly digestSize: number;
  readonly tagSize: number;
  readonly keyed: boolean;
  /** writes the tag of one block (whose first 512-byte sector is `sector`) to out[outOffset..+tagSize] */
  tag(sector: number, block: Uint8Array, out: Uint8Array, outOffset: number): void;
}

export interface AlgorithmInfo {
  /** the kernel's crypto API name, as dmsetup table shows it (internal_hash:...) */
  kernelName: string;
  digestSize: number;
  keyed: boolean;
}

const ALGORITHMS: Record<string, AlgorithmInfo> = {
  crc32c: { kernelName: 'crc32c', digestSize: 4, keyed: false },
  sha1: { kernelName: 'sha1', digestSize: 20, keyed: false },
  sha256: { kernelName: 'sha256', digestSize: 32, keyed: false },
  'hmac-sha256': { kernelName: 'hmac(sha256)', digestSize: 32, keyed: true },
};

export function algorithmInfo(algorithm: string): AlgorithmInfo {
  const info = ALGORITHMS[algorithm];
  if (!info) {
    throw new IntegrityStudioError(
      `unsupported integrity algorithm "${algorithm}" (supported: ${Object.keys(ALGORITHMS).join(', ')})`,
    );
  }
  return info;
}

export function supportedAlgorithms(): string[] {
  return Object.keys(ALGORITHMS);
}

export function createTagHasher(o: TagHasherOptions): TagHasher {
  const info = algorithmInfo(o.algorithm);
  if (info.keyed && !o.key) throw new IntegrityStudioError(`${o.algorithm} needs a key (--integrity-key-file)`);
  if (!info.keyed && o.key) throw new IntegrityStudioError(`${o.algorithm} takes no key`);
  const salt = o.salt ? Buffer.from(o.salt) : null;
  const prefix = Buffer.alloc((salt ? salt.length : 0) + 8);
  if (salt) salt.copy(prefix, 0);
  const secOff = salt ? salt.length : 0;
  const tagSize = o.tagSize;
  const n = Math.min(tagSize, info.digestSize);
  let tag: TagHasher['tag'];
  if (o.algorithm === 'crc32c') {
    const saltCrc = salt ? crc32c(salt, 0) : 0;
    const le = Buffer.alloc(4);
    tag = (sector, block, out, off) => {
      prefix.writeBigUInt64LE(BigInt(sector), secOff);
      let c = crc32c(prefix.subarray(secOff), saltCrc);
      c = crc32c(block, c);
      le.writeUInt32LE(c >>> 0, 0);
      for (let i = 0; i < tagSize; i++) out[off + i] = i < 4 ? le[i]! : 0;
    };
  } else {
    const name = o.algorithm.startsWith('hmac-') ? o.algorithm.slice(5) : o.algorithm;
    const key = o.key ? Buffer.from(o.key) : null;
    tag = (sector, block, out, off) => {
      prefix.writeBigUInt64LE(BigInt(sector), secOff);
      const h = key ? crypto.createHmac(name, key) : crypto.createHash(name);
      h.update(prefix);
      h.update(block);
      const d = h.digest();
      for (let i = 0; i < tagSize; i++) out[off + i] = i < n ? d[i]! : 0;
    };
  }
  return { algorithm: o.algorithm, digestSize: info.digestSize, tagSize, keyed: info.keyed, tag };
}
