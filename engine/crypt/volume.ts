// A LUKS2 authenticated volume as the kernel stacks it: dm-crypt (AEAD, any IV mode it allows: aead.ts) over
// dm-integrity without an internal hash, which sits at the LUKS2 data segment's offset and holds one tuple
// [tag][IV, random IVs only][zeros] per encryption sector. The header half (engine/luks) gives the segment and the volume key; this module reads, verifies, scrubs,
// writes and replays below it. The volume key stays in this process: never logged, never in a state file.
import { IntegrityError, IntegrityStudioError } from '../errors.js';
import { FileDevice, type BlockDevice } from '../io/device.js';
import { SliceDevice } from '../io/slice.js';
import { SECTOR_SIZE } from '../layout/superblock.js';
import { openVolumeOn, type Volume } from '../volume.js';
import { openWritableOn, type WritableVolume } from '../integrity/writable.js';
import { CHUNK_SECTORS } from '../integrity/target.js';
import { sectorCipher, type SectorCipher } from './aead.js';
import { unlockLuks2, type Luks2Info, type Luks2Secret, type UnlockOptions } from '../luks/index.js';

/** What this layer needs of the LUKS2 header: the data segment (lib/luks2 "segments"."0") and the volume key. */
export interface CryptSegment {
  /** byte offset of the data segment (where the dm-integrity superblock is) */
  offset: number;
  /** bytes, or 'dynamic' (to the end of the device) */
  size: number | 'dynamic';
  /** the segment's iv_tweak (dm-crypt iv_offset: added to the sector of a computed IV; not used by random IVs, nor in the AAD) */
  iv_tweak: number;
  /** cryptsetup's cipher-chainmode-ivmode, e.g. aes-xts-random, aes-xts-plain64, aes-cbc-essiv:sha256, aes-gcm-random, chacha20-random */
  encryption: string;
  /** encryption sector size: 512 or 4096 (= the dm-integrity block size) */
  sector_size: number;
  /** segment integrity type, e.g. hmac(sha256), aead, poly1305; null when the segment has none */
  integrity: string | null;
}

/** A sector that failed authentication, reported as dm-crypt logs it (crypt_convert_block_aead). */
export class AeadError extends IntegrityError {
  constructor(sector: number, device = '') {
    super(sector, `${device ? `${device}: ` : ''}INTEGRITY AEAD ERROR, sector ${sector}`);
    this.name = 'AeadError';
  }
}

export interface CryptOpenOptions {
  readOnly?: boolean;
  /** dm-integrity mode under dm-crypt: journal (cryptsetup's default) or direct (--integrity-no-journal) */
  mode?: 'journal' | 'direct';
}

export interface CryptStats {
  /** encryption sectors authenticated and decrypted */
  checked_sectors: number;
  /** encryption sectors failing authentication */
  failed_sectors: number;
}

export class CryptVolume {
  readonly stats: CryptStats = { checked_sectors: 0, failed_sectors: 0 };
  /** 512-byte sectors per encryption sector */
  readonly spb: number;
  /** bytes the dm-crypt device presents */
  readonly size: number;
  private readonly tupleBuf: Buffer;
  private readonly chunkBuf: Buffer;
  private readonly plainBuf: Buffer;

  constructor(
    readonly path: string,
    readonly segment: CryptSegment,
    readonly integrity: Volume | WritableVolume,
    readonly cipher: SectorCipher,
  ) {
    this.spb = segment.sector_size / SECTOR_SIZE;
    let sectors = integrity.geometry.provided_data_sectors;
    if (segment.size !== 'dynamic') sectors = Math.min(sectors, Math.floor(segment.size / SECTOR_SIZE));
    sectors -= sectors % this.spb;
    this.size = sectors * SECTOR_SIZE;
    const nb = CHUNK_SECTORS / this.spb;
    this.tupleBuf = Buffer.alloc(nb * cipher.tupleSize);
    this.chunkBuf = Buffer.alloc(CHUNK_SECTORS * SECTOR_SIZE);
    this.plainBuf = Buffer.alloc(CHUNK_SECTORS * SECTOR_SIZE);
  }

  get sectors(): number {
    return this.size / SECTOR_SIZE;
  }

  get writable(): boolean {
    return 'write' in this.integrity;
  }

  private checkRange(sector: number, sectors: number, what: string): void {
    if (!Number.isInteger(sector) || !Number.isInteger(sectors) || sector < 0 || sectors < 0)
      throw new IntegrityStudioError(`invalid ${what} range: sector ${sector}, ${sectors} sectors`);
    if (sector % this.spb || sectors % this.spb) {
      throw new IntegrityStudioError(
        `${what} must be aligned to the ${this.segment.sector_size}-byte encryption sector size (sector ${sector}, ${sectors} sectors)`,
      );
    }
    if (sector + sectors > this.sectors)
      throw new IntegrityStudioError(`${what} ends at sector ${sector + sectors}, past the end of the volume (${this.sectors} sectors)`);
  }

  /**
   * Decrypts and authenticates `sectors` 512-byte sectors from `sector` into out[outOffset..] (null: verify only).
   * A failing encryption sector goes to onBad (its bytes in `out` are zeros, never plaintext); without onBad the
   * first one throws an AeadError. Returns the number of failing encryption sectors.
   */
  read(sector: number, sectors: number, out: Buffer | null, outOffset = 0, onBad?: (sector: number) => void): number {
    this.checkRange(sector, sectors, 'read');
    const t = this.integrity.target;
    const ts = this.cipher.tupleSize;
    const bs = this.segment.sector_size;
    let bad = 0;
    for (let done = 0; done < sectors; ) {
      const s = sector + done;
      const n = Math.min(sectors - done, CHUNK_SECTORS);
      t.readRaw(s, n, this.chunkBuf, 0, this.tupleBuf, 0);
      const dst = out ?? this.plainBuf;
      const dstOff = out ? outOffset + done * SECTOR_SIZE : 0;
      if (out && this.cipher.decryptMany) {
        // the cipher batched over the chunk (authenc: XTS as ECB calls), each sector authenticated
        const nb = n / this.spb;
        const failed = this.cipher.decryptMany(s, this.spb, nb, this.chunkBuf.subarray(0, n * SECTOR_SIZE), this.tupleBuf, out, dstOff);
        this.stats.checked_sectors += nb;
        for (const b of failed) {
          this.stats.failed_sectors++;
          bad++;
          const bsector = s + b * this.spb;
          if (onBad) onBad(bsector);
          else throw new AeadError(bsector, this.path);
        }
        done += n;
        continue;
      }
      for (let b = 0; b < n / this.spb; b++) {
        const bsector = s + b * this.spb;
        const src = this.chunkBuf.subarray(b * bs, (b + 1) * bs);
        // verify only (a scrub): the tag check alone where the mode allows it (authenc's MAC is over the ciphertext)
        const ok =
          !out && this.cipher.authenticate
            ? this.cipher.authenticate(bsector, src, this.tupleBuf, b * ts)
            : this.cipher.decrypt(bsector, src, this.tupleBuf, b * ts, dst, dstOff + b * bs);
        this.stats.checked_sectors++;
        if (ok) continue;
        this.stats.failed_sectors++;
        bad++;
        if (onBad) onBad(bsector);
        else throw new AeadError(bsector, this.path);
      }
      done += n;
    }
    return bad;
  }

  /**
   * Encrypts whole encryption sectors at byte `offset` (each with its IV: a fresh random one, or the one the IV
   * mode computes from the sector) and writes them with their tuples through dm-integrity (its journal by
   * default), as dm-crypt over dm-integrity does.
   */
  write(offset: number, data: Buffer): void {
    const w = this.integrity as WritableVolume;
    if (!this.writable) throw new IntegrityStudioError(`${this.path}: opened read-only`, 'EROFS');
    if (offset % SECTOR_SIZE) throw new IntegrityStudioError(`offset ${offset} is not a multiple of 512`);
    const bs = this.segment.sector_size;
    if (data.length % bs) throw new IntegrityStudioError(`write length ${data.length} is not a multiple of the ${bs}-byte encryption sector size`);
    const sector = offset / SECTOR_SIZE;
    this.checkRange(sector, data.length / SECTOR_SIZE, 'write');
    const ts = this.cipher.tupleSize;
    for (let done = 0; done < data.length; ) {
      const n = Math.min(data.length - done, CHUNK_SECTORS * SECTOR_SIZE);
      const nb = n / bs;
      const s = sector + done / SECTOR_SIZE;
      const c = Buffer.alloc(n);
      const tuples = Buffer.alloc(nb * ts);
      if (this.cipher.encryptMany) this.cipher.encryptMany(s, this.spb, nb, data.subarray(done, done + n), c, tuples);
      else for (let b = 0; b < nb; b++) this.cipher.encrypt(s + b * this.spb, data.subarray(done + b * bs, done + (b + 1) * bs), c, b * bs, tuples, b * ts);
      w.write(done + offset, c, tuples);
      done += n;
    }
  }

  flush(): void {
    if (this.writable) (this.integrity as WritableVolume).flush();
  }

  close(): void {
    this.integrity.close();
  }
}

/**
 * Opens the volume below a LUKS2 header: the dm-integrity superblock at the segment offset (no internal hash, its
 * journal replayed in memory for read-only opens or on disk for writable ones, as the kernel does on activation).
 */
export function openCryptVolume(path: string, segment: CryptSegment, volumeKey: Uint8Array, o: CryptOpenOptions = {}): CryptVolume {
  const readOnly = o.readOnly ?? true;
  return openCryptVolumeOn(FileDevice.open(path, { readOnly }), segment, volumeKey, o, path);
}

/** openCryptVolume over a device the caller opened (takes ownership). */
export function openCryptVolumeOn(dev: BlockDevice, segment: CryptSegment, volumeKey: Uint8Array, o: CryptOpenOptions = {}, path = dev.name): CryptVolume {
  const readOnly = o.readOnly ?? true;
  try {
    if (!segment.integrity)
      throw new IntegrityStudioError(
        `${dev.name}: the LUKS2 segment has no integrity (not an authenticated volume); nothing here to read below dm-crypt`,
        'EUNSUPPORTED',
      );
    if (segment.sector_size !== 512 && segment.sector_size !== 4096 && ![1024, 2048].includes(segment.sector_size)) {
      throw new IntegrityStudioError(`LUKS2 segment sector size ${segment.sector_size} is not valid (512..4096, a power of two)`, 'EFORMAT');
    }
    if (segment.offset % SECTOR_SIZE || segment.offset >= dev.size) {
      throw new IntegrityStudioError(`${dev.name}: the LUKS2 data segment offset ${segment.offset} is not inside the device (${dev.size} bytes)`, 'EFORMAT');
    }
    const size = segment.size === 'dynamic' ? dev.size - segment.offset : segment.size;
    const slice = new SliceDevice(dev, segment.offset, Math.min(size, dev.size - segment.offset));
    const vo = { externalTags: true, mode: o.mode ?? 'journal' } as const;
    const integrity = readOnly ? openVolumeOn(slice, null, path, { ...vo, readOnly: true }) : openWritableOn(slice, null, path, vo);
    try {
      if (integrity.geometry.block_size !== segment.sector_size) {
        throw new IntegrityStudioError(
          `the dm-integrity block size (${integrity.geometry.block_size}) differs from the LUKS2 segment sector size (${segment.sector_size})`,
          'EFORMAT',
        );
      }
      const cipher = sectorCipher(segment.encryption, segment.integrity, volumeKey, integrity.geometry.tag_size, segment.sector_size, {
        ivOffset: segment.iv_tweak,
      });
      return new CryptVolume(path, segment, integrity, cipher);
    } catch (e) {
      integrity.close();
      throw e;
    }
  } catch (e) {
    dev.close();
    throw e;
  }
}

/** The meeting point with engine/luks: its data segment in this layer's terms. */
export function segmentFromLuks(info: Luks2Info): CryptSegment {
  const s = info.dataSegment;
  return {
    offset: s.offset,
    size: s.size,
    iv_tweak: s.ivTweak,
    encryption: s.encryption ?? '',
    sector_size: s.sectorSize ?? 512,
    integrity: s.integrity?.type ?? null,
  };
}

/** Unlocks the LUKS2 header (engine/luks) and opens the authenticated volume below it. */
export async function unlockCryptVolume(
  path: string,
  secret: Luks2Secret,
  o: CryptOpenOptions & { keyslot?: number; onProgress?: UnlockOptions['onProgress'] } = {},
): Promise<{ volume: CryptVolume; info: Luks2Info; keyslot: number }> {
  const { info, volumeKey, keyslot } = await unlockLuks2(path, secret, { keyslot: o.keyslot, onProgress: o.onProgress });
  try {
    return { volume: openCryptVolume(path, segmentFromLuks(info), volumeKey, o), info, keyslot };
  } finally {
    volumeKey.fill(0);
  }
}
