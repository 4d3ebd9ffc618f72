// dm-crypt's per-sector authenticated encryption over dm-integrity, as crypt_convert_block_aead in
// drivers/md/dm-crypt.c does it: a SectorCipher is an AEAD mode × an IV generator (iv.ts, dm-crypt's iv_gen_ops).
// Per encryption sector (512..4096 bytes, one dm-integrity block):
//   tag tuple (the dm-integrity tag, on_disk_tag_size bytes) = [auth tag (integrity_tag_size)][stored IV][zeros],
//       the stored IV being integrity_iv_size bytes: iv_size for the random generator, none for the others
//   associated data = le64(sector in 512-byte units, relative to the target: cc_sector - iv_offset) ‖ IV (iv_size)
//   IV: random → fresh on write, read back from the tuple; the others → computed from dmreq->iv_sector (the same
//       512-byte sector + iv_offset: LUKS2 sets no iv_large_sectors, so 4096-byte sectors count in 512s too)
// Modes (the LUKS2 segment's encryption + integrity → the kernel's AEAD; cryptsetup's crypt_capi_cipher):
//   aes-{xts,cbc,ctr}-IV + hmac(sha1|sha256|sha512) → authenc(hmac(sha*),{xts,cbc,ctr}(aes)): the volume key is the
//       cipher key ‖ the HMAC key [‖ the IV generator's key_extra_size bytes] (crypt_ctr_auth_cipher: key_mac_size =
//       the digest size; crypt_setkey/crypt_copy_authenckey); tag = HMAC(mac key, AAD ‖ ciphertext)
//       (crypto/authenc.c), truncated to integrity_tag_size
//   aes-gcm-IV + aead → gcm(aes), 12-byte IV, 16-byte tag
//   aes-ccm-IV + aead → rfc4309(ccm(aes)): 8-byte IV, the key's last 3 bytes are the nonce salt, the AAD it
//       authenticates is the sector alone (crypto/ccm.c crypto_rfc4309_crypt takes the IV off the AAD's end)
//   chacha20-IV + poly1305 → rfc7539(chacha20,poly1305), 12-byte IV, 16-byte tag
//   aegis128-IV + aead → aegis128, 16-byte IV, 16-byte tag (aegis128.ts)
// iv_size = max(the AEAD's ivsize, 8) (crypt_ctr_ivmode).
import crypto from 'node:crypto';
import { IntegrityStudioError } from '../errors.js';
import { aegis128Decrypt, aegis128Encrypt } from './aegis128.js';
import { ivMode, type IvGenerator } from './iv.js';

export interface SectorCipher {
  /** the kernel's AEAD name, as dmsetup table shows it after capi: */
  readonly kernelName: string;
  /** the IV generator (random, plain64, essiv:sha256, …), as after the '-' in dmsetup's cipher */
  readonly ivMode: string;
  /** bytes of the authentication tag (cc->integrity_tag_size) */
  readonly authSize: number;
  /** bytes of the IV stored in the tuple (cc->integrity_iv_size: the random generator's IV, else 0) */
  readonly ivSize: number;
  /** bytes of a dm-integrity tag (cc->on_disk_tag_size) */
  readonly tupleSize: number;
  /**
   * Encrypts one encryption sector whose first 512-byte sector is `sector` (random IVs: a fresh one, or `iv`):
   * ciphertext to out[outOff..], the tuple to tuple[tupleOff..+tupleSize].
   */
  encrypt(sector: number, plain: Uint8Array, out: Uint8Array, outOff: number, tuple: Uint8Array, tupleOff: number, iv?: Uint8Array): void;
  /** Decrypts and authenticates one sector; false when authentication fails (`out` then holds zeros, never plaintext). */
  decrypt(sector: number, cipher: Uint8Array, tuple: Uint8Array, tupleOff: number, out: Uint8Array, outOff: number): boolean;
  /** Authenticates one sector without decrypting it, where the mode allows (authenc: the MAC is over the
   *  ciphertext); absent for modes whose tag check is the decryption itself (gcm, ccm, chacha20-poly1305, aegis128). */
  authenticate?(sector: number, cipher: Uint8Array, tuple: Uint8Array, tupleOff: number): boolean;
  /**
   * Many consecutive encryption sectors at once, where the mode allows batching the cipher (authenc over XTS: two
   * ECB calls per chunk, see xtsMany; over CBC: decryption as one ECB call): decryptMany authenticates each,
   * decrypts the chunk, zeroes the failing ones and returns their indexes; encryptMany makes each sector's IV.
   */
  decryptMany?(firstSector: number, spb: number, n: number, cipher: Buffer, tuples: Uint8Array, out: Buffer, outOff: number): number[];
  encryptMany?(firstSector: number, spb: number, n: number, plain: Buffer, out: Buffer, tuples: Uint8Array): void;
}

/** a XOR b into dst (same lengths, multiples of 16) */
function xorInto(dst: Buffer, a: Buffer, b: Buffer): void {
  const n = dst.length;
  if (!((dst.byteOffset | a.byteOffset | b.byteOffset) & 3)) {
    const d = new Uint32Array(dst.buffer, dst.byteOffset, n >>> 2),
      x = new Uint32Array(a.buffer, a.byteOffset, n >>> 2),
      y = new Uint32Array(b.buffer, b.byteOffset, n >>> 2);
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
  const t0 = crypto
    .createCipheriv(ecb, key.subarray(half), null)
    .setAutoPadding(false)
    .update(ivs.subarray(0, n * 16));
  const tw = Buffer.allocUnsafe(data.length);
  const w = new Uint32Array(tw.buffer, tw.byteOffset, tw.length >>> 2);
  const blocks = unit / 16;
  for (let u = 0; u < n; u++) {
    let w0 = t0.readUInt32LE(u * 16),
      w1 = t0.readUInt32LE(u * 16 + 4),
      w2 = t0.readUInt32LE(u * 16 + 8),
      w3 = t0.readUInt32LE(u * 16 + 12);
    let o = u * blocks * 4;
    for (let j = 0; j < blocks; j++, o += 4) {
      w[o] = w0;
      w[o + 1] = w1;
      w[o + 2] = w2;
      w[o + 3] = w3;
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

/**
 * CBC decryption of n data units of `unit` bytes, each with its own 16-byte IV, as one ECB call: P(j) = D(C(j)) ⊕
 * C(j-1), C(-1) being the unit's IV (the kernel's cbc(aes); encryption is sequential and stays per unit).
 */
export function cbcDecryptMany(key: Uint8Array, ivs: Buffer, data: Buffer, unit: number): Buffer {
  const n = data.length / unit;
  const d = crypto
    .createDecipheriv(`aes-${key.length * 8}-ecb`, key, null)
    .setAutoPadding(false)
    .update(data);
  const prev = Buffer.allocUnsafe(data.length);
  data.copy(prev, 16, 0, data.length - 16);
  for (let u = 0; u < n; u++) ivs.copy(prev, u * unit, u * 16, u * 16 + 16);
  xorInto(d, d, prev);
  return d;
}

export interface AeadSpec {
  /** the kernel's AEAD (capi: name) */
  kernelName: string;
  /** the IV generator, as the cipher specification names it (random, plain64, essiv:sha256, …) */
  ivMode: string;
  /** cc->iv_size: bytes of the IV in the AAD */
  ivSize: number;
  /** cc->integrity_iv_size: bytes of the IV stored in each tuple (random: ivSize, else 0) */
  storedIvSize: number;
  /** the tag cryptsetup stores (INTEGRITY_tag_size): the digest for hmac, 16 for aead and poly1305 */
  authSize: number;
  /** bytes of the volume key */
  keySizes: number[];
  /** crypto_aead_blocksize (benbi) */
  blockSize: number;
}

const HMAC_DIGEST: Record<string, number> = { sha1: 20, sha256: 32, sha512: 64 };
const SUPPORTED =
  'supported: aes-xts-*, aes-cbc-* or aes-ctr-* with hmac-sha256|hmac-sha512|hmac-sha1, aes-gcm-* or aes-ccm-* or aegis128-* with aead, ' +
  'chacha20-* with poly1305; IV modes random, plain64, plain64be, plain, essiv:HASH (hmac-* only), benbi, null, tcw';

interface Mode {
  kind: 'authenc' | 'gcm' | 'ccm' | 'chacha' | 'aegis';
  kernelName: string;
  /** crypto_aead_ivsize */
  aeadIv: number;
  blockSize: number;
  authSize: number;
  /** the cipher's key sizes (authenc: without the MAC key) */
  cipherKeys: number[];
  digest?: string;
  inner?: 'xts' | 'cbc' | 'ctr';
}

/** cryptsetup's cipher[-chainmode]-ivmode[:ivopts] with its integrity → the kernel's AEAD, or null. */
function modeOf(encryption: string, integrity: string): { mode: Mode; iv: string } | null {
  const m = /^([a-z0-9]+)-(.+)$/.exec(encryption);
  if (!m) return null;
  const [, cipher, rest] = m as unknown as [string, string, string];
  const dash = rest.indexOf('-');
  const chain = dash < 0 ? null : rest.slice(0, dash);
  const iv = dash < 0 ? rest : rest.slice(dash + 1);
  const h = /^hmac\((sha1|sha256|sha512)\)$/.exec(integrity) ?? /^hmac-(sha1|sha256|sha512)$/.exec(integrity);
  if (cipher === 'aes' && h && (chain === 'xts' || chain === 'cbc' || chain === 'ctr')) {
    const d = HMAC_DIGEST[h[1]!]!;
    return {
      iv,
      mode: {
        kind: 'authenc',
        kernelName: `authenc(hmac(${h[1]}),${chain}(aes))`,
        aeadIv: 16,
        blockSize: chain === 'ctr' ? 1 : 16,
        authSize: d,
        cipherKeys: chain === 'xts' ? [32, 64] : [16, 24, 32],
        digest: h[1],
        inner: chain,
      },
    };
  }
  if (integrity === 'aead' && cipher === 'aes' && chain === 'gcm')
    return { iv, mode: { kind: 'gcm', kernelName: 'gcm(aes)', aeadIv: 12, blockSize: 1, authSize: 16, cipherKeys: [16, 24, 32] } };
  if (integrity === 'aead' && cipher === 'aes' && chain === 'ccm')
    return { iv, mode: { kind: 'ccm', kernelName: 'rfc4309(ccm(aes))', aeadIv: 8, blockSize: 1, authSize: 16, cipherKeys: [19, 27, 35] } };
  if (integrity === 'aead' && cipher === 'aegis128' && chain === null)
    return { iv, mode: { kind: 'aegis', kernelName: 'aegis128', aeadIv: 16, blockSize: 1, authSize: 16, cipherKeys: [16] } };
  if (integrity === 'poly1305' && cipher === 'chacha20' && chain === null)
    return { iv, mode: { kind: 'chacha', kernelName: 'rfc7539(chacha20,poly1305)', aeadIv: 12, blockSize: 1, authSize: 16, cipherKeys: [32] } };
  return null;
}

function specOf(encryption: string, integrity: string, keySize?: number, sectorSize?: number) {
  const found = modeOf(encryption, integrity);
  if (!found && integrity === 'none') {
    // crypt_ctr_optional "integrity:N:none": random IVs kept in dm-integrity, nothing authenticated
    throw new IntegrityStudioError(
      `cipher ${encryption} with integrity none stores its IVs in dm-integrity but authenticates nothing: there is no tag to verify or scrub (${SUPPORTED})`,
      'EUNSUPPORTED',
    );
  }
  if (!found) {
    throw new IntegrityStudioError(
      `unsupported authenticated encryption: cipher ${encryption} with integrity ${integrity}${keySize ? ` (${keySize * 8}-bit key)` : ''} (${SUPPORTED})`,
      'EUNSUPPORTED',
    );
  }
  const { mode } = found;
  const ivSize = Math.max(mode.aeadIv, 8);
  const iv = ivMode(found.iv, { ivSize, blockSize: mode.blockSize, authenc: mode.kind === 'authenc', essivCipher: 'aes' }, sectorSize);
  const mac = mode.digest ? HMAC_DIGEST[mode.digest]! : 0;
  const spec: AeadSpec = {
    kernelName: mode.kernelName,
    ivMode: iv.name,
    ivSize,
    storedIvSize: iv.stored ? ivSize : 0,
    authSize: mode.authSize,
    keySizes: mode.cipherKeys.map((k) => k + mac + iv.keyExtra),
    blockSize: mode.blockSize,
  };
  return { spec, mode, iv, mac };
}

/** LUKS2 segment encryption + integrity type → the AEAD and IV generator, or one clear refusal naming what is supported. */
export function aeadSpec(encryption: string, integrity: string, keySize?: number, sectorSize?: number): AeadSpec {
  return specOf(encryption, integrity, keySize, sectorSize).spec;
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
  for (let i = 0; i < macKey.length; i++) {
    inner[i]! ^= macKey[i]!;
    outer[i]! ^= macKey[i]!;
  }
  return (c) => {
    aad.copy(inner, block);
    inner.set(c.subarray(0, sectorSize), block + aad.length);
    hash(digest, inner, 'buffer').copy(outer, block);
    return hash(digest, outer, 'buffer');
  };
}

export interface SectorCipherOptions {
  /** the LUKS2 segment's iv_tweak (dm-crypt iv_offset): added to the sector for the IV, not for the AAD */
  ivOffset?: number;
  /** CRYPT_IV_LARGE_SECTORS: the IV counts encryption sectors, not 512-byte ones (a dm-crypt table option that
   *  cryptsetup sets only for plain mode, never for LUKS2) */
  ivLargeSectors?: boolean;
}

/** The per-sector AEAD of a segment, keyed with the volume key; `tupleSize` is the dm-integrity tag size. */
export function sectorCipher(
  encryption: string,
  integrity: string,
  volumeKey: Uint8Array,
  tupleSize: number,
  sectorSize: number,
  o: SectorCipherOptions = {},
): SectorCipher {
  const { spec, mode, iv: ivm, mac: macSize } = specOf(encryption, integrity, volumeKey.length, sectorSize);
  if (!spec.keySizes.includes(volumeKey.length)) {
    throw new IntegrityStudioError(
      `${spec.kernelName}-${spec.ivMode}: a ${volumeKey.length}-byte volume key is not valid (valid: ${spec.keySizes.join(', ')} bytes)`,
      'EKEY',
    );
  }
  const stored = spec.storedIvSize;
  // crypt_ctr_auth_cipher/crypt_integrity_ctr: integrity_tag_size = on_disk_tag_size - integrity_iv_size
  const authSize = tupleSize - stored;
  if (authSize <= 0 || authSize > spec.authSize) {
    throw new IntegrityStudioError(
      `the dm-integrity tag size ${tupleSize} does not hold a ${spec.kernelName} tag${stored ? ` and its ${stored}-byte IV` : ''}`,
      'EFORMAT',
    );
  }
  if (mode.kind !== 'aegis' && mode.kind !== 'authenc' && authSize !== 16) {
    throw new IntegrityStudioError(`${spec.kernelName} with a ${authSize}-byte tag is not supported (16)`, 'EUNSUPPORTED');
  }
  const key = Buffer.from(volumeKey);
  const aeadKey = key.subarray(0, key.length - ivm.keyExtra);
  const gen: IvGenerator = ivm.make(aeadKey, key.subarray(key.length - ivm.keyExtra));
  const ivSize = spec.ivSize;
  const aad = Buffer.alloc(8 + ivSize);
  const base = { kernelName: spec.kernelName, ivMode: spec.ivMode, authSize, ivSize: stored, tupleSize };
  // dmreq->iv_sector: cc_sector (= sector + iv_offset) [>> sector_shift with iv_large_sectors]
  const ivOffset = o.ivOffset ?? 0;
  const shift = o.ivLargeSectors ? Math.log2(sectorSize / 512) : 0;
  const ivSectorOf = (sector: number) => (shift ? Math.floor((sector + ivOffset) / 2 ** shift) : sector + ivOffset);
  const ivStep = (spb: number) => (shift ? 1 : spb);
  const fill = (sector: number, iv: Uint8Array) => {
    aad.writeBigUInt64LE(BigInt(sector), 0);
    aad.set(iv, 8);
  };
  const one = Buffer.alloc(ivSize);
  /** the IV of one sector on write: generated (random: fresh, or `ivIn`) */
  const writeIv = (sector: number, ivIn?: Uint8Array): Buffer => {
    if (stored && ivIn) return Buffer.from(ivIn);
    gen.many(ivSectorOf(sector), 0, 1, one, ivSize);
    return one;
  };
  /** the IV of one sector on read: the tuple's (random) or generated (crypt_convert_block_aead) */
  const readIv = (sector: number, tuple: Uint8Array, tupleOff: number): Uint8Array => {
    if (stored) return tuple.subarray(tupleOff + authSize, tupleOff + authSize + stored);
    gen.many(ivSectorOf(sector), 0, 1, one, ivSize);
    return one;
  };
  const finish = (tuple: Uint8Array, off: number, iv: Uint8Array) => {
    if (stored) tuple.set(iv, off + authSize);
    tuple.fill(0, off + authSize + stored, off + tupleSize);
  };
  const white = gen.whiten;
  /** tcw: the ciphertext without its whitening, in a copy */
  const plainCipher = (sector: number, c: Uint8Array): Uint8Array => {
    if (!white) return c.subarray(0, sectorSize);
    const b = Buffer.from(c.subarray(0, sectorSize));
    white(ivSectorOf(sector), b);
    return b;
  };

  if (mode.kind === 'authenc') {
    const digest = mode.digest!;
    const inner = mode.inner!;
    const encKey = aeadKey.subarray(0, aeadKey.length - macSize);
    const macKey = aeadKey.subarray(aeadKey.length - macSize);
    const node = `aes-${inner === 'xts' ? encKey.length * 4 : encKey.length * 8}-${inner}`;
    const run = (enc: boolean, iv: Uint8Array, src: Uint8Array): Buffer => {
      try {
        const c = enc ? crypto.createCipheriv(node, encKey, iv) : crypto.createDecipheriv(node, encKey, iv);
        if (inner === 'cbc') c.setAutoPadding(false);
        return Buffer.concat([c.update(src), c.final()]);
      } catch (e) {
        throw new IntegrityStudioError(`${inner}(aes): ${(e as Error).message}`, 'EKEY');
      }
    };
    const mac = hmacOf(digest, macKey, aad, sectorSize);
    const ivs = Buffer.alloc(16 * 8192);
    const decMany =
      inner === 'xts'
        ? (d: Buffer) => xtsMany(false, encKey, ivs, d, sectorSize)
        : inner === 'cbc'
          ? (d: Buffer) => cbcDecryptMany(encKey, ivs, d, sectorSize)
          : null;
    const cipher: SectorCipher = {
      ...base,
      encrypt(sector, plain, out, outOff, tuple, tupleOff, ivIn) {
        const iv = writeIv(sector, ivIn);
        fill(sector, iv);
        const c = run(true, iv, plain.subarray(0, sectorSize));
        tuple.set(mac(c).subarray(0, authSize), tupleOff);
        if (white) white(ivSectorOf(sector), c);
        out.set(c, outOff);
        finish(tuple, tupleOff, iv);
      },
      authenticate(sector, cipher, tuple, tupleOff) {
        fill(sector, readIv(sector, tuple, tupleOff));
        return crypto.timingSafeEqual(mac(plainCipher(sector, cipher)).subarray(0, authSize), tuple.subarray(tupleOff, tupleOff + authSize));
      },
      decrypt(sector, cipher, tuple, tupleOff, out, outOff) {
        const iv = readIv(sector, tuple, tupleOff);
        fill(sector, iv);
        const c = plainCipher(sector, cipher);
        const want = mac(c).subarray(0, authSize);
        if (!crypto.timingSafeEqual(want, tuple.subarray(tupleOff, tupleOff + authSize))) {
          out.fill(0, outOff, outOff + sectorSize);
          return false;
        }
        out.set(run(false, Buffer.from(iv), c), outOff);
        return true;
      },
    };
    if (decMany) {
      cipher.decryptMany = (firstSector, spb, n, cipherBuf, tuples, out, outOff) => {
        const bad: number[] = [];
        let src = cipherBuf.subarray(0, n * sectorSize);
        if (!stored) gen.many(ivSectorOf(firstSector), ivStep(spb), n, ivs, 16);
        if (white) {
          src = Buffer.from(src);
          for (let b = 0; b < n; b++) white(ivSectorOf(firstSector + b * spb), src.subarray(b * sectorSize, (b + 1) * sectorSize));
        }
        for (let b = 0; b < n; b++) {
          const off = b * tupleSize;
          let iv: Uint8Array;
          if (stored) {
            iv = tuples.subarray(off + authSize, off + authSize + stored);
            ivs.set(iv, b * 16);
          } else iv = ivs.subarray(b * 16, b * 16 + 16);
          fill(firstSector + b * spb, iv);
          if (!crypto.timingSafeEqual(mac(src.subarray(b * sectorSize, (b + 1) * sectorSize)).subarray(0, authSize), tuples.subarray(off, off + authSize)))
            bad.push(b);
        }
        decMany(src).copy(out, outOff);
        // a sector failing authentication reads as zeros, never its plaintext
        for (const b of bad) out.fill(0, outOff + b * sectorSize, outOff + (b + 1) * sectorSize);
        return bad;
      };
    }
    if (inner === 'xts') {
      cipher.encryptMany = (firstSector, spb, n, plain, out, tuples) => {
        gen.many(ivSectorOf(firstSector), ivStep(spb), n, ivs, 16);
        xtsMany(true, encKey, ivs, plain.subarray(0, n * sectorSize), sectorSize).copy(out, 0);
        for (let b = 0; b < n; b++) {
          const off = b * tupleSize;
          const iv = ivs.subarray(b * 16, b * 16 + 16);
          fill(firstSector + b * spb, iv);
          tuples.set(mac(out.subarray(b * sectorSize, (b + 1) * sectorSize)).subarray(0, authSize), off);
          finish(tuples, off, iv);
        }
        // crypt_iv_tcw_post: the whitening goes on after the MAC (which is over the unwhitened ciphertext)
        if (white) for (let b = 0; b < n; b++) white(ivSectorOf(firstSector + b * spb), out.subarray(b * sectorSize, (b + 1) * sectorSize));
      };
    }
    return cipher;
  }
  if (mode.kind === 'aegis') {
    return {
      ...base,
      encrypt(sector, plain, out, outOff, tuple, tupleOff, ivIn) {
        const iv = writeIv(sector, ivIn);
        fill(sector, iv);
        const o = out.subarray(outOff, outOff + sectorSize);
        tuple.set(aegis128Encrypt(aeadKey, iv, aad, plain.subarray(0, sectorSize), o, authSize), tupleOff);
        if (white) white(ivSectorOf(sector), o);
        finish(tuple, tupleOff, iv);
      },
      decrypt(sector, cipher, tuple, tupleOff, out, outOff) {
        const iv = readIv(sector, tuple, tupleOff);
        fill(sector, iv);
        return aegis128Decrypt(
          aeadKey,
          iv,
          aad,
          plainCipher(sector, cipher),
          tuple.subarray(tupleOff, tupleOff + authSize),
          out.subarray(outOff, outOff + sectorSize),
        );
      },
    };
  }
  // gcm(aes), rfc7539(chacha20,poly1305), rfc4309(ccm(aes))
  const ccm = mode.kind === 'ccm';
  const cKey = ccm ? aeadKey.subarray(0, aeadKey.length - 3) : aeadKey;
  const salt = ccm ? aeadKey.subarray(aeadKey.length - 3) : null;
  const node = mode.kind === 'gcm' ? `aes-${cKey.length * 8}-gcm` : ccm ? `aes-${cKey.length * 8}-ccm` : 'chacha20-poly1305';
  // rfc4309: nonce = the key's salt ‖ the 8-byte IV; the AAD it authenticates stops before the IV
  const nonceOf = (iv: Uint8Array) => (salt ? Buffer.concat([salt, iv]) : iv);
  const setAad = (c: crypto.CipherGCM | crypto.DecipherGCM | crypto.CipherCCM | crypto.DecipherCCM) =>
    ccm ? (c as crypto.CipherCCM).setAAD(aad.subarray(0, 8), { plaintextLength: sectorSize }) : (c as crypto.CipherGCM).setAAD(aad);
  return {
    ...base,
    encrypt(sector, plain, out, outOff, tuple, tupleOff, ivIn) {
      const iv = writeIv(sector, ivIn);
      fill(sector, iv);
      const c = crypto.createCipheriv(node as crypto.CipherGCMTypes, cKey, nonceOf(iv), { authTagLength: 16 });
      setAad(c);
      const ct = c.update(plain.subarray(0, sectorSize));
      c.final();
      if (white) white(ivSectorOf(sector), ct);
      out.set(ct, outOff);
      tuple.set(c.getAuthTag(), tupleOff);
      finish(tuple, tupleOff, iv);
    },
    decrypt(sector, cipher, tuple, tupleOff, out, outOff) {
      const iv = readIv(sector, tuple, tupleOff);
      fill(sector, iv);
      const d = crypto.createDecipheriv(node as crypto.CipherGCMTypes, cKey, nonceOf(iv), { authTagLength: 16 });
      d.setAuthTag(tuple.subarray(tupleOff, tupleOff + authSize));
      setAad(d);
      const pt = d.update(plainCipher(sector, cipher));
      let ok = true;
      // CCM authenticates in update (an empty result when it fails) and must not be finalised
      if (ccm) ok = pt.length === sectorSize;
      else {
        try {
          d.final();
        } catch {
          ok = false;
        }
      }
      if (!ok) {
        out.fill(0, outOff, outOff + sectorSize);
        return false;
      }
      out.set(pt, outOff);
      return true;
    },
  };
}

/**
 * Why luks-format here will not make a new volume with this mode, or null when it will. cryptsetup 2.6.1/2.8.8
 * formats all of these and the kernel opens them; we read, verify and write them as the kernel does. We refuse
 * to make new ones where the IV repeats: a computed IV under a nonce-based AEAD (gcm, ccm, chacha20-poly1305,
 * aegis128) or CTR is the same every time a sector is rewritten (keystream reuse; GCM's authentication key can
 * then be recovered and tags forged); CBC with a predictable IV (anything but essiv) leaks equal plaintext
 * prefixes (watermarking); null gives every sector the same IV; plain repeats past 2^32 sectors (2 TiB); tcw is
 * TrueCrypt's compatibility mode (watermarkable whitening).
 */
export function formatRefusal(spec: AeadSpec): string | null {
  const iv = spec.ivMode;
  if (iv === 'random') return null;
  const name = `${spec.kernelName} with IV ${iv}`;
  if (iv === 'null') return `${name}: every sector gets the same IV`;
  if (iv === 'plain') return `${name}: plain is a 32-bit sector number and repeats past 2 TiB (use plain64)`;
  if (iv === 'tcw') return `${name}: tcw is TrueCrypt's compatibility IV (its whitening is open to watermarking attacks)`;
  if (/,xts\(aes\)\)$/.test(spec.kernelName)) return null; // plain64, plain64be, essiv:*, benbi: a unique tweak per sector
  if (/,cbc\(aes\)\)$/.test(spec.kernelName))
    return iv.startsWith('essiv:') ? null : `${name}: CBC with a predictable IV leaks which sectors begin alike (watermarking); use essiv:sha256`;
  return `${name}: a computed IV is the same each time a sector is rewritten, so the nonce and keystream repeat${spec.kernelName === 'gcm(aes)' ? " (and GCM's authentication key can be recovered)" : ''}; use the random IV`;
}
