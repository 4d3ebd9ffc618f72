// Opening a volume as `integritysetup open` would: devices, superblock checks, algorithm and keys.
import fs from 'node:fs';
import { FormatError, IntegrityStudioError } from './errors.js';
import { checkSuperblockMac } from './integrity/superblock-io.js';
export { checkSuperblockMac, superblockBytes, writeSuperblock } from './integrity/superblock-io.js';
import { probeSignatures } from './io/probe.js';
import {
  decodeSuperblock,
  SB_FLAG_FIXED_HMAC,
  SB_FLAG_HAVE_JOURNAL_MAC,
  SB_FLAG_RECALCULATING,
  SB_SECTORS,
  SECTOR_SIZE,
  type Superblock,
} from './layout/superblock.js';
import { checkDeviceLimits, geometryOf, type Geometry } from './layout/geometry.js';
import { FileDevice, type BlockDevice } from './io/device.js';
import { alignedBuffer } from './io/aligned.js';
import { createTagHasher, algorithmInfo, type TagHasher, type TagHasherOptions } from './hash/index.js';
import { IntegrityTarget } from './integrity/target.js';
import { overlayJournal, type ReplayPlan } from './integrity/replay.js';
import { SB_FLAG_DIRTY_BITMAP, SB_FLAG_INLINE } from './layout/superblock.js';
import { dirtyRegions } from './integrity/bitmap-mode.js';

import type { VolumeMode } from './api.js';

/** the engine's name for the contract's VolumeMode */
export type JournalMode = VolumeMode;

/** Open-time options, named after integritysetup's. Keys are bytes, never paths, past the CLI. */
export interface VolumeOptions {
  /** --data-device: the data on its own device (the image then holds the superblock, journal and tags) */
  dataDevice?: string;
  /** --integrity (default crc32c; not stored on disk) */
  integrity?: string;
  integrityKey?: Buffer;
  /** --journal-integrity */
  journalIntegrity?: string;
  journalIntegrityKey?: Buffer;
  /** --journal-crypt */
  journalCrypt?: string;
  journalCryptKey?: Buffer;
  /** --integrity-bitmap-mode / --integrity-no-journal */
  mode?: JournalMode;
  allowDiscards?: boolean;
  readOnly?: boolean;
  /** --bitmap-sectors-per-bit (bitmap mode; default 32768) */
  bitmapSectorsPerBit?: number;
  /** --bitmap-flush-time in ms (bitmap mode; default 10000) */
  bitmapFlushTime?: number;
  /**
   * No internal_hash: the tags are opaque bytes supplied and checked by the layer above (dm-crypt's AEAD tuples,
   * engine/crypt). Reads return data and tags unverified (IntegrityTarget.readRaw); writes take the tags.
   */
  externalTags?: boolean;
}

export interface Volume {
  readonly path: string;
  readonly dataPath: string | null;
  readonly meta: BlockDevice;
  readonly data: BlockDevice;
  readonly sb: Superblock;
  readonly geometry: Geometry;
  readonly hasher: TagHasher;
  readonly target: IntegrityTarget;
  readonly options: VolumeOptions;
  /** what the kernel would replay from the journal (read-only opens present it in memory) */
  replay: ReplayPlan | null;
  close(): void;
}

/** the largest key file read whole (keys are at most a few hundred bytes; integritysetup's limit is 4096) */
export const MAX_KEY_FILE = 4096;

export function readKeyFile(file: string, size?: number, what = 'key'): Buffer {
  let key: Buffer;
  // at most the key size (or MAX_KEY_FILE bytes): a key file named /dev/zero or a FIFO must not read forever
  const limit = size ?? MAX_KEY_FILE;
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const st = fs.fstatSync(fd);
    if (st.isDirectory() || st.isFIFO() || st.isSocket()) throw new IntegrityStudioError(`${what} file ${file} is not a regular file`, 'EINVAL');
    const buf = Buffer.alloc(limit + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = fs.readSync(fd, buf, n, buf.length - n, null);
    if (size === undefined && n > MAX_KEY_FILE)
      throw new IntegrityStudioError(
        `${what} file ${file} holds more than ${MAX_KEY_FILE} bytes: not a key file (give the key size to read only its start)`,
        'EINVAL',
      );
    key = buf.subarray(0, n);
  } catch (e) {
    if (e instanceof IntegrityStudioError) throw e;
    throw new IntegrityStudioError(`cannot read ${what} file ${file}: ${(e as Error).message}`, 'ENOENT');
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
  if (size !== undefined) {
    if (key.length < size) throw new IntegrityStudioError(`${what} file ${file} holds ${key.length} bytes, fewer than the key size ${size}`);
    key = key.subarray(0, size);
  }
  if (key.length === 0) throw new IntegrityStudioError(`${what} file ${file} is empty`);
  return key;
}

export function readSuperblock(dev: BlockDevice): Superblock {
  if (dev.size < SB_SECTORS * SECTOR_SIZE) {
    throw new IntegrityStudioError(`${dev.name}: too small to be a dm-integrity device (${dev.size} bytes)`, 'ETRUNC');
  }
  const buf = alignedBuffer(SB_SECTORS * SECTOR_SIZE);
  dev.read(buf, 0);
  try {
    return decodeSuperblock(buf);
  } catch (e) {
    // not ours: say what is there instead (a file system, LUKS, a partition table), as blkid would name it
    if (e instanceof FormatError && /wrong magic/.test(e.message)) {
      let found: ReturnType<typeof probeSignatures> = [];
      try {
        found = probeSignatures(dev);
      } catch {
        /* the magic's own message stands */
      }
      const other = found.filter((s) => s.type !== 'dm-integrity');
      if (other.length)
        throw new FormatError(
          `no dm-integrity superblock: ${dev.name} holds ${[...new Set(other.map((s) => s.description))].join(' and ')}, not a dm-integrity volume`,
        );
    }
    throw e;
  }
}

/** Builds the hasher the kernel would use for this superblock and these options. */
/** The tag hasher's parameters for a volume: algorithm (not on disk), key, the salt under fix_hmac, tag size. */
export function hasherOptionsFor(sb: Superblock, o: VolumeOptions): TagHasherOptions {
  const alg = o.integrity ?? 'crc32c';
  algorithmInfo(alg);
  return {
    algorithm: alg,
    key: o.integrityKey,
    salt: sb.flags & SB_FLAG_FIXED_HMAC ? sb.salt : null,
    tagSize: sb.integrity_tag_size,
  };
}

export function hasherFor(sb: Superblock, o: VolumeOptions): TagHasher {
  if (o.externalTags) return externalTags(sb.integrity_tag_size);
  return createTagHasher(hasherOptionsFor(sb, o));
}

/** The "hasher" of a volume without internal_hash: there is no tag to compute; the layer above supplies them. */
export function externalTags(tagSize: number): TagHasher {
  return {
    algorithm: 'none',
    digestSize: 0,
    tagSize,
    keyed: false,
    external: true,
    native: false,
    tag: refuse,
    tagRun: refuse,
  };
  function refuse(): never {
    throw new IntegrityStudioError('this volume has no internal hash: its tags are supplied by the layer above (dm-crypt), not computed here');
  }
}

/** dm_integrity_ctr's refusals without internal_hash, in its words. */
function checkExternalTags(sb: Superblock, o: VolumeOptions): void {
  if (o.mode === 'bitmap')
    throw new IntegrityStudioError('Bitmap mode can be only used with internal hash (dm-integrity refuses bitmap mode without internal_hash)');
  if (o.allowDiscards)
    throw new IntegrityStudioError('Discard can be only used with internal hash (dm-integrity refuses allow_discards without internal_hash)');
  if (sb.flags & SB_FLAG_RECALCULATING)
    throw new IntegrityStudioError('Recalculate can only be specified with internal_hash (the superblock is recalculating)', 'EFORMAT');
  if (sb.flags & SB_FLAG_DIRTY_BITMAP)
    throw new IntegrityStudioError('the superblock has a dirty bitmap, which dm-integrity without internal_hash never writes', 'EFORMAT');
}

export function openVolume(path: string, o: VolumeOptions & { superblockOnly?: boolean } = {}): Volume {
  const readOnly = o.readOnly ?? true;
  // a superblock-only open reads one sector: allowed beside another process's writer (FileDevice.open)
  const superblockOnly = readOnly && !!o.superblockOnly;
  const meta = FileDevice.open(path, { readOnly, superblockOnly });
  let data: BlockDevice = meta;
  try {
    if (o.dataDevice) data = FileDevice.open(o.dataDevice, { readOnly, superblockOnly });
  } catch (e) {
    meta.close();
    throw e;
  }
  return openVolumeOn(meta, data === meta ? null : data, path, o);
}

/**
 * Opens a volume over devices the caller has opened (memory or fault-injecting devices in tests); `data` is
 * the separate data device or null. Takes ownership: the devices are closed on failure and by close().
 */
export function openVolumeOn(meta: BlockDevice, dataDev: BlockDevice | null, path: string, o: VolumeOptions & { superblockOnly?: boolean } = {}): Volume {
  const readOnly = o.readOnly ?? true;
  const data: BlockDevice = dataDev ?? meta;
  if (dataDev && !o.dataDevice) o = { ...o, dataDevice: dataDev.name };
  try {
    const sb = readSuperblock(meta);
    if (sb.flags & SB_FLAG_INLINE && !o.superblockOnly) throw inlineRefusal(path);
    // dm_integrity_ctr: "Journal mac mismatch"
    if (!o.superblockOnly && !!(sb.flags & SB_FLAG_HAVE_JOURNAL_MAC) !== !!o.journalIntegrity) {
      throw new IntegrityStudioError(
        sb.flags & SB_FLAG_HAVE_JOURNAL_MAC
          ? 'the volume has a journal MAC: give --journal-integrity ALG and --journal-integrity-key-file'
          : 'the volume has no journal MAC, but --journal-integrity was given',
      );
    }
    if (!o.superblockOnly) checkSuperblockMac(meta, sb, o);
    const geometry = geometryOf(sb, !!o.dataDevice);
    try {
      checkDeviceLimits(geometry, meta.size / SECTOR_SIZE, data.size / SECTOR_SIZE);
    } catch (e) {
      // a metadata device opened on its own: interleave 1 and no room for the data
      if (!o.dataDevice && sb.log2_interleave_sectors === 0) {
        throw new IntegrityStudioError(
          `${(e as Error).message}; this looks like the metadata device of a volume with a separate data device: give --data-device`,
        );
      }
      throw e;
    }
    if (o.externalTags && !o.superblockOnly) checkExternalTags(sb, o);
    const hasher = hasherFor(sb, o);
    const target = new IntegrityTarget(sb, geometry, meta, data, hasher);
    const close = () => {
      if (data !== meta) data.close();
      meta.close();
    };
    const vol: Volume = { path, dataPath: o.dataDevice ?? null, meta, data, sb, geometry, hasher, target, options: o, close, replay: null };
    // A read-only open shows the volume as the kernel would after replaying its journal, writing nothing.
    // (A writable open replays on disk instead: integrity/writable.ts.) With a dirty bitmap the journal area
    // holds the bitmap, not a journal.
    if (readOnly && !o.superblockOnly && !(sb.flags & SB_FLAG_DIRTY_BITMAP)) vol.replay = overlayJournal(vol);
    // With a dirty bitmap (an unclean close in bitmap mode) the regions whose bit is set may hold data whose
    // tags were never written: the kernel recalculates them on activation and does not verify them meanwhile.
    if (readOnly && !o.superblockOnly && sb.flags & SB_FLAG_DIRTY_BITMAP) {
      const dirty = dirtyRegions(vol);
      target.uncheckedRegion = (s) => dirty.test(dirty.bitOf(s));
    }
    return vol;
  } catch (e) {
    if (data !== meta) data.close();
    meta.close();
    throw e;
  }
}

/**
 * Inline mode (superblock version 6, SB_FLAG_INLINE; dm-integrity 1.12, Linux 6.11): the tags are not in the
 * image but in the per-sector integrity metadata of the device under it (a blk-integrity profile: NVMe/SCSI
 * with metadata, or a dm-integrity device without internal hash). A file or plain block device does not carry
 * it, so the data cannot be verified here: only the superblock is read.
 */
export function inlineRefusal(path: string): IntegrityStudioError {
  return new IntegrityStudioError(
    `${path} is an inline-mode volume (superblock version 6): its tags live in the device's per-sector integrity metadata, which this image does not carry, so its data cannot be read or verified from this image; dump shows the superblock; when the device under it is a dm-integrity volume without internal hash, \`integrity-studio verify-inline\` on that volume's image checks it; the kernel opens it on the device itself (integritysetup open)`,
    'EINLINE',
  );
}

/** hmac-sha256 → sha256 etc.: the node:crypto digest behind an integritysetup journal-integrity name */
