// resize: grow or shrink a volume on an image, leaving on disk what `integritysetup resize` and the kernel leave
// (checked in the VM against 6.1, 6.12 and 7.2: tools/probes/kernels/*.oracle.test.ts).
//
// What the kernel does (dm_integrity_ctr + dm_integrity_resume): provided_data_sectors follows the size of the
// device under the target — get_provided_data_sectors() (the greedy fit of an interleaved layout, or the data
// device's size rounded to the block with a separate metadata device) — and resume writes it to the superblock.
// After growing, integritysetup either wipes the new area through the target (--wipe: zeros with valid tags) or
// reloads with "recalculate" (the superblock ends recalculating, recalc_sector = provided_data_sectors, every
// new tag computed). A smaller device is refused while active ("Device … is too small"), and `resize --size`
// smaller only shortens the dm mapping: the superblock keeps its size. Offline the image is the device, so a
// shrink here truncates it and records the smaller size (a deliberate difference: the kernel opens the result).
import fs from 'node:fs';
import { IntegrityStudioError } from '../errors.js';
import { encodeSuperblock, SB_FLAG_HAVE_JOURNAL_MAC, SB_FLAG_FIXED_HMAC, SB_FLAG_RECALCULATING, SECTOR_SIZE, type Superblock } from '../layout/superblock.js';
import { checkDeviceLimits, computeGeometry, providedDataSectors } from '../layout/geometry.js';
import { openVolume, superblockBytes, type VolumeOptions } from '../volume.js';
import { openWritable } from '../integrity/writable.js';
import { wipeRange } from './wipe.js';
import { algorithmInfo } from '../hash/index.js';

export interface ResizeOptions extends VolumeOptions {
  dataDevice?: string;
  /** the wanted provided_data_sectors (--size, or --device-size / 512); undefined: fit the device as it is */
  sizeSectors?: number;
  /** --wipe: zero the new area with valid tags; otherwise it is marked for recalculation */
  wipe?: boolean;
  /** told of the wipe's progress (sectors done of the new area, and its size) */
  onWipeProgress?: (done: number, total: number) => void;
}

export interface ResizeResult {
  old_provided_data_sectors: number;
  new_provided_data_sectors: number;
  /** bytes of the file that holds the data (the image, or the data device) after the resize */
  device_bytes: number;
  action: 'grow' | 'shrink' | 'none';
  /** the grown area [from, to) in sectors, and what was done with it */
  new_area: { from: number; to: number; how: 'wiped' | 'recalculate' } | null;
  /** set when the superblock now asks for a recalculation (run `recalc`, or open it in the kernel) */
  recalc_sector: number | null;
}

function isRegular(p: string): boolean {
  return fs.statSync(p).isFile();
}

/** The keyed-hash rule of a recalculation (dm_integrity_ctr "Recalculate can only be specified with journal_mac"). */
function recalcAllowed(sb: Superblock, o: ResizeOptions): boolean {
  const keyed = algorithmInfo(o.integrity ?? 'crc32c').keyed;
  return sb.flags & SB_FLAG_FIXED_HMAC ? !keyed || !!(sb.flags & SB_FLAG_HAVE_JOURNAL_MAC) : !keyed;
}

export function resizeVolume(path: string, o: ResizeOptions): ResizeResult {
  // A writable open first: it replays the journal (or recovers a dirty bitmap) as the kernel's activation does,
  // and a clean close leaves the journal initialised, so nothing in flight refers to sectors we move.
  const w = openWritable(path, o);
  const sb = { ...w.sb, salt: Buffer.from(w.sb.salt) };
  const metaDev = !!o.dataDevice;
  w.close();

  const oldP = sb.provided_data_sectors;
  const dataFile = o.dataDevice ?? path;
  const spb = 1 << sb.log2_sectors_per_block;
  const params = {
    tag_size: sb.integrity_tag_size,
    log2_sectors_per_block: sb.log2_sectors_per_block,
    log2_interleave_sectors: sb.log2_interleave_sectors,
    journal_sections: sb.journal_sections,
    flags: sb.flags,
    meta_dev: metaDev,
  };
  const curBytes = fs.statSync(dataFile).size;
  if (o.sizeSectors !== undefined) {
    if (o.sizeSectors <= 0 || o.sizeSectors % spb)
      throw new IntegrityStudioError(`--size ${o.sizeSectors} must be a positive multiple of the ${spb * SECTOR_SIZE}-byte sector size (in 512-byte sectors)`);
  }
  // the device size that provides exactly the wanted sectors (calculate_device_limits), or the device as it is
  let newBytes = curBytes;
  if (o.sizeSectors !== undefined) {
    const g = computeGeometry({ ...params, provided_data_sectors: o.sizeSectors });
    newBytes = (metaDev ? o.sizeSectors : g.data_device_sectors_needed) * SECTOR_SIZE;
    if (!isRegular(dataFile) && newBytes !== curBytes) {
      throw new IntegrityStudioError(
        `${dataFile} is a block device: its size is fixed here; resize the device itself (lvresize, …) and run resize without --size`,
      );
    }
  }
  const newP = providedDataSectors(params, newBytes / SECTOR_SIZE, newBytes / SECTOR_SIZE);
  if (newP <= 0) throw new IntegrityStudioError(`${newBytes} bytes leave no room for data after the superblock and journal`);
  const newG = computeGeometry({ ...params, provided_data_sectors: newP });
  const metaBytes = metaDev ? fs.statSync(path).size : newBytes;
  checkDeviceLimits(newG, metaBytes / SECTOR_SIZE, newBytes / SECTOR_SIZE);
  const grow = newP > oldP;
  if (grow && !o.wipe && !recalcAllowed(sb, o)) {
    // integritysetup: "Setting recalculate flag is not supported, you may consider using --wipe instead."
    throw new IntegrityStudioError(
      'the kernel refuses to recalculate a keyed hash without a journal MAC (an attacker could forge tags while it runs): grow it with --wipe instead',
    );
  }
  if (newP === oldP) {
    return {
      old_provided_data_sectors: oldP,
      new_provided_data_sectors: oldP,
      device_bytes: curBytes,
      action: 'none',
      new_area: null,
      recalc_sector: sb.flags & SB_FLAG_RECALCULATING ? sb.recalc_sector : null,
    };
  }

  // 1. the device: grown first (sparse), shrunk last
  if (grow && newBytes > curBytes) fs.truncateSync(dataFile, newBytes);
  // 2. the superblock (dm_integrity_resume: provided_data_sectors; a recalc position past the end comes back to it)
  sb.provided_data_sectors = newP;
  if (sb.flags & SB_FLAG_RECALCULATING && sb.recalc_sector > newP) sb.recalc_sector = newP;
  if (grow && !o.wipe) {
    // integritysetup reloads with "recalculate": from the old end (or an earlier unfinished position)
    const from = sb.flags & SB_FLAG_RECALCULATING ? Math.min(sb.recalc_sector, oldP) : oldP;
    sb.flags |= SB_FLAG_RECALCULATING;
    sb.recalc_sector = from;
  }
  writeSb(path, sb, o);
  // 3. the new area
  let how: 'wiped' | 'recalculate' | null = null;
  if (grow && o.wipe) {
    const vol = openVolume(path, { ...o, readOnly: false, superblockOnly: false });
    try {
      wipeRange(vol.target, { from: oldP, to: newP, onProgress: o.onWipeProgress });
    } finally {
      vol.close();
    }
    how = 'wiped';
    // an unfinished recalculation that had reached the old end has nothing left to do in the wiped area
    if (sb.flags & SB_FLAG_RECALCULATING && sb.recalc_sector >= oldP) {
      sb.recalc_sector = newP;
      writeSb(path, sb, o);
    }
  } else if (grow) how = 'recalculate';
  // a device larger than the layout would make the kernel's next activation take the rest too (dm_integrity_resume
  // writes the size of the device), without recalculating it: the image ends where the volume ends
  if (newBytes < curBytes) fs.truncateSync(dataFile, newBytes);
  return {
    old_provided_data_sectors: oldP,
    new_provided_data_sectors: newP,
    device_bytes: newBytes,
    action: grow ? 'grow' : 'shrink',
    new_area: grow ? { from: oldP, to: newP, how: how! } : null,
    recalc_sector: sb.flags & SB_FLAG_RECALCULATING ? sb.recalc_sector : null,
  };
}

/** The provided sectors a device of `deviceBytes` gives this layout (get_provided_data_sectors). */
export function resizeFit(sb: Superblock, metaDev: boolean, deviceBytes: number): number {
  const n = Math.floor(deviceBytes / SECTOR_SIZE);
  return providedDataSectors(
    {
      tag_size: sb.integrity_tag_size,
      log2_sectors_per_block: sb.log2_sectors_per_block,
      log2_interleave_sectors: sb.log2_interleave_sectors,
      journal_sections: sb.journal_sections,
      flags: sb.flags,
      meta_dev: metaDev,
    },
    n,
    n,
  );
}

/** Whether growing without --wipe is allowed (the kernel's recalculation rule for keyed hashes). */
export function resizeRecalcAllowed(sb: Superblock, integrity: string | undefined): boolean {
  return recalcAllowed(sb, { integrity });
}

function writeSb(path: string, sb: Superblock, o: ResizeOptions): void {
  const buf = sb.flags & SB_FLAG_HAVE_JOURNAL_MAC ? superblockBytes(sb, o) : encodeSuperblock(sb);
  const fd = fs.openSync(path, 'r+');
  try {
    fs.writeSync(fd, buf, 0, buf.length, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
