// `format` as integritysetup 2.6.1 + the kernel's first activation do it: the superblock the kernel's
// initialize_superblock() writes for the table cryptsetup builds (dm_integrity_ctr defaults, journal sizing,
// get_provided_data_sectors(), the log2_blocks_per_bitmap_bit rule), the journal init_journal(0, N, 0) leaves,
// and integritysetup's wipe (every provided block zeroed with a valid tag, written as the kernel's 'D' mode).
import fs from 'node:fs';
import nodePath from 'node:path';
import crypto from 'node:crypto';
import { formatBytes } from '../units.js';
import { IntegrityStudioError } from '../errors.js';
import {
  SALT_SIZE,
  SB_FLAG_FIXED_HMAC,
  SB_FLAG_FIXED_PADDING,
  SB_FLAG_HAVE_JOURNAL_MAC,
  SB_FLAG_RECALCULATING,
  SB_SECTORS,
  SECTOR_SIZE,
  superblockVersion,
  MIN_LOG2_INTERLEAVE_SECTORS,
  MAX_LOG2_INTERLEAVE_SECTORS,
  type Superblock,
} from '../layout/superblock.js';
import {
  computeGeometry,
  journalGeometry,
  providedDataSectors,
  DEFAULT_INTERLEAVE_SECTORS,
  DEFAULT_JOURNAL_SIZE_FACTOR,
  DEFAULT_MAX_JOURNAL_SECTORS,
  DEFAULT_BUFFER_SECTORS,
  MAX_TAG_SIZE,
  type Geometry,
  type LayoutParams,
} from '../layout/geometry.js';
import { algorithmInfo, createTagHasher } from '../hash/index.js';
import { FileDevice, type BlockDevice } from '../io/device.js';
import { probeSignatures, describeSignatures, type Signature } from '../io/probe.js';
import { IntegrityTarget } from '../integrity/target.js';
import { initJournal, sectionSealer } from '../integrity/replay.js';
import { superblockBytes, type JournalMode, type Volume, type VolumeOptions } from '../volume.js';
import { wipeRange } from './wipe.js';

/** The kernel's MAX_TAG_SIZE: 255 on 6.1 ("Too big tag size" for 256, verified in the oracle VM); newer kernels allow 424 */
export const KERNEL_MAX_TAG_SIZE = MAX_TAG_SIZE;
/** DEFAULT_SECTORS_PER_BITMAP_BIT */
export const DEFAULT_SECTORS_PER_BITMAP_BIT = 32768;

/** integritysetup format options (names as in FormatOptions of the project contract). Keys are bytes. */
export interface FormatOptions {
  /** --integrity (default crc32c) */
  integrity?: string;
  integrityKey?: Buffer;
  /** --tag-size (default: the algorithm's output size, as INTEGRITY_hash_tag_size) */
  tagSize?: number;
  /** --sector-size 512..4096, a power of two (default 512) */
  sectorSize?: number;
  /** --journal-size in bytes (default: the kernel's, min(131072 sectors, data device / 128)) */
  journalSize?: number;
  /** --interleave-sectors (default 32768; ignored with a data device, as by the kernel) */
  interleaveSectors?: number;
  /** --buffer-sectors (only affects how the kernel fits the journal on a separate metadata device) */
  bufferSectors?: number;
  /** --data-device */
  dataDevice?: string;
  /** --no-wipe */
  noWipe?: boolean;
  /** --integrity-recalculate: the superblock is left recalculating from sector 0 (the kernel then computes every tag) */
  integrityRecalculate?: boolean;
  /** --integrity-legacy-padding: no fix_padding */
  legacyPadding?: boolean;
  /** --integrity-legacy-hmac: no fix_hmac (and no salt) */
  legacyHmac?: boolean;
  journalIntegrity?: string;
  journalIntegrityKey?: Buffer;
  journalCrypt?: string;
  journalCryptKey?: Buffer;
  /** --integrity-bitmap-mode / --integrity-no-journal: an open-time choice; nothing on disk depends on it */
  mode?: JournalMode;
  /** overwrite devices that hold a recognised signature (filesystem, partition table, LUKS, dm-integrity …) */
  force?: boolean;
  /** create `path` as a sparse image file of this many bytes when it does not exist */
  size?: number;
  /** for tests: the salt instead of 16 random bytes */
  salt?: Buffer;
  /**
   * Called once every check has passed and before the first byte is written, with the warning integritysetup
   * shows ("This will overwrite data on … irrevocably."); returning false aborts with nothing written.
   */
  confirm?: (message: string, signatures: Signature[]) => boolean;
  /** called once the superblock and journal are on disk, before the wipe starts */
  onFormatted?: (plan: FormatPlan) => void;
}

export interface FormatPlan {
  superblock: Superblock;
  geometry: Geometry;
  /** the journal_sectors the kernel was given or chose (before rounding down to whole sections) */
  journal_sectors: number;
  log2_buffer_sectors: number;
  tag_size_warning: string | null;
}

export interface FormatResult {
  device: string;
  data_device: string | null;
  created: boolean;
  plan: FormatPlan;
  wiped: boolean;
  wiped_sectors: number;
  signatures_overwritten: Signature[];
  seconds: number;
}

const fls = (v: number) => Math.floor(Math.log2(v)); // __fls for v >= 1

function isPow2(v: number): boolean {
  return Number.isInteger(v) && v > 0 && (v & (v - 1)) === 0;
}

/** Option checks integritysetup / the kernel make, as one clear error each (nothing written yet). */
export function checkFormatOptions(o: FormatOptions): { algorithm: string; tagSize: number; log2SectorsPerBlock: number; tagSizeWarning: string | null } {
  const algorithm = o.integrity ?? 'crc32c';
  const info = algorithmInfo(algorithm);
  if (info.keyed && !o.integrityKey)
    throw new IntegrityStudioError(`--integrity ${algorithm} needs a key: give --integrity-key-file (and --integrity-key-size)`);
  if (!info.keyed && o.integrityKey) throw new IntegrityStudioError(`--integrity ${algorithm} takes no key, but --integrity-key-file was given`);
  let tagSizeWarning: string | null = null;
  let tagSize = info.digestSize;
  if (o.tagSize !== undefined) {
    if (!Number.isInteger(o.tagSize) || o.tagSize < 1 || o.tagSize > KERNEL_MAX_TAG_SIZE) {
      throw new IntegrityStudioError(`invalid --tag-size ${o.tagSize}: it must be 1 to ${KERNEL_MAX_TAG_SIZE} bytes`);
    }
    if (o.tagSize !== info.digestSize) {
      tagSizeWarning = `requested tag size ${o.tagSize} bytes differs from ${algorithm} size output (${info.digestSize} bytes)`;
    }
    tagSize = o.tagSize;
  }
  const sectorSize = o.sectorSize ?? SECTOR_SIZE;
  if (!isPow2(sectorSize) || sectorSize < 512 || sectorSize > 4096) {
    throw new IntegrityStudioError(`invalid --sector-size ${sectorSize}: it must be 512, 1024, 2048 or 4096`);
  }
  if (o.interleaveSectors !== undefined && !o.dataDevice) {
    const il = o.interleaveSectors;
    if (!isPow2(il) || il < 2 ** MIN_LOG2_INTERLEAVE_SECTORS || il > 2 ** MAX_LOG2_INTERLEAVE_SECTORS) {
      throw new IntegrityStudioError(`invalid --interleave-sectors ${il}: it must be a power of two from 8 to 2147483648`);
    }
  }
  if (o.journalSize !== undefined && (!Number.isInteger(o.journalSize) || o.journalSize < 0)) {
    throw new IntegrityStudioError(`invalid --journal-size ${o.journalSize}: a number of bytes`);
  }
  if (o.journalSize !== undefined && o.journalSize / SECTOR_SIZE > 0xffffffff) {
    throw new IntegrityStudioError(`--journal-size ${o.journalSize} is too large`);
  }
  if (o.bufferSectors !== undefined && (!Number.isInteger(o.bufferSectors) || o.bufferSectors < 0)) {
    throw new IntegrityStudioError(`invalid --buffer-sectors ${o.bufferSectors}`);
  }
  if (o.journalIntegrity && !o.journalIntegrityKey) throw new IntegrityStudioError('--journal-integrity needs --journal-integrity-key-file');
  if (o.journalCrypt && !o.journalCryptKey) throw new IntegrityStudioError('--journal-crypt needs --journal-crypt-key-file');
  if (!o.journalIntegrity && o.journalIntegrityKey) throw new IntegrityStudioError('--journal-integrity-key-file given without --journal-integrity');
  if (!o.journalCrypt && o.journalCryptKey) throw new IntegrityStudioError('--journal-crypt-key-file given without --journal-crypt');
  if (o.salt && o.salt.length !== SALT_SIZE) throw new IntegrityStudioError(`salt must be ${SALT_SIZE} bytes`);
  // dm_integrity_disable_recalculate(): the kernel refuses to recalculate keyed tags it could be tricked into
  // computing over attacker data, unless the superblock is protected (fix_hmac + journal MAC)
  if (o.integrityRecalculate) {
    const fixHmac = !o.legacyHmac;
    const insecure = fixHmac ? !!o.integrityKey && !o.journalIntegrityKey : !!o.integrityKey || !!o.journalIntegrityKey;
    if (insecure) {
      throw new IntegrityStudioError(
        fixHmac
          ? `--integrity-recalculate with a keyed --integrity ${algorithm} needs --journal-integrity (the kernel refuses to recalculate HMAC tags otherwise)`
          : '--integrity-recalculate with keys needs fix_hmac: drop --integrity-legacy-hmac (the kernel refuses to recalculate otherwise)',
      );
    }
  }
  return { algorithm, tagSize, log2SectorsPerBlock: fls(sectorSize / SECTOR_SIZE), tagSizeWarning };
}

/**
 * The superblock and geometry the kernel creates for these options on a device of `deviceSectors` 512-byte
 * sectors (the metadata device when `dataDeviceSectors` is given). Throws before anything is written.
 */
export function planFormat(o: FormatOptions, deviceSectors: number, dataDeviceSectors?: number): FormatPlan {
  const c = checkFormatOptions(o);
  const metaDev = dataDeviceSectors !== undefined;
  if (metaDev && !o.dataDevice) o = { ...o, dataDevice: '(data device)' };
  const dataSectors = metaDev ? dataDeviceSectors : deviceSectors;
  // dm_integrity_ctr: journal_sectors (cryptsetup passes journal_size / 512 when given; 0 becomes 1)
  let journalSectors: number;
  if (o.journalSize) journalSectors = Math.max(1, Math.floor(o.journalSize / SECTOR_SIZE));
  else journalSectors = Math.min(DEFAULT_MAX_JOURNAL_SECTORS, Math.floor(dataSectors / 2 ** DEFAULT_JOURNAL_SIZE_FACTOR));
  const bufferSectors = o.bufferSectors || (o.bufferSectors === 0 ? 1 : DEFAULT_BUFFER_SECTORS);
  let log2Buffer = Math.min(fls(bufferSectors), 31 - 9);

  // initialize_superblock()
  let flags = 0;
  if (o.journalIntegrity) flags |= SB_FLAG_HAVE_JOURNAL_MAC;
  const j = journalGeometry(c.tagSize, c.log2SectorsPerBlock, !!o.journalIntegrity);
  if (j.journal_entries_per_sector === 0)
    throw new IntegrityStudioError(
      `tag size ${c.tagSize} is too large for ${SECTOR_SIZE << c.log2SectorsPerBlock}-byte sectors: a journal entry does not fit in a journal sector`,
    );
  let journalSections = Math.floor(journalSectors / j.journal_section_sectors) || 1;
  const salt = Buffer.alloc(SALT_SIZE);
  if (!o.legacyHmac) {
    flags |= SB_FLAG_FIXED_HMAC;
    (o.salt ?? crypto.randomBytes(SALT_SIZE)).copy(salt);
  }
  let log2Interleave = 0;
  let provided: number;
  const tooSmall = (what: string) =>
    new IntegrityStudioError(
      `${what} is too small for dm-integrity with these options (${deviceSectors * SECTOR_SIZE} bytes${metaDev ? `, data device ${dataSectors * SECTOR_SIZE} bytes` : ''}): superblock and journal need ${(SB_SECTORS + journalSections * j.journal_section_sectors + 8) * SECTOR_SIZE} bytes${o.journalSize ? ' (try a smaller --journal-size)' : ''}`,
    );
  const base = (): Omit<LayoutParams, 'provided_data_sectors'> => ({
    tag_size: c.tagSize,
    log2_sectors_per_block: c.log2SectorsPerBlock,
    log2_interleave_sectors: log2Interleave,
    journal_sections: journalSections,
    flags,
    meta_dev: metaDev,
    log2_buffer_sectors: log2Buffer,
  });
  if (!metaDev) {
    if (!o.legacyPadding) flags |= SB_FLAG_FIXED_PADDING;
    const il = o.interleaveSectors || DEFAULT_INTERLEAVE_SECTORS;
    log2Interleave = Math.min(MAX_LOG2_INTERLEAVE_SECTORS, Math.max(MIN_LOG2_INTERLEAVE_SECTORS, fls(il)));
    provided = deviceSectors >= 8 ? providedDataSectors(base(), deviceSectors) : 0;
    if (!provided) {
      const first = computeGeometry({ ...base(), provided_data_sectors: 2 ** Math.max(3, c.log2SectorsPerBlock) });
      if (first.initial_sectors + 8 < deviceSectors) {
        throw new IntegrityStudioError(
          `the device is too small for dm-integrity with these options (${deviceSectors * SECTOR_SIZE} bytes): superblock, journal and the first interleave area's tags (${first.metadata_run * SECTOR_SIZE} bytes for ${2 ** log2Interleave} sectors of ${c.tagSize}-byte tags) need ${first.meta_device_sectors_needed * SECTOR_SIZE} bytes (try a smaller --interleave-sectors)`,
        );
      }
      throw tooSmall('the device');
    }
  } else {
    const spb = 1 << c.log2SectorsPerBlock;
    provided = dataSectors - (dataSectors % spb);
    if (!provided)
      throw new IntegrityStudioError(`the data device is too small (${dataSectors * SECTOR_SIZE} bytes; at least one ${spb * SECTOR_SIZE}-byte block)`);
    const wanted = journalSections;
    for (;;) {
      // the largest journal_sections <= wanted that fits, bit by bit from the top (try_smaller_buffer loop)
      let sections = 0;
      for (let bit = fls(wanted); bit >= 0; bit--) {
        const trial = sections + 2 ** bit;
        if (trial > wanted) continue;
        journalSections = trial;
        if (fitsMeta(base(), provided, deviceSectors)) sections = trial;
      }
      journalSections = sections;
      if (sections) break;
      if (log2Buffer > 3) {
        log2Buffer--;
        continue;
      }
      journalSections = 1;
      throw tooSmall('the metadata device');
    }
  }
  if (o.integrityRecalculate) flags |= SB_FLAG_RECALCULATING;
  const geometry = computeGeometry({ ...base(), provided_data_sectors: provided });
  // dm_integrity_ctr: log2_blocks_per_bitmap_bit (sectors_per_bit is not in the format table: the default)
  let log2SectorsPerBit = Math.max(fls(DEFAULT_SECTORS_PER_BITMAP_BIT), c.log2SectorsPerBlock);
  const bitsInJournal = Math.min(0xffffffff, geometry.journal_section_sectors * journalSections * SECTOR_SIZE * 8);
  while (bitsInJournal < Math.floor((provided + 2 ** log2SectorsPerBit - 1) / 2 ** log2SectorsPerBit)) log2SectorsPerBit++;
  const superblock: Superblock = {
    version: superblockVersion(flags, false, metaDev),
    log2_interleave_sectors: log2Interleave,
    integrity_tag_size: c.tagSize,
    journal_sections: journalSections,
    provided_data_sectors: provided,
    flags,
    log2_sectors_per_block: c.log2SectorsPerBlock,
    log2_blocks_per_bitmap_bit: log2SectorsPerBit - c.log2SectorsPerBlock,
    recalc_sector: 0,
    salt,
  };
  return { superblock, geometry, journal_sectors: journalSectors, log2_buffer_sectors: log2Buffer, tag_size_warning: c.tagSizeWarning };
}

/** calculate_device_limits() for a separate metadata device */
function fitsMeta(p: Omit<LayoutParams, 'provided_data_sectors'>, provided: number, metaSectors: number): boolean {
  const g = computeGeometry({ ...p, provided_data_sectors: provided });
  if (g.initial_sectors + 8 >= metaSectors || g.initial_sectors > 0xffffffff) return false;
  return g.meta_device_sectors_needed <= metaSectors;
}

/** Parses a size such as 64M, 1G, 4096 (bytes; K/M/G/T are powers of 1024). */
export function parseSize(s: string): number {
  const m = /^(\d+)([KMGT]i?B?|B)?$/i.exec(s.trim());
  if (!m) throw new IntegrityStudioError(`invalid size "${s}": a number of bytes, optionally with K, M, G or T`);
  const unit = (m[2] ?? '').toUpperCase()[0];
  const mul = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : unit === 'T' ? 1024 ** 4 : 1;
  const v = Number(m[1]) * mul;
  if (!Number.isSafeInteger(v)) throw new IntegrityStudioError(`size "${s}" is too large`);
  return v;
}

function pathDir(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i);
}

function openRw(file: string): FileDevice {
  return FileDevice.open(file, { readOnly: false });
}

/**
 * Formats `path` (and `o.dataDevice`) as integritysetup format does. Every check (options, sizes, existing
 * content, confirmation) happens before the first write; a refusal leaves the devices byte for byte unchanged.
 */
/** bytes a wipe of this image file still has to allocate (0 for a block device) */
function unallocatedBytes(file: string): number {
  const st = fs.statSync(file);
  return st.isFile() ? Math.max(0, st.size - st.blocks * 512) : 0;
}

/** Refuses a wipe that the file systems holding these image files cannot take (statfs: free blocks for us). */
export function checkFreeSpace(files: string[]): void {
  for (const f of files) {
    const need = unallocatedBytes(f);
    if (!need) continue;
    const s = fs.statfsSync(nodePath.dirname(fs.realpathSync(f)));
    const free = s.bavail * s.bsize;
    if (need > free) {
      const mib = formatBytes;
      throw new IntegrityStudioError(
        `not enough free space to wipe ${f}: the wipe writes every block, ${mib(need)} of which the file does not hold yet, and its file system has ${mib(free)} free; free some space, choose a smaller size, or format without the wipe (--no-wipe)`,
        'ENOSPC',
        { field: 'size', detail: { path: f, need, free } },
      );
    }
  }
}

export function formatVolume(path: string, o: FormatOptions, onProgress?: (done: number, total: number) => void): FormatResult {
  const t0 = Date.now();
  checkFormatOptions(o);
  let created = false;
  if (!fs.existsSync(path)) {
    const dir = pathDir(path);
    if (!fs.existsSync(dir)) throw new IntegrityStudioError(`folder ${dir} does not exist`, 'ENOENT', { field: 'path', detail: { path, folder: dir } });
    if (o.size === undefined)
      throw new IntegrityStudioError(`${path}: no such file or device (give --size to create a new image file)`, 'ENOENT', { field: 'size', detail: { path } });
    if (/^\/dev\//.test(fs.realpathSync(dir) + '/'))
      throw new IntegrityStudioError(`${path}: no such device (--size creates image files, not device nodes)`, 'ENODEV', { field: 'size', detail: { path } });
    if (o.size < 8 * SECTOR_SIZE || o.size % SECTOR_SIZE)
      throw new IntegrityStudioError(`--size ${o.size} must be a multiple of 512 bytes and at least 4096`, 'EINVAL', {
        field: 'size',
        detail: { size: o.size },
      });
  } else if (o.size !== undefined) {
    throw new IntegrityStudioError(`${path} already exists: --size only creates new image files`, 'EEXIST', { field: 'size', detail: { path } });
  }
  if (o.dataDevice && !fs.existsSync(o.dataDevice))
    throw new IntegrityStudioError(`${o.dataDevice}: no such file or device`, 'ENOENT', { field: 'dataDevice', detail: { path: o.dataDevice } });
  if (o.dataDevice && fs.existsSync(path) && fs.realpathSync(path) === fs.realpathSync(o.dataDevice)) {
    throw new IntegrityStudioError(`--data-device ${o.dataDevice} is the device itself: give a separate data device, or none`, 'EINVAL', {
      field: 'dataDevice',
      detail: { path: o.dataDevice },
    });
  }
  let meta: BlockDevice | null = null;
  let data: BlockDevice | null = null;
  let started = false;
  try {
    if (o.size !== undefined) {
      // plan on the requested size first: an impossible format does not leave a new file behind
      planFormat(o, o.size / SECTOR_SIZE, undefined);
      const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      try {
        fs.ftruncateSync(fd, o.size);
      } finally {
        fs.closeSync(fd);
      }
      created = true;
    }
    meta = openRw(path);
    data = o.dataDevice ? openRw(o.dataDevice) : meta;
    if (meta.size % SECTOR_SIZE) throw new IntegrityStudioError(`${path}: size ${meta.size} is not a multiple of 512 bytes`);
    if (data !== meta && data.size % SECTOR_SIZE) throw new IntegrityStudioError(`${o.dataDevice}: size ${data.size} is not a multiple of 512 bytes`);
    const plan = planFormat(o, Math.floor(meta.size / SECTOR_SIZE), data !== meta ? Math.floor(data.size / SECTOR_SIZE) : undefined);

    // existing content: the metadata device always (its start is overwritten); the data device when wiping
    const found: Signature[] = created ? [] : probeSignatures(meta).map((s) => ({ ...s, device: path }));
    if (data !== meta && !o.noWipe) found.push(...probeSignatures(data).map((s) => ({ ...s, device: o.dataDevice! })));
    if (found.length && !o.force) {
      throw new IntegrityStudioError(`${describeSignatures(found)}; use --force to overwrite it`, 'EEXIST', {
        field: 'force',
        detail: { found: describeSignatures(found) },
      });
    }
    // a wipe writes every block: a sparse image needs the space of every block it has not allocated yet, and a full
    // file system would stop the wipe part way (a half-formatted volume); refuse before the first byte instead
    if (!o.noWipe) checkFreeSpace([path, ...(data !== meta ? [o.dataDevice!] : [])]);
    const volOpts: VolumeOptions = {
      integrity: o.integrity ?? 'crc32c',
      integrityKey: o.integrityKey,
      journalIntegrity: o.journalIntegrity,
      journalIntegrityKey: o.journalIntegrityKey,
      journalCrypt: o.journalCrypt,
      journalCryptKey: o.journalCryptKey,
      mode: o.mode,
      readOnly: false,
    };
    const sb = plan.superblock;
    const hasher = createTagHasher({
      algorithm: volOpts.integrity!,
      key: o.integrityKey,
      salt: sb.flags & SB_FLAG_FIXED_HMAC ? sb.salt : null,
      tagSize: sb.integrity_tag_size,
    });
    const target = new IntegrityTarget(sb, plan.geometry, meta, data, hasher);
    const m = meta;
    const d = data;
    const vol: Volume = {
      path,
      dataPath: o.dataDevice ?? null,
      meta: m,
      data: d,
      sb,
      geometry: plan.geometry,
      hasher,
      target,
      options: volOpts,
      replay: null,
      close: () => {},
    };
    // journal MAC / encryption: fail here, before the first write, if the keys cannot seal a section
    if (o.journalIntegrity || o.journalCrypt) sectionSealer(vol)(Buffer.alloc(plan.geometry.journal_section_sectors * SECTOR_SIZE), 0);
    const message =
      o.dataDevice && !o.noWipe ? `This will overwrite data on ${path} and ${o.dataDevice} irrevocably.` : `This will overwrite data on ${path} irrevocably.`;
    if (o.confirm && !o.confirm(message, found)) throw new IntegrityStudioError('Operation aborted.', 'ECANCELED');

    started = true;
    // tools_wipe_all_signatures(): erase the magic of what was found (the superblock area is zeroed anyway)
    for (const s of found) {
      const dev = s.device === path ? meta : data;
      dev.write(Buffer.alloc(s.length), s.offset);
    }
    // crypt_wipe_device(first 8 sectors), then the kernel: init_journal(0, N, 0), superblock with FUA
    meta.write(Buffer.alloc(SB_SECTORS * SECTOR_SIZE), 0);
    meta.flush();
    initJournal(vol, 0, sb.journal_sections, 0);
    meta.flush();
    meta.write(superblockBytes(sb, volOpts), 0);
    meta.flush();
    o.onFormatted?.(plan);
    let wiped = 0;
    if (!o.noWipe) wiped = wipeRange(target, { onProgress });
    return {
      device: path,
      data_device: o.dataDevice ?? null,
      created,
      plan,
      wiped: !o.noWipe,
      wiped_sectors: wiped,
      signatures_overwritten: found,
      seconds: (Date.now() - t0) / 1000,
    };
  } catch (e) {
    // a new image is removed on any failure (as it was: absent); an existing device keeps what was written
    if (created) {
      meta?.close();
      meta = null;
      fs.rmSync(path, { force: true });
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (started && (code === 'ENOSPC' || code === 'EIO')) {
      const why = code === 'ENOSPC' ? 'no space left on device (the file system holding it is full)' : `an I/O error (${(e as Error).message})`;
      throw new IntegrityStudioError(
        created
          ? `format of ${path} failed: ${why}; the new image was removed, nothing is left behind`
          : `format of ${path} failed part way: ${why}; its start was already overwritten, so it is not a usable volume: free space and format it again`,
        code,
      );
    }
    throw e;
  } finally {
    if (data && data !== meta) data.close();
    meta?.close();
  }
}
