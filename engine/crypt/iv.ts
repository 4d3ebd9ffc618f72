// dm-crypt's IV generators (drivers/md/dm-crypt.c, the iv_gen_ops chosen by crypt_ctr_ivmode) as they run under
// an AEAD in crypt_convert_block_aead. Every generator but random computes the IV of an encryption sector from
// dmreq->iv_sector = cc_sector (the target's 512-byte sector + iv_offset, >> sector_shift only with
// iv_large_sectors, which LUKS2 never sets) on write and on read alike, and nothing is stored in the tag tuple;
// random makes fresh bytes on write and keeps them in the tuple (cc->integrity_iv_size = cc->iv_size). The IV
// (iv_size = max(the AEAD's ivsize, 8) bytes, crypt_ctr_ivmode) is also the second part of the AAD.
import crypto from 'node:crypto';
import { IntegrityStudioError } from '../errors.js';
import { makeDigest } from '../hash/index.js';

export interface IvGenerator {
  /** as the cipher specification names it: random, plain64, essiv:sha256, … */
  readonly name: string;
  /** the IV is kept in the tag tuple (random only) */
  readonly stored: boolean;
  /** n IVs for dmreq->iv_sector = ivSector0 + k·step into out[k·stride ..+ivSize] (random: fresh bytes) */
  many(ivSector0: number, step: number, n: number, out: Buffer, stride: number): void;
  /** tcw: the whitening XORed over the 512-byte ciphertext on disk (its own inverse): removed before the
   *  decryption (crypt_iv_tcw_gen), applied after the encryption (crypt_iv_tcw_post) */
  whiten?(ivSector: number, data: Uint8Array): void;
}

/** What the generator needs to know of the AEAD it feeds. */
export interface IvContext {
  /** cc->iv_size */
  ivSize: number;
  /** crypto_aead_blocksize (benbi's shift) */
  blockSize: number;
  /** the AEAD is authenc(…): the only kind crypto/essiv.c wraps */
  authenc: boolean;
  /** the authenc's inner cipher for essiv ("aes": parse_cipher_name takes the last "(…)") */
  essivCipher: string;
}

/** How a generator is built: key_extra_size bytes it takes from the end of the volume key, then make(). */
export interface IvMode {
  readonly name: string;
  readonly stored: boolean;
  /** crypt_ctr_ivmode's key_extra_size (tcw: iv_size + 16); the AEAD's key is what is left before them */
  readonly keyExtra: number;
  /** `aeadKey`: the AEAD's key (authenc: encryption key ‖ MAC key); `extra`: the last keyExtra bytes */
  make(aeadKey: Uint8Array, extra: Uint8Array): IvGenerator;
}

const TCW_WHITENING_SIZE = 16;

function unsupported(mode: string, why: string): never {
  throw new IntegrityStudioError(
    `IV mode ${mode} ${why} (IV modes with authenticated encryption: random, plain64, plain64be, plain, essiv:HASH with hmac-*, benbi, null, tcw)`,
    'EUNSUPPORTED',
  );
}

/** le64(s) into b[off..off+8], s < 2^53 */
function le64(b: Buffer, off: number, s: number): void {
  b.writeUInt32LE(s % 0x100000000, off);
  b.writeUInt32LE(Math.floor(s / 0x100000000), off + 4);
}

function simple(name: string, gen: (s: number, out: Buffer, off: number, ivSize: number) => void, ivSize: number): IvMode {
  return {
    name,
    stored: false,
    keyExtra: 0,
    make: () => ({
      name,
      stored: false,
      many(s0, step, n, out, stride) {
        for (let k = 0; k < n; k++) gen(s0 + k * step, out, k * stride, ivSize);
      },
    }),
  };
}

/** The kernel's essiv hash name → node's (crypto_alloc_shash names; the digest must be an AES key) */
function essivHash(h: string): string | null {
  const map: Record<string, string> = { sha256: 'sha256', md5: 'md5', 'sha3-256': 'sha3-256', sm3: 'sm3', 'sha512-256': 'sha512-256' };
  const n = map[h];
  if (!n) return null;
  try {
    crypto.createHash(n);
    return n;
  } catch {
    return null;
  }
}

/** The IV mode of a cipher specification's IV part (plain64, essiv:sha256, …) for an AEAD described by ctx. */
export function ivMode(spec: string, ctx: IvContext, sectorSize?: number): IvMode {
  const [name, opts] = spec.split(':', 2) as [string, string | undefined];
  const { ivSize } = ctx;
  if (opts !== undefined && name !== 'essiv') unsupported(spec, 'takes no options');
  switch (name) {
    case 'random':
      // crypt_iv_random_gen: used only for writes; reads take the IV stored in the tuple
      return {
        name,
        stored: true,
        keyExtra: 0,
        make: () => ({
          name,
          stored: true,
          many(_s0, _step, n, out, stride) {
            if (stride === ivSize) crypto.randomFillSync(out, 0, n * ivSize);
            else for (let k = 0; k < n; k++) crypto.randomFillSync(out, k * stride, ivSize);
          },
        }),
      };
    case 'plain':
      // crypt_iv_plain_gen: le32 of the low 32 bits, zero padded
      return simple(
        name,
        (s, out, off) => {
          out.fill(0, off, off + ivSize);
          out.writeUInt32LE(s % 0x100000000, off);
        },
        ivSize,
      );
    case 'plain64':
      // crypt_iv_plain64_gen
      return simple(
        name,
        (s, out, off) => {
          out.fill(0, off + 8, off + ivSize);
          le64(out, off, s);
        },
        ivSize,
      );
    case 'plain64be':
      // crypt_iv_plain64be_gen: be64 in the last 8 bytes
      return simple(
        name,
        (s, out, off) => {
          out.fill(0, off, off + ivSize - 8);
          out.writeBigUInt64BE(BigInt(s), off + ivSize - 8);
        },
        ivSize,
      );
    case 'null':
      // crypt_iv_null_gen
      return simple(name, (_s, out, off) => void out.fill(0, off, off + ivSize), ivSize);
    case 'benbi': {
      // crypt_iv_benbi_ctr/_gen: be64((iv_sector << (9 - log2(block size))) + 1) in the last 8 bytes
      const log = Math.log2(ctx.blockSize);
      if (!Number.isInteger(log) || log > 9) unsupported(spec, `needs a cipher block size that is a power of two up to 512 (${ctx.blockSize})`);
      const shift = BigInt(9 - log);
      return simple(
        name,
        (s, out, off) => {
          out.fill(0, off, off + ivSize - 8);
          out.writeBigUInt64BE(((BigInt(s) << shift) + 1n) & 0xffffffffffffffffn, off + ivSize - 8);
        },
        ivSize,
      );
    }
    case 'essiv': {
      // crypt_iv_essiv_gen passes plain64; crypto/essiv.c (essiv_aead_setkey, essiv_aead_crypt) encrypts it with
      // the cipher keyed by hash(encryption key ‖ MAC key) and puts the result in the AAD too
      if (!opts) unsupported(spec, 'needs a hash (essiv:sha256): "Digest algorithm missing for ESSIV mode"');
      if (!ctx.authenc) unsupported(spec, 'works only with hmac-* integrity (crypto/essiv.c: "Only authenc() type AEADs are supported by ESSIV")');
      if (ctx.essivCipher !== 'aes' || ivSize !== 16) unsupported(spec, `is not supported with ${ctx.essivCipher}`);
      const hash = essivHash(opts);
      const dlen = hash ? crypto.createHash(hash).digest().length : 0;
      if (!hash || ![16, 24, 32].includes(dlen))
        unsupported(spec, `needs a hash whose digest is an AES key (16, 24 or 32 bytes), e.g. essiv:sha256 (essiv_supported_algorithms)`);
      return {
        name: spec,
        stored: false,
        keyExtra: 0,
        make(aeadKey) {
          const salt = crypto.createHash(hash).update(aeadKey).digest();
          const ecb = crypto.createCipheriv(`aes-${salt.length * 8}-ecb`, salt, null).setAutoPadding(false);
          salt.fill(0);
          let scratch = Buffer.alloc(16);
          return {
            name: spec,
            stored: false,
            many(s0, step, n, out, stride) {
              if (scratch.length < n * 16) scratch = Buffer.alloc(n * 16);
              const plain = scratch.subarray(0, n * 16);
              for (let k = 0; k < n; k++) le64(plain, k * 16, s0 + k * step);
              const enc = ecb.update(plain);
              if (stride === 16) enc.copy(out, 0);
              else for (let k = 0; k < n; k++) enc.copy(out, k * stride, k * 16, k * 16 + 16);
            },
          };
        },
      };
    }
    case 'tcw': {
      // crypt_iv_tcw_*: IV = seed ⊕ le64(iv_sector); the ciphertext whitened with crc32 of whitening ⊕ sector;
      // seed and whitening are the last iv_size + 16 bytes of the key (crypt_iv_tcw_init)
      if (sectorSize !== undefined && sectorSize !== 512) unsupported(spec, `needs 512-byte sectors ("Unsupported sector size for TCW", got ${sectorSize})`);
      return {
        name,
        stored: false,
        keyExtra: ivSize + TCW_WHITENING_SIZE,
        make(_aeadKey, extra) {
          const seed = Buffer.from(extra.subarray(0, ivSize));
          const white = Buffer.from(extra.subarray(ivSize, ivSize + TCW_WHITENING_SIZE));
          const sec = Buffer.alloc(8);
          const buf = Buffer.alloc(16);
          const scratch = Buffer.alloc(4);
          const crc32 = makeDigest('crc32', undefined, scratch); // the kernel's "crc32": crc32_le(0, data)
          return {
            name,
            stored: false,
            many(s0, step, n, out, stride) {
              for (let k = 0; k < n; k++) {
                le64(sec, 0, s0 + k * step);
                const off = k * stride;
                for (let i = 0; i < ivSize; i++) out[off + i] = seed[i]! ^ sec[i < 8 ? i : i - 8]!;
              }
            },
            whiten(ivSector, data) {
              le64(sec, 0, ivSector);
              for (let i = 0; i < 16; i++) buf[i] = white[i]! ^ sec[i & 7]!;
              for (let i = 0; i < 4; i++) {
                buf.copy(scratch, 0, i * 4, i * 4 + 4);
                crc32.into(4, buf, i * 4, 4);
              }
              for (let i = 0; i < 4; i++) {
                buf[i]! ^= buf[12 + i]!;
                buf[4 + i]! ^= buf[8 + i]!;
              }
              for (let i = 0; i < 512; i++) data[i]! ^= buf[i & 7]!;
            },
          };
        },
      };
    }
    case 'lmk':
      return unsupported(spec, 'cannot be used with authenticated encryption (dm-crypt: "AEAD transforms not supported for LMK")');
    case 'eboiv':
    case 'elephant':
      return unsupported(spec, 'cannot be used with authenticated encryption (dm-crypt crypt_iv_eboiv_ctr: "AEAD transforms not supported for EBOIV")');
    default:
      return unsupported(spec, 'is not an IV mode dm-crypt knows ("Invalid IV mode")');
  }
}
