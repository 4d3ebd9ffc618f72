// Tag algorithms behind one interface, each computed exactly as the kernel's crypto API shash of the same
// name computes it inside integrity_sector_checksum():
//   tag = H([salt if fix_hmac] ‖ le64(logical sector) ‖ block data), truncated to tag_size or zero-padded.
// Kernel specifics (checked against the kernel in hash.oracle.test.ts):
//   crc32c   crc32c_generic: seed ~0, final ~crc, digest little-endian
//   crc32    crc32_generic: seed 0 and NO final xor (crc32_le(0, data)), digest little-endian
//   xxhash64 xxhash_generic: seed 0, digest = le64(xxh64)
//   blake2b-256  blake2b with a 32-byte digest (its own parameter block; not a truncated blake2b-512)
//   sha*, hmac(sha*)  as usual, digest in the standard byte order
// integritysetup names "hmac-sha256" and the like; the kernel name is "hmac(sha256)" (cryptsetup's
// crypt_parse_hash_integrity_mode keeps a name whose second part starts with a digit: "blake2b-256").
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { IntegrityStudioError } from '../errors.js';
import { Blake2b } from './blake2b.js';
import { nativeTags, type NativeHandle } from './native.js';

const require = createRequire(import.meta.url);
const nativeCrc = require('@node-rs/crc32') as { crc32(b: Uint8Array, init?: number): number; crc32c(b: Uint8Array, init?: number): number };
const nativeXxh = require('@node-rs/xxhash') as { xxh64(b: Uint8Array, seed?: bigint): bigint };

export interface TagHasherOptions {
  /** integritysetup name: crc32c, crc32, sha1, sha256, hmac-sha256, blake2b-256, xxhash64, ... */
  algorithm: string;
  /** key for keyed algorithms (hmac-*) */
  key?: Uint8Array;
  /** the superblock salt, present when the superblock has fix_hmac */
  salt?: Uint8Array | null;
  tagSize: number;
  /** false: the JavaScript hashes even when the native addon loads (tests compare the two) */
  native?: boolean;
}

export interface TagHasher {
  readonly algorithm: string;
  readonly digestSize: number;
  readonly tagSize: number;
  readonly keyed: boolean;
  /** set when there is no internal hash and the tags come from the layer above (volume.ts externalTags) */
  readonly external?: boolean;
  /** writes the tag of one block (whose first 512-byte sector is `sector`) to out[outOffset..+tagSize] */
  tag(sector: number, block: Uint8Array, out: Uint8Array, outOffset: number): void;
  /**
   * The tags of every `blockSize` block of `data` (the first at logical `sector`) into out[outOffset..]: one
   * native call for the whole run (on every core when the run is large), or the JavaScript loop.
   */
  tagRun(sector: number, blockSize: number, data: Uint8Array, out: Uint8Array, outOffset?: number): void;
  /** whether the native addon computes these tags */
  readonly native: boolean;
  /**
   * Native only: hands a run to the helper threads and returns, so the caller can read the next chunk meanwhile;
   * finishRun() hashes the rest on this thread and waits. `data` and `out` must not change in between.
   */
  beginRun?(sector: number, blockSize: number, data: Uint8Array, out: Uint8Array): void;
  /** 0, or the errno of a failed read of a beginReadRun (-1: end of file): the run's data and tags are then incomplete */
  finishRun?(): number;
  /** beginRun() whose blocks the threads first read from fd at byte pos (native only) */
  beginReadRun?(fd: number, pos: number, sector: number, blockSize: number, data: Uint8Array, out: Uint8Array): void;
}

export interface AlgorithmInfo {
  /** the kernel's crypto API name, as dmsetup table shows it (internal_hash:...) */
  kernelName: string;
  digestSize: number;
  keyed: boolean;
}

const ALGORITHMS: Record<string, AlgorithmInfo> = {
  crc32c: { kernelName: 'crc32c', digestSize: 4, keyed: false },
  crc32: { kernelName: 'crc32', digestSize: 4, keyed: false },
  xxhash64: { kernelName: 'xxhash64', digestSize: 8, keyed: false },
  sha1: { kernelName: 'sha1', digestSize: 20, keyed: false },
  sha256: { kernelName: 'sha256', digestSize: 32, keyed: false },
  sha512: { kernelName: 'sha512', digestSize: 64, keyed: false },
  'blake2b-256': { kernelName: 'blake2b-256', digestSize: 32, keyed: false },
  'hmac-sha1': { kernelName: 'hmac(sha1)', digestSize: 20, keyed: true },
  'hmac-sha256': { kernelName: 'hmac(sha256)', digestSize: 32, keyed: true },
  'hmac-sha512': { kernelName: 'hmac(sha512)', digestSize: 64, keyed: true },
};

/** Block sizes of the digests behind the HMACs (RFC 2104 pads the key to this). */
const HMAC_BLOCK: Record<string, number> = { sha1: 64, sha256: 64, sha512: 128 };

export function algorithmInfo(algorithm: string): AlgorithmInfo {
  const info = Object.hasOwn(ALGORITHMS, algorithm) ? ALGORITHMS[algorithm] : undefined;
  if (!info) {
    throw new IntegrityStudioError(`unsupported integrity algorithm "${algorithm}" (supported: ${Object.keys(ALGORITHMS).join(', ')})`);
  }
  return info;
}

export function supportedAlgorithms(): string[] {
  return Object.keys(ALGORITHMS);
}

/**
 * A one-shot digest over a message that is assembled in a reused scratch buffer: `head` fixed bytes, then
 * 8 bytes for the sector, then up to `maxBody` bytes. One native call per block, no per-block allocation
 * beyond what node:crypto returns.
 */
export interface Digest {
  readonly size: number;
  /** digest of scratch[0..len] written to out[off..off+min(size, n)] */
  into(len: number, out: Uint8Array, off: number, n: number): void;
}

/** Creates the keyed or unkeyed digest function for an algorithm over a scratch buffer. */
export function makeDigest(algorithm: string, key: Uint8Array | undefined, scratch: Buffer): Digest {
  const info = algorithmInfo(algorithm);
  if (info.keyed && (!key || key.length === 0)) throw new IntegrityStudioError(`${algorithm} needs a key (--integrity-key-file)`);
  if (!info.keyed && key) throw new IntegrityStudioError(`${algorithm} takes no key`);
  const le4 = Buffer.alloc(4);
  const le8 = Buffer.alloc(8);
  switch (algorithm) {
    case 'crc32c':
      return {
        size: 4,
        into(len, out, off, n) {
          le4.writeUInt32LE(nativeCrc.crc32c(scratch.subarray(0, len), 0) >>> 0, 0);
          for (let i = 0; i < n; i++) out[off + i] = le4[i]!;
        },
      };
    case 'crc32':
      // kernel crc32 = crc32_le(0, data) with no final inversion; zlib's crc32(d, s) = ~crc32_le(~s, d)
      return {
        size: 4,
        into(len, out, off, n) {
          le4.writeUInt32LE(~nativeCrc.crc32(scratch.subarray(0, len), 0xffffffff) >>> 0, 0);
          for (let i = 0; i < n; i++) out[off + i] = le4[i]!;
        },
      };
    case 'xxhash64':
      return {
        size: 8,
        into(len, out, off, n) {
          le8.writeBigUInt64LE(nativeXxh.xxh64(scratch.subarray(0, len), 0n), 0);
          for (let i = 0; i < n; i++) out[off + i] = le8[i]!;
        },
      };
    case 'blake2b-256': {
      const b = new Blake2b(32);
      return {
        size: 32,
        into(len, out, off, n) {
          b.digestInto(scratch.subarray(0, len), out, off, n);
        },
      };
    }
    default: {
      const name = algorithm.startsWith('hmac-') ? algorithm.slice(5) : algorithm;
      if (!info.keyed) {
        return {
          size: info.digestSize,
          into(len, out, off, n) {
            const d = crypto.hash(name, scratch.subarray(0, len), 'buffer') as unknown as Buffer;
            for (let i = 0; i < n; i++) out[off + i] = d[i]!;
          },
        };
      }
      // HMAC as two one-shot hashes with precomputed pads (RFC 2104); the caller reserves `block` bytes at the
      // start of scratch for the inner pad (see hmacPrefix()).
      const block = HMAC_BLOCK[name]!;
      let k: Buffer = Buffer.from(key!);
      if (k.length > block) k = crypto.hash(name, k, 'buffer') as unknown as Buffer;
      const opad = Buffer.alloc(block + info.digestSize, 0x5c);
      for (let i = 0; i < block; i++) {
        scratch[i] = (k[i] ?? 0) ^ 0x36;
        opad[i] = (k[i] ?? 0) ^ 0x5c;
      }
      return {
        size: info.digestSize,
        into(len, out, off, n) {
          const inner = crypto.hash(name, scratch.subarray(0, len), 'buffer') as unknown as Buffer;
          inner.copy(opad, block);
          const d = crypto.hash(name, opad, 'buffer') as unknown as Buffer;
          for (let i = 0; i < n; i++) out[off + i] = d[i]!;
        },
      };
    }
  }
}

/** Bytes a keyed digest keeps at the start of its scratch buffer (the HMAC inner pad), 0 for plain digests. */
export function hmacPrefix(algorithm: string): number {
  if (!algorithm.startsWith('hmac-')) return 0;
  return HMAC_BLOCK[algorithm.slice(5)]!;
}

/** The largest block the hashers accept (MAX_SECTORS_PER_BLOCK × 512). */
const MAX_BLOCK = 4096;
const SECTOR_BYTES = 512;

export function createTagHasher(o: TagHasherOptions): TagHasher {
  const info = algorithmInfo(o.algorithm);
  if (info.keyed && !o.key) throw new IntegrityStudioError(`${o.algorithm} needs a key (--integrity-key-file)`);
  if (!info.keyed && o.key) throw new IntegrityStudioError(`${o.algorithm} takes no key`);
  const salt = o.salt ? Buffer.from(o.salt) : null;
  const pre = hmacPrefix(o.algorithm);
  const saltLen = salt ? salt.length : 0;
  // scratch = [hmac inner pad] ‖ [salt] ‖ le64(sector) ‖ block
  const scratch = Buffer.alloc(pre + saltLen + 8 + MAX_BLOCK);
  const digest = makeDigest(o.algorithm, o.key, scratch);
  if (salt) salt.copy(scratch, pre);
  const secOff = pre + saltLen;
  const dataOff = secOff + 8;
  const tagSize = o.tagSize;
  const n = Math.min(tagSize, digest.size);
  if (o.algorithm === 'crc32c' || o.algorithm === 'crc32') {
    // CRCs continue across calls: no copy of the block (zlib-style continuation: c(a‖b) = c(b, c(a)))
    const le4 = Buffer.alloc(4);
    const head = scratch.subarray(0, dataOff);
    const isC = o.algorithm === 'crc32c';
    const crcTag: TagHasher['tag'] = (sector, block, out, off) => {
      scratch.writeUInt32LE(sector % 0x100000000, secOff);
      scratch.writeUInt32LE(Math.floor(sector / 0x100000000), secOff + 4);
      // kernel crc32 is crc32_le(0, ·) without the final inversion = ~zlib_crc32(·, ~0)
      const v = isC ? nativeCrc.crc32c(block, nativeCrc.crc32c(head, 0)) : ~nativeCrc.crc32(block, nativeCrc.crc32(head, 0xffffffff));
      le4.writeUInt32LE(v >>> 0, 0);
      for (let i = 0; i < tagSize; i++) out[off + i] = i < 4 ? le4[i]! : 0;
    };
    return withRuns(o, info, { algorithm: o.algorithm, digestSize: info.digestSize, tagSize, keyed: false, tag: crcTag });
  }
  const tag: TagHasher['tag'] = (sector, block, out, off) => {
    if (block.length > MAX_BLOCK) throw new IntegrityStudioError(`block of ${block.length} bytes is larger than ${MAX_BLOCK}`);
    scratch.writeUInt32LE(sector % 0x100000000, secOff);
    scratch.writeUInt32LE(Math.floor(sector / 0x100000000), secOff + 4);
    scratch.set(block, dataOff);
    digest.into(dataOff + block.length, out, off, n);
    for (let i = n; i < tagSize; i++) out[off + i] = 0;
  };
  return withRuns(o, info, { algorithm: o.algorithm, digestSize: info.digestSize, tagSize, keyed: info.keyed, tag });
}

type JsHasher = Pick<TagHasher, 'algorithm' | 'digestSize' | 'tagSize' | 'keyed' | 'tag'>;

/** Adds tagRun (and the native paths, when the addon is loaded) to a JavaScript hasher. */
function withRuns(o: TagHasherOptions, info: AlgorithmInfo, js: JsHasher): TagHasher {
  const n = o.native === false ? null : nativeTags();
  const jsRun = (sector: number, bs: number, data: Uint8Array, out: Uint8Array, off = 0) => {
    const spb = bs / SECTOR_BYTES;
    const nb = Math.floor(data.length / bs);
    for (let b = 0; b < nb; b++) js.tag(sector + b * spb, data.subarray(b * bs, (b + 1) * bs), out, off + b * js.tagSize);
  };
  if (!n) return { ...js, tagRun: jsRun, native: false };
  const handles = new Map<number, NativeHandle>();
  const handle = (bs: number): NativeHandle => {
    let h = handles.get(bs);
    if (!h) {
      h = n.create(o.algorithm, info.keyed ? o.key! : null, o.salt ?? null, js.tagSize, bs, 0);
      handles.set(bs, h);
    }
    return h;
  };
  let running: NativeHandle | null = null;
  const ts = js.tagSize;
  return {
    ...js,
    native: true,
    tag(sector, block, out, off) {
      if (block.length < SECTOR_BYTES || block.length > MAX_BLOCK || block.length & (block.length - 1)) return js.tag(sector, block, out, off);
      n.tags(handle(block.length), block, sector, off === 0 && out.length === ts ? out : out.subarray(off, off + ts));
    },
    tagRun(sector, bs, data, out, off = 0) {
      const h = handle(bs);
      const o2 = off === 0 ? out : out.subarray(off);
      // large runs on every core (the process-wide helper threads), small ones on this thread
      if (data.length >= 256 * 1024 && !running) {
        n.begin(h, data, sector, o2);
        n.finish(h);
      } else n.tags(h, data, sector, o2);
    },
    beginRun(sector, bs, data, out) {
      if (running) throw new IntegrityStudioError('a tag run is already in progress');
      running = handle(bs);
      n.begin(running, data, sector, out);
    },
    beginReadRun(fd, pos, sector, bs, data, out) {
      if (running) throw new IntegrityStudioError('a tag run is already in progress');
      running = handle(bs);
      n.beginRead(running, fd, pos, data, sector, out);
    },
    finishRun() {
      if (!running) return 0;
      const h = running;
      running = null;
      return n.finish(h);
    },
  };
}
