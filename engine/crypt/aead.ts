// dm-crypt's per-sector AEAD for `integrity:<tag_size>:aead` with random IVs, as crypt_convert_block_aead in
// drivers/md/dm-crypt.c does it. Per encryption sector (512 or 4096 bytes, one dm-integrity block):
//   tag tuple (the dm-integrity tag, on_disk_tag_size bytes) = [auth tag (integrity_tag_size)][IV (iv_size)][zeros]
//   associated data = le64(sector in 512-byte units, relative to the target: cc_sector - iv_offset) ‖ IV
//   the IV is random on write (the "random" IV generator), read back from the tuple on read (integrity_iv_size).
// The sector in the AAD is the 512-byte sector even for 4096-byte encryption sectors: CRYPT_IV_LARGE_SECTORS
// only shifts dmreq->iv_sector, which the random generator does not use.
// Modes (cryptsetup LUKS2 segment encryption + integrity → the kernel's AEAD):
//   aes-xts-random + hmac(sha1|sha256|sha512) → authenc(hmac(sha*),xts(aes)): the volume key is the XTS key ‖ the
//       HMAC key (crypt_ctr_auth_cipher: key_mac_size = the digest size; crypt_copy_authenckey takes the MAC key from
//       the end); tag = HMAC(mac key, AAD ‖ ciphertext) (crypto/authenc.c), truncated to integrity_tag_size
//   aes-gcm-random + aead → gcm(aes), 12-byte IV, 16-byte tag
//   chacha20-random + poly1305 → rfc7539(chacha20,poly1305), 12-byte IV, 16-byte tag
//   aegis128-random + aead → aegis128, 16-byte IV, 16-byte tag (aegis128.ts)
import crypto from 'node:crypto';
import { IntegrityStudioError } from '../errors.js';
import { aegis128Decrypt, aegis128Encrypt } from './aegis128.js';

export interface SectorCipher {
  /** the kernel's AEAD name, as dmsetup table shows it after capi: */
  readonly kernelName: string;
  /** bytes of the authentication tag (cc->integrity_tag_size) */
  readonly authSize: number;
  /** bytes of the IV stored in the tuple (cc->integrity_iv_size) */
  readonly ivSize: number;
  /** bytes of a dm-integrity tag (cc->on_disk_tag_size) */
  readonly tupleSize: number;
  /**
   * Encrypts one encryption sector whose first 512-byte sector is `sector`, with a fresh random IV: ciphertext to
   * out[outOff..], the tuple to tuple[tupleOff..+tupleSize].
   */
  encrypt(sector: number, plain: Uint8Array, out: Uint8Array, outOff: number, tuple: Uint8Array, tupleOff: number, iv?: Uint8Array): void;
  /** Decrypts and authenticates one sector; false when authentication fails (`out` then holds zeros, never plaintext). */
  decrypt(sector: number, cipher: Uint8Array, tuple: Uint8Array, tupleOff: number, out: Uint8Array, outOff: number): boolean;
  /** Authenticates one sector without decrypting it, where the mode allows (authenc: the MAC is over the
   *  ciphertext); absent for modes whose tag check is the decryption itself (gcm, chacha20-poly1305, aegis128). */
  authenticate?(sector: number, cipher: Uint8Array, tuple: Uint8Array, tupleOff: number): boolean;
  /**
   * Many consecutive encryption sectors at once, where the mode allows batching the cipher (authenc: XTS as two ECB
   * calls per chunk, see xtsMany): decryptMany authenticates each, decrypts the chunk, zeroes the failing ones and
   * returns their indexes; encryptMany makes a fresh random IV per sector.
   */
  decryptMany?(firstSector: number, spb: number, n: number, cipher: Buffer, tuples: Uint8Array, out: Buffer, outOff: number): number[];
  encryptMany?(firstSector: number, spb: number, n: number, plain: Buffer, out: Buffer, tuples: Uint8Array): void;
}

/** a XOR b into dst (same lengths, multiples of 16) */
function xorInto(dst: Buffer, a: Buffer, b: Buffer): void {
  const n = dst.length;
  if (!((dst.byteOffset | a.byteOffset | b.byteOffset) & 3)) {
    const d = new Uint32Array(dst.buffer, dst.byteOffset, n >>> 2), x = new Uint32Array(a.buffer, a.byteOffset, n >>> 2), y = new Uint32Array(b.buffer, b.byteOffset, n >>> 2);
    for (let i = 0; i < d.length; i++) d[i] = x[i]! ^ y[i]!;
    return;
  }
  for (let i = 0; i < n; i++) dst[i] = a[i]! ^ b[i]!;
}

/**
 * XTS (IEEE P1619, as the kernel's xts(aes) and OpenSSL's aes-xts) over n data units of `unit` bytes, each with its
 * own 16-byte tweak IV: T0 = E_K2(IV), T(j+1) = T(j)·α in GF(2^128) (little-endian, 0x87), and
 * C(j) = E_K1(P(j) ⊕ T(j)) ⊕ T(j) — so the whole chunk is one ECB call under K2 (the IVs) and one under K1 (the
 * data). Units are multiples of 16 bytes (no ciphertext stealing: 512..4096-byte sectors).
 */
export function xtsMany(encrypt: boolean, key: Uint8Array, ivs: Buffer, data: Buffer, unit: number): Buffer {
  const half = key.length / 2;
  const ecb = `aes-${half * 8}-ecb`;
  const n = data.length / unit;
  const t0 = crypto.createCipheriv(ecb, key.subarray(half), null).setAutoPadding(false).update(ivs.subarray(0, n * 16));
  const tw = Buffer.allocUnsafe(data.length);
  const w = new Uint32Array(tw.buffer, tw.byteOffset, tw.length >>> 2);
  const blocks = unit / 16;
  for (let u = 0; u < n; u++) {
    let w0 = t0.readUInt32LE(u * 16), w1 = t0.readUInt32LE(u * 16 + 4), w2 = t0.readUInt32LE(u * 16 + 8), w3 = t0.readUInt32LE(u * 16 + 12);
    let o = u * blocks * 4;
    for (let j = 0; j < blocks; j++, o += 4) {
      w[o] = w0; w[o + 1] = w1; w[o + 2] = w2; w[o + 3] = w3;
      const carry = w3 >>> 31;
      w3 = ((w3 << 1) | (w2 >>> 31)) >>> 0;
      w2 = ((w2 << 1) | (w1 >>> 31)) >>> 0;
      w1 = ((w1 << 1) | (w0 >>> 31)) >>> 0;
      w0 = ((w0 << 1) ^ (carry ? 0x87 : 0)) >>> 0;
    }
  }
  // the tweak words were written in host order; XTS tweaks are little-endian (every platform Node runs on is)
  const x = Buffer.allocUnsafe(data.length);
  xorInto(x, data, tw);
  const c = encrypt ? crypto.createCipheriv(ecb, key.subarray(0, half), null) : crypto.createDecipheriv(ecb, key.subarray(0, half), null);
  const y = c.setAutoPadding(false).update(x);
  xorInto(x, y, tw);
  return x;
}

export interface AeadSpec {
  kernelName: string;
  ivSize: number;
  authSize: number;
  /** bytes of the volume key */
  keySizes: number[];
}

const HMAC_DIGEST: Record<string, number> = { sha1: 20, sha256: 32, sha512: 64 };

/** LUKS2 segment encryption + integrity type → the AEAD, or a clear refusal naming what is supported. */
export function aeadSpec(encryption: string, integrity: string, keySize?: number): AeadSpec {
  const m = /^hmac\((sha1|sha256|sha512)\)$/.exec(integrity) ?? /^hmac-(sha1|sha256|sha512)$/.exec(integrity);
  if (encryption === 'aes-xts-random' && m) {
    const d = HMAC_DIGEST[m[1]!]!;
    return { kernelName: `authenc(hmac(${m[1]}),xts(aes))`, ivSize: 16, authSize: d, keySizes: [32 + d, 64 + d] };
  }
  if (encryption === 'aes-gcm-random' && integrity === 'aead') return { kernelName: 'gcm(aes)', ivSize: 12, authSize: 16, keySizes: [16, 24, 32] };
  if (encryption === 'chacha20-random' && integrity === 'poly1305') return { kernelName: 'rfc7539(chacha20,poly1305)', ivSize: 12, authSize: 16, keySizes: [32] };
  if (encryption === 'aegis128-random' && integrity === 'aead') return { kernelName: 'aegis128', ivSize: 16, authSize: 16, keySizes: [16] };
  throw new IntegrityStudioError(
    `unsupported authenticated encryption: cipher ${encryption} with integrity ${integrity}${keySize ? ` (${keySize * 8}-bit key)` : ''} ` +
      '(supported: aes-xts-random with hmac(sha256|sha512|sha1), aes-gcm-random with aead, chacha20-random with poly1305, aegis128-random with aead)',
    'EUNSUPPORTED',
  );
}

const HMAC_BLOCK: Record<string, number> = { sha1: 64, sha256: 64, sha512: 128 };
const oneShot = (crypto as unknown as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;

/**
 * HMAC(macKey, aad ‖ ciphertext) of one sector as crypto/authenc.c computes it (RFC 2104), with the key pads
 * computed once: two one-shot hashes over preallocated buffers (H(K⊕opad ‖ H(K⊕ipad ‖ m))) instead of a new
 * Hmac object per sector. `aad` is read when the MAC is taken. Falls back to createHmac without crypto.hash.
 */
function hmacOf(digest: string, macKey: Uint8Array, aad: Buffer, sectorSize: number): (c: Uint8Array) => Buffer {
  const block = HMAC_BLOCK[digest]!;
  if (!oneShot || macKey.length > block) return (c) => crypto.createHmac(digest, macKey).update(aad).update(c).digest();
  const hash = oneShot;
  const dlen = HMAC_DIGEST[digest]!;
  const inner = Buffer.alloc(block + aad.length + sectorSize, 0x36);
  const outer = Buffer.alloc(block + dlen, 0x5c);
  for (let i = 0; i < macKey.length; i++) { inner[i]! ^= macKey[i]!; outer[i]! ^= macKey[i]!; }
  return (c) => {
    aad.copy(inner, block);
    inner.set(c.subarray(0, sectorSize), block + aad.length);
    hash(digest, inner, 'buffer').copy(outer, block);
    return hash(digest, outer, 'buffer');
  };
}

/** The per-sector AEAD of a segment, keyed with the volume key; `tupleSize` is the dm-integrity tag size. */
export function sectorCipher(encryption: string, integrity: string, volumeKey: Uint8Array, tupleSize: number, sectorSize: number): SectorCipher {
  const spec = aeadSpec(encryption, integrity, volumeKey.length);
  if (!spec.keySizes.includes(volumeKey.length)) {
    throw new IntegrityStudioError(`${spec.kernelName}: a ${volumeKey.length}-byte volume key is not valid (valid: ${spec.keySizes.join(', ')} bytes)`, 'EKEY');
  }
  // crypt_ctr_auth_cipher/crypt_ctr_optional: on_disk_tag_size = integrity_tag_size + integrity_iv_size
  const authSize = tupleSize - spec.ivSize;
  if (authSize <= 0 || authSize > spec.authSize) {
    throw new IntegrityStudioError(`the dm-integrity tag size ${tupleSize} does not hold a ${spec.kernelName} tag and its ${spec.ivSize}-byte IV`, 'EFORMAT');
  }
  if (spec.kernelName !== 'aegis128' && !spec.kernelName.startsWith('authenc') && authSize !== 16) {
    throw new IntegrityStudioError(`${spec.kernelName} with a ${authSize}-byte tag is not supported (16)`, 'EUNSUPPORTED');
  }
  const key = Buffer.from(volumeKey);
  const ivSize = spec.ivSize;
  const aad = Buffer.alloc(8 + ivSize);
  const base = { kernelName: spec.kernelName, authSize, ivSize, tupleSize };
  const fill = (sector: number, iv: Uint8Array) => {
    aad.writeBigUInt64LE(BigInt(sector), 0);
    aad.set(iv, 8);
  };
  const newIv = (iv?: Uint8Array) => (iv ? Buffer.from(iv) : crypto.randomBytes(ivSize));
  const pad = (tuple: Uint8Array, off: number) => tuple.fill(0, off + authSize + ivSize, off + tupleSize);

  if (spec.kernelName.startsWith('authenc')) {
    const digest = /hmac\((\w+)\)/.exec(spec.kernelName)![1]!;
    const macSize = HMAC_DIGEST[digest]!;
    const encKey = key.subarray(0, key.length - macSize);
    const macKey = key.subarray(key.length - macSize);
    const xts = `aes-${encKey.length * 4}-xts`;
    const run = (enc: boolean, iv: Uint8Array, src: Uint8Array): Buffer => {
      try {
        const c = enc ? crypto.createCipheriv(xts, encKey, iv) : crypto.createDecipheriv(xts, encKey, iv);
        return Buffer.concat([c.update(src), c.final()]);
      } catch (e) {
        throw new IntegrityStudioError(`xts(aes): ${(e as Error).message}`, 'EKEY');
      }
    };
    const mac = hmacOf(digest, macKey, aad, sectorSize);
    const ivs = Buffer.alloc(16 * 8192);
    return {
      ...base,
      decryptMany(firstSector, spb, n, cipher, tuples, out, outOff) {
        const bad: number[] = [];
        for (let b = 0; b < n; b++) {
          const off = b * tupleSize;
          const iv = tuples.subarray(off + authSize, off + authSize + ivSize);
          fill(firstSector + b * spb, iv);
          ivs.set(iv, b * 16);
          if (!crypto.timingSafeEqual(mac(cipher.subarray(b * sectorSize, (b + 1) * sectorSize)).subarray(0, authSize), tuples.subarray(off, off + authSize))) bad.push(b);
        }
        xtsMany(false, encKey, ivs, cipher.subarray(0, n * sectorSize), sectorSize).copy(out, outOff);
        // a sector failing authentication reads as zeros, never its plaintext
        for (const b of bad) out.fill(0, outOff + b * sectorSize, outOff + (b + 1) * sectorSize);
        return bad;
      },
      encryptMany(firstSector, spb, n, plain, out, tuples) {
        crypto.randomFillSync(ivs, 0, n * 16);
        xtsMany(true, encKey, ivs, plain.subarray(0, n * sectorSize), sectorSize).copy(out, 0);
        for (let b = 0; b < n; b++) {
          const off = b * tupleSize;
          const iv = ivs.subarray(b * 16, b * 16 + 16);
          fill(firstSector + b * spb, iv);
          tuples.set(mac(out.subarray(b * sectorSize, (b + 1) * sectorSize)).subarray(0, authSize), off);
          tuples.set(iv, off + authSize);
          pad(tuples, off);
        }
      },
      encrypt(sector, plain, out, outOff, tuple, tupleOff, ivIn) {
        const iv = newIv(ivIn);
        fill(sector, iv);
        const c = run(true, iv, plain.subarray(0, sectorSize));
        out.set(c, outOff);
        tuple.set(mac(c).subarray(0, authSize), tupleOff);
        tuple.set(iv, tupleOff + authSize);
        pad(tuple, tupleOff);
      },
      authenticate(sector, cipher, tuple, tupleOff) {
        fill(sector, tuple.subarray(tupleOff + authSize, tupleOff + authSize + ivSize));
        return crypto.timingSafeEqual(mac(cipher.subarray(0, sectorSize)).subarray(0, authSize), tuple.subarray(tupleOff, tupleOff + authSize));
      },
      decrypt(sector, cipher, tuple, tupleOff, out, outOff) {
        const iv = tuple.subarray(tupleOff + authSize, tupleOff + authSize + ivSize);
        fill(sector, iv);
        const c = cipher.subarray(0, sectorSize);
        const want = mac(c).subarray(0, authSize);
        if (!crypto.timingSafeEqual(want, tuple.subarray(tupleOff, tupleOff + authSize))) {
          out.fill(0, outOff, outOff + sectorSize);
          return false;
        }
        out.set(run(false, Buffer.from(iv), c), outOff);
        return true;
      },
    };
  }
  if (spec.kernelName === 'aegis128') {
    return {
      ...base,
      encrypt(sector, plain, out, outOff, tuple, tupleOff, ivIn) {
        const iv = newIv(ivIn);
        fill(sector, iv);
        const tag = aegis128Encrypt(key, iv, aad, plain.subarray(0, sectorSize), out.subarray(outOff, outOff + sectorSize), authSize);
        tuple.set(tag, tupleOff);
        tuple.set(iv, tupleOff + authSize);
        pad(tuple, tupleOff);
      },
      decrypt(sector, cipher, tuple, tupleOff, out, outOff) {
        const iv = tuple.subarray(tupleOff + authSize, tupleOff + authSize + ivSize);
        fill(sector, iv);
        return aegis128Decrypt(key, iv, aad, cipher.subarray(0, sectorSize), tuple.subarray(tupleOff, tupleOff + authSize), out.subarray(outOff, outOff + sectorSize));
      },
    };
  }
  const node = spec.kernelName === 'gcm(aes)' ? `aes-${key.length * 8}-gcm` : 'chacha20-poly1305';
  return {
    ...base,
    encrypt(sector, plain, out, outOff, tuple, tupleOff, ivIn) {
      const iv = newIv(ivIn);
      fill(sector, iv);
      const c = crypto.createCipheriv(node as crypto.CipherGCMTypes, key, iv, { authTagLength: 16 });
      c.setAAD(aad);
      const ct = c.update(plain.subarray(0, sectorSize));
      c.final();
      out.set(ct, outOff);
      tuple.set(c.getAuthTag(), tupleOff);
      tuple.set(iv, tupleOff + authSize);
      pad(tuple, tupleOff);
    },
    decrypt(sector, cipher, tuple, tupleOff, out, outOff) {
      const iv = tuple.subarray(tupleOff + authSize, tupleOff + authSize + ivSize);
      fill(sector, iv);
      const d = crypto.createDecipheriv(node as crypto.CipherGCMTypes, key, iv, { authTagLength: 16 });
      d.setAAD(aad);
      d.setAuthTag(tuple.subarray(tupleOff, tupleOff + authSize));
      const pt = d.update(cipher.subarray(0, sectorSize));
      try {
        d.final();
      } catch {
        out.fill(0, outOff, outOff + sectorSize);
        return false;
      }
      out.set(pt, outOff);
      return true;
    },
  };
}
