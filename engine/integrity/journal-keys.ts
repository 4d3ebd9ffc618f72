// Journal MAC and journal encryption, as dm-integrity.c does them:
//  - journal_mac (section_mac / rw_section_mac): a MAC over [salt ‖ le64(section) if fix_hmac] and the 8-byte
//    sector field of every entry of the section, cut or zero-padded to 64 bytes and stored 8 bytes per metadata
//    sector, just before the commit id (struct journal_sector: entries[496], mac[8], commit_id[8]). Written when
//    a section is committed (write_journal), checked for the sections a replay copies (do_journal_write with
//    from_replay).
//  - journal_crypt with a stream cipher (skcipher block size 1: ctr(aes), chacha20): create_journal encrypts
//    zeros with a zero IV into journal_xor, a keystream as long as the journal pages plus 32 bytes; those last
//    32 bytes encrypt the four commit id constants in place (then made distinct by +1). xor_journal writes
//    plain ⊕ keystream (MAC first).
//  - journal_crypt with a block cipher (cbc(aes), xts(aes), ecb(aes)): section i has its own IV, the cipher's
//    encryption (zero IV) of le32(i) zero-padded to roundup(ivsize, blocksize); crypt_journal encrypts each whole
//    section with it (MAC first).
// Names are integritysetup's: --journal-crypt ctr-aes | cbc-aes | xts-aes | ecb-aes | chacha20 (the kernel's
// ctr(aes) etc. are accepted too); --journal-integrity hmac-sha256 and the like.
import crypto from 'node:crypto';
import { IntegrityStudioError } from '../errors.js';
import { SB_FLAG_FIXED_HMAC, SB_SECTORS, SECTOR_SIZE } from '../layout/superblock.js';
import { JOURNAL_BLOCK_SECTORS, JOURNAL_MAC_PER_SECTOR, JOURNAL_MAC_SIZE, JOURNAL_SECTOR_DATA, type Geometry } from '../layout/geometry.js';
import { hmacPrefix, makeDigest, type Digest } from '../hash/index.js';
import type { Volume } from '../volume.js';
import { COMMIT_IDS, entryOffset } from './journal-writer.js';

const PAGE_SIZE = 4096;

export const SUPPORTED_JOURNAL_CRYPT = ['ctr-aes', 'cbc-aes', 'xts-aes', 'ecb-aes', 'chacha20'];

interface CipherSpec {
  /** node:crypto cipher name */
  node: string;
  ivSize: number;
  /** the skcipher block size: 1 for stream ciphers */
  blockSize: number;
  kernelName: string;
}

/** integritysetup --journal-crypt name + key → the cipher (crypt_parse_hash_integrity_mode turns ctr-aes into ctr(aes)) */
export function journalCipher(name: string, keyLength: number): CipherSpec {
  const m = /^([a-z0-9]+)(?:-([a-z0-9]+)|\(([a-z0-9]+)\))?$/.exec(name);
  const mode = m?.[1];
  const cipher = m?.[2] ?? m?.[3];
  const unsupported = () =>
    new IntegrityStudioError(
      `unsupported journal encryption "${name}" with a ${keyLength}-byte key (supported: ${SUPPORTED_JOURNAL_CRYPT.join(', ')}; AES keys of 16, 24 or 32 bytes, 32 or 64 for xts, 32 for chacha20)`,
    );
  if (mode === 'chacha20' && !cipher) {
    if (keyLength !== 32) throw unsupported();
    return { node: 'chacha20', ivSize: 16, blockSize: 1, kernelName: 'chacha20' };
  }
  if (cipher !== 'aes' || !mode) throw unsupported();
  if (mode === 'xts') {
    if (keyLength !== 32 && keyLength !== 64) throw unsupported();
    return { node: `aes-${keyLength * 4}-xts`, ivSize: 16, blockSize: 16, kernelName: 'xts(aes)' };
  }
  if (![16, 24, 32].includes(keyLength)) throw unsupported();
  const bits = keyLength * 8;
  if (mode === 'ctr') return { node: `aes-${bits}-ctr`, ivSize: 16, blockSize: 1, kernelName: 'ctr(aes)' };
  if (mode === 'cbc') return { node: `aes-${bits}-cbc`, ivSize: 16, blockSize: 16, kernelName: 'cbc(aes)' };
  if (mode === 'ecb') return { node: `aes-${bits}-ecb`, ivSize: 0, blockSize: 16, kernelName: 'ecb(aes)' };
  throw unsupported();
}

function run(spec: CipherSpec, key: Buffer, iv: Buffer | null, data: Buffer, encrypt: boolean): Buffer {
  try {
    const c = encrypt ? crypto.createCipheriv(spec.node, key, iv) : crypto.createDecipheriv(spec.node, key, iv);
    c.setAutoPadding(false);
    return Buffer.concat([c.update(data), c.final()]);
  } catch (e) {
    // e.g. OpenSSL refuses an xts key whose two halves are equal
    throw new IntegrityStudioError(`journal encryption ${spec.kernelName}: ${(e as Error).message.replace(/^error:[0-9A-F]+:[^:]*::/, '')}`);
  }
}

/** What a volume's journal keys do to its journal. */
export interface JournalCodec {
  /** the commit id constants of this volume (encrypted ones with a stream cipher) */
  readonly commitIds: bigint[];
  readonly encrypted: boolean;
  readonly mac: boolean;
  /** rw_journal(READ) + encrypt_journal(false): the plaintext of the whole journal area */
  decrypt(raw: Buffer): Buffer;
  /** rw_section_mac(wr=false) on section `section` of the plaintext journal; throws on a mismatch */
  checkMac(plain: Buffer, section: number): void;
  /** rw_section_mac(wr=true) then encryption: the bytes written for one section (plain gets its MAC) */
  seal(plainSection: Buffer, section: number): Buffer;
}

const codecs = new WeakMap<object, JournalCodec>();

/** The journal codec of an open volume (built once: a stream cipher's keystream is as long as the journal). */
export function journalCodec(vol: Volume): JournalCodec {
  let c = codecs.get(vol.target);
  if (!c) {
    c = createJournalCodec(vol.geometry, vol.sb.flags & SB_FLAG_FIXED_HMAC ? vol.sb.salt : null, vol.options);
    codecs.set(vol.target, c);
  }
  return c;
}

export function createJournalCodec(
  g: Geometry,
  salt: Buffer | null,
  o: { journalIntegrity?: string; journalIntegrityKey?: Buffer; journalCrypt?: string; journalCryptKey?: Buffer },
): JournalCodec {
  const sectionBytes = g.journal_section_sectors * SECTOR_SIZE;
  const N = g.journal_sections;
  let commitIds = COMMIT_IDS.slice();
  // --- MAC
  let macOf: ((plain: Buffer, base: number, section: number) => Buffer) | null = null;
  if (o.journalIntegrity) {
    const pre = hmacPrefix(o.journalIntegrity);
    const head = salt ? salt.length + 8 : 0;
    const scratch = Buffer.alloc(pre + head + 8 * g.journal_section_entries);
    let digest: Digest;
    try {
      digest = makeDigest(o.journalIntegrity, o.journalIntegrityKey, scratch);
    } catch (e) {
      throw new IntegrityStudioError(
        `journal integrity: ${(e as Error).message.replace(/--integrity-key-file/, '--journal-integrity-key-file').replace(/integrity algorithm/, 'journal integrity algorithm')}`,
      );
    }
    if (salt) salt.copy(scratch, pre);
    const result = Buffer.alloc(JOURNAL_MAC_SIZE);
    macOf = (plain, base, section) => {
      if (salt) scratch.writeBigUInt64LE(BigInt(section), pre + salt.length);
      let p = pre + head;
      for (let e = 0; e < g.journal_section_entries; e++, p += 8)
        plain.copy(scratch, p, base + entryOffset(g.journal_entry_size, e), base + entryOffset(g.journal_entry_size, e) + 8);
      result.fill(0);
      digest.into(scratch.length, result, 0, Math.min(digest.size, JOURNAL_MAC_SIZE));
      return result;
    };
  } else if (o.journalIntegrityKey) {
    throw new IntegrityStudioError('--journal-integrity-key-file needs --journal-integrity');
  }
  const macAt = (base: number, j: number) => base + j * SECTOR_SIZE + JOURNAL_SECTOR_DATA - JOURNAL_MAC_PER_SECTOR;
  // --- encryption
  let encrypt: ((plain: Buffer, section: number) => Buffer) | null = null;
  let decryptAll: ((raw: Buffer) => Buffer) | null = null;
  if (o.journalCrypt) {
    const key = o.journalCryptKey;
    if (!key?.length) throw new IntegrityStudioError(`--journal-crypt ${o.journalCrypt} needs --journal-crypt-key-file`);
    const spec = journalCipher(o.journalCrypt, key.length);
    if (spec.blockSize === 1) {
      const journalPages = Math.ceil((N * g.journal_section_sectors * SECTOR_SIZE) / PAGE_SIZE);
      const ks = run(spec, key, Buffer.alloc(spec.ivSize), Buffer.alloc(journalPages * PAGE_SIZE + 8 * COMMIT_IDS.length), true);
      commitIds = COMMIT_IDS.map((id, i) => ks.readBigUInt64LE(journalPages * PAGE_SIZE + 8 * i) ^ id);
      // create_journal: make the four ids distinct (as little-endian numbers, +1)
      for (let i = 0; i < commitIds.length; i++) {
        for (let j = 0; j < i; j++) {
          if (commitIds[j] === commitIds[i]) {
            commitIds[i] = (commitIds[i]! + 1n) & 0xffffffffffffffffn;
            j = -1;
          }
        }
      }
      const xor = (src: Buffer, off: number): Buffer => {
        const out = Buffer.allocUnsafe(src.length);
        for (let i = 0; i < src.length; i++) out[i] = src[i]! ^ ks[off + i]!;
        return out;
      };
      encrypt = (plain, section) => xor(plain, section * sectionBytes);
      decryptAll = (raw) => xor(raw, 0);
    } else {
      const cryptLen = Math.ceil(spec.ivSize / spec.blockSize) * spec.blockSize;
      const ivs: Array<Buffer | null> = [];
      for (let i = 0; i < N; i++) {
        if (!spec.ivSize) {
          ivs.push(null);
          continue;
        }
        const data = Buffer.alloc(cryptLen);
        data.writeUInt32LE(i, 0);
        ivs.push(run(spec, key, Buffer.alloc(spec.ivSize), data, true).subarray(0, spec.ivSize));
      }
      encrypt = (plain, section) => run(spec, key, ivs[section]!, plain, true);
      decryptAll = (raw) => {
        const out = Buffer.alloc(raw.length);
        for (let i = 0; i < N; i++) run(spec, key, ivs[i]!, raw.subarray(i * sectionBytes, (i + 1) * sectionBytes), false).copy(out, i * sectionBytes);
        return out;
      };
    }
  } else if (o.journalCryptKey) {
    throw new IntegrityStudioError('--journal-crypt-key-file needs --journal-crypt');
  }
  return {
    commitIds,
    encrypted: !!encrypt,
    mac: !!macOf,
    decrypt: (raw) => (decryptAll ? decryptAll(raw) : raw),
    checkMac(plain, section) {
      if (!macOf) return;
      const base = section * sectionBytes;
      const mac = macOf(plain, base, section);
      for (let j = 0; j < JOURNAL_BLOCK_SECTORS; j++) {
        if (plain.compare(mac, j * JOURNAL_MAC_PER_SECTOR, (j + 1) * JOURNAL_MAC_PER_SECTOR, macAt(base, j), macAt(base, j) + JOURNAL_MAC_PER_SECTOR) !== 0) {
          throw new IntegrityStudioError(
            `journal MAC mismatch in journal section ${section}: the journal integrity key or algorithm is wrong, or the journal is damaged (the kernel fails the device)`,
            'EKEY',
          );
        }
      }
    },
    seal(plain, section) {
      if (macOf) {
        const mac = macOf(plain, 0, section);
        for (let j = 0; j < JOURNAL_BLOCK_SECTORS; j++) mac.copy(plain, macAt(0, j), j * JOURNAL_MAC_PER_SECTOR, (j + 1) * JOURNAL_MAC_PER_SECTOR);
      }
      return encrypt ? encrypt(plain, section) : plain;
    },
  };
}

/** The journal area as stored, decrypted (rw_journal + encrypt_journal(false)). MACs are checked by replay. */
export function openSections(vol: Volume, raw: Buffer): Buffer {
  return journalCodec(vol).decrypt(raw);
}

/** One section as written to disk: its MAC set, then encrypted (write_journal). */
export function sealSections(vol: Volume, plain: Buffer, section: number): Buffer {
  return journalCodec(vol).seal(plain, section);
}

/** Byte offset of the journal on the metadata device. */
export const JOURNAL_OFFSET = SB_SECTORS * SECTOR_SIZE;
