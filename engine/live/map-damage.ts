// What a live scrub's bad blocks hold (issue 20 for kernel-active volumes). The file system is read through the very
// device the scrub read (/dev/mapper/NAME, or the dm-crypt device above a LUKS2 `_dif`), as the mounted file system
// sees it, by engine/fsmap. Through the kernel a bad block cannot be read at all (EILSEQ: the kernel refuses data
// whose tag does not match; EIO: the disk failed): such a block is "not available" to the mapper, which then names
// a structure stored there as unreadable instead of guessing from its bytes. Reads are buffered: ext4 and XFS keep
// their metadata in the block device's own page cache, so what is read is what the mounted file system has written
// back. The result says it may be stale while the file system is mounted (it may be writing as we read).
import fs from 'node:fs';
import { IntegrityStudioError } from '../errors.js';
import { mapBadSectors } from '../fsmap/index.js';
import { checkRead } from '../fsmap/source.js';
import type { SectorSource } from '../fsmap/sector-source.js';
import type { FsMapOptions, FsMapResult, SectorRange } from '../fsmap/types.js';
import { readLiveScrubState } from './scrub-state.js';

const SECTOR = 512;

type ReadAt = (fd: number, buf: Buffer, pos: number) => number;
const readAt: ReadAt = (fd, buf, pos) => fs.readSync(fd, buf, 0, buf.length, pos);

/** a read the kernel refused for this block's integrity (EILSEQ) or could not do (EIO) */
function unreadable(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'EILSEQ' || code === 'EIO';
}

/**
 * A kernel device of `sectors` 512-byte sectors as a SectorSource: a read that fails with EILSEQ or EIO is narrowed to the sectors that fail
 * (their bytes are zeros and they are returned as not available); any other error is thrown.
 */
export function kernelDeviceSource(device: string, sectors: number, opts: { read?: ReadAt } = {}): SectorSource & { close(): void } {
  const read = opts.read ?? readAt;
  let fd: number;
  try {
    fd = fs.openSync(device, fs.constants.O_RDONLY);
  } catch (e) {
    throw new IntegrityStudioError(
      `cannot open ${device} to read its file system: ${(e as Error).message}`,
      (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'ENOENT' : 'EACCES',
    );
  }
  const fill = (buf: Buffer, pos: number): void => {
    let done = 0;
    while (done < buf.length) {
      const n = read(fd, buf.subarray(done), pos + done);
      if (n <= 0) throw new IntegrityStudioError(`${device}: the device ended at byte ${pos + done} (short read)`, 'EIO');
      done += n;
    }
  };
  const src: SectorSource & { close(): void } = {
    name: device,
    sectors,
    read(sector, count, out) {
      checkRead(src, sector, count, out, 'device');
      const buf = out.subarray(0, count * SECTOR);
      try {
        fill(buf, sector * SECTOR);
        return null;
      } catch (e) {
        if (!unreadable(e)) throw e;
      }
      // narrow the failing read down to its sectors
      const missing: Array<[number, number]> = [];
      for (let s = 0; s < count; s++) {
        const one = buf.subarray(s * SECTOR, (s + 1) * SECTOR);
        try {
          fill(one, (sector + s) * SECTOR);
        } catch (e) {
          if (!unreadable(e)) throw e;
          one.fill(0);
          const last = missing[missing.length - 1];
          if (last && last[1] === sector + s) last[1]++;
          else missing.push([sector + s, sector + s + 1]);
        }
      }
      return missing.length ? missing : null;
    },
    close: () => fs.closeSync(fd),
  };
  return src;
}

export interface LiveDamageMap {
  name: string;
  /** the device read (the one the scrub read) */
  device: string;
  /** when the scrub's findings were saved */
  scrub_updated: string | null;
  result: FsMapResult;
}

/**
 * Maps the bad blocks and read errors a live scrub of `name` has saved (its state file) through the device it read.
 * `mounted`: the file system is in use (the answer then says it may be stale).
 */
export function mapLiveDamage(name: string, opts: FsMapOptions & { read?: ReadAt } = {}): LiveDamageMap {
  const st = readLiveScrubState(name);
  if (!st) throw new IntegrityStudioError(`no live scrub of ${name} has run here, so no damage is known: start one first`, 'ENOENT');
  const bad: SectorRange[] = [...st.bad_ranges, ...st.read_error_ranges].map(([a, b]) => [a, b]);
  const { read, ...fsOpts } = opts;
  // the scrub measured the device it read: its size is the file system's
  const src = kernelDeviceSource(st.device, st.total_sectors, read ? { read } : {});
  try {
    return { name, device: st.device, scrub_updated: st.updated ?? null, result: mapBadSectors(src, bad, fsOpts) };
  } finally {
    src.close();
  }
}
