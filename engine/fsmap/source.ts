// SectorSource adapters: the data a file system on top of the volume sees, read WITHOUT tag verification (a bad
// block's stored bytes may be the very metadata the mapping needs; the answer then says it rests on them).
import { IntegrityStudioError } from '../errors.js';
import { FileDevice, type BlockDevice } from '../io/device.js';
import { SECTOR_SIZE } from '../layout/superblock.js';
import type { Volume } from '../volume.js';
import type { CryptVolume } from '../crypt/volume.js';
import type { SectorRange } from './types.js';
import type { SectorSource } from './sector-source.js';

/** a read's bounds and buffer checked before it is made (`what`: the volume, or the kernel device read through) */
export function checkRead(src: SectorSource, sector: number, count: number, out: Buffer, what = 'volume'): void {
  if (!Number.isSafeInteger(sector) || !Number.isSafeInteger(count) || sector < 0 || count < 0 || sector + count > src.sectors) {
    throw new IntegrityStudioError(`${src.name}: read of sectors [${sector}, ${sector + count}) is outside the ${what} (${src.sectors} sectors)`);
  }
  if (out.length < count * SECTOR_SIZE) throw new IntegrityStudioError(`read buffer too small for ${count} sectors`);
}

/** A plain image or linear device (a file system image; a kernel /dev/mapper device), from byte `offset`. */
export function deviceSource(dev: BlockDevice, offset = 0, name = dev.name): SectorSource {
  const src: SectorSource = {
    name,
    sectors: Math.floor((dev.size - offset) / SECTOR_SIZE),
    read(sector, count, out) {
      checkRead(src, sector, count, out);
      dev.read(out.subarray(0, count * SECTOR_SIZE), offset + sector * SECTOR_SIZE);
      return null;
    },
  };
  return src;
}

/** Opens an image or block device read-only; close() closes it. */
export function openImageSource(path: string): SectorSource & { close(): void } {
  const dev = FileDevice.open(path, { readOnly: true });
  return { ...deviceSource(dev, 0, path), close: () => dev.close() };
}

/**
 * A dm-integrity volume's data as the kernel would present it after replaying its journal, but without
 * verifying tags: IntegrityTarget.readRaw (the unverified read the LUKS2 layer uses), the tags read and ignored.
 */
export function volumeSource(vol: Volume): SectorSource {
  const t = vol.target;
  const spb = vol.geometry.sectors_per_block;
  let tags = Buffer.alloc(0);
  let scratch = Buffer.alloc(0);
  const src: SectorSource = {
    name: vol.path,
    sectors: vol.geometry.provided_data_sectors,
    read(sector, count, out) {
      checkRead(src, sector, count, out);
      if (!count) return null;
      // the target reads whole blocks of its own size
      const first = sector - (sector % spb);
      const end = Math.ceil((sector + count) / spb) * spb;
      const n = end - first;
      if (tags.length < (n / spb) * vol.geometry.tag_size) tags = Buffer.alloc((n / spb) * vol.geometry.tag_size);
      if (first === sector && end === sector + count) {
        t.readRaw(first, n, out, 0, tags, 0);
        return null;
      }
      if (scratch.length < n * SECTOR_SIZE) scratch = Buffer.alloc(n * SECTOR_SIZE);
      t.readRaw(first, n, scratch, 0, tags, 0);
      scratch.copy(out, 0, (sector - first) * SECTOR_SIZE, (sector - first + count) * SECTOR_SIZE);
      return null;
    },
  };
  return src;
}

/**
 * A LUKS2 authenticated volume's plaintext. A sector failing authentication has no plaintext: it is reported
 * unreadable (its bytes are zeros), so a structure there yields "the block holding X is itself damaged".
 */
export function cryptSource(cv: CryptVolume): SectorSource {
  const spb = cv.spb;
  let scratch = Buffer.alloc(0);
  const src: SectorSource = {
    name: cv.path,
    sectors: cv.sectors,
    read(sector, count, out) {
      checkRead(src, sector, count, out);
      if (!count) return null;
      const first = sector - (sector % spb);
      const end = Math.ceil((sector + count) / spb) * spb;
      const n = end - first;
      if (scratch.length < n * SECTOR_SIZE) scratch = Buffer.alloc(n * SECTOR_SIZE);
      const bad: SectorRange[] = [];
      cv.read(first, n, scratch, 0, (s) => {
        const a = Math.max(s, sector);
        const b = Math.min(s + spb, sector + count);
        if (a < b) bad.push([a, b]);
      });
      scratch.copy(out, 0, (sector - first) * SECTOR_SIZE, (sector - first + count) * SECTOR_SIZE);
      return bad.length ? bad : null;
    },
  };
  return src;
}

/** A source over a buffer (tests). */
export function bufferSource(buf: Buffer, name = 'memory'): SectorSource {
  const src: SectorSource = {
    name,
    sectors: Math.floor(buf.length / SECTOR_SIZE),
    read(sector, count, out) {
      checkRead(src, sector, count, out);
      buf.copy(out, 0, sector * SECTOR_SIZE, (sector + count) * SECTOR_SIZE);
      return null;
    },
  };
  return src;
}
