// The superblock of a live volume, read from the device under the dm target with O_DIRECT: dm-integrity writes it
// with dm_io straight to that device, so a buffered read can return a page cached before (seen in the 6.1 guest:
// a buffered read kept recalc_sector 0 while the kernel had persisted 491520). The position the kernel persists
// (every RECALC_WRITE_SUPER chunks and at suspend) is what survives a crash or a close.
import fs from 'node:fs';
import { alignedBuffer } from '../io/aligned.js';
import { errnoCode, IntegrityStudioError } from '../errors.js';
import { decodeSuperblock, flagNames, SB_FLAG_DIRTY_BITMAP, SB_FLAG_RECALCULATING, SECTOR_SIZE, SB_SECTORS } from '../layout/superblock.js';
import { volumeIdOf } from '../jobs/state.js';

export interface LiveSuperblock {
  version: number;
  flags: number;
  flag_names: string[];
  provided_data_sectors: number;
  recalculating: boolean;
  /** persisted position (meaningful while recalculating) */
  recalc_sector: number;
  dirty_bitmap: boolean;
  integrity_tag_size: number;
  log2_sectors_per_block: number;
  log2_blocks_per_bitmap_bit: number;
  journal_sections: number;
  /** salt and provided_data_sectors, as the offline state files name a volume (engine/jobs/state.ts volumeIdOf) */
  volume_id: string;
}

const ALIGN = 4096;

/** Reads the 4 KiB superblock area at `offsetSectors` of `device` with O_DIRECT (aligned to 4 KiB both ways). */
export function readSuperblockDirect(device: string, offsetSectors: number): LiveSuperblock {
  const byte = offsetSectors * SECTOR_SIZE;
  const start = Math.floor(byte / ALIGN) * ALIGN;
  const len = Math.ceil((byte - start + SB_SECTORS * SECTOR_SIZE) / ALIGN) * ALIGN;
  const buf = alignedBuffer(len);
  let fd: number;
  try {
    fd = fs.openSync(device, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
  } catch (e) {
    throw new IntegrityStudioError(`cannot open ${device} to read its superblock: ${(e as Error).message}`, errnoCode(e));
  }
  try {
    const n = fs.readSync(fd, buf, 0, len, start);
    if (n < byte - start + SECTOR_SIZE) throw new IntegrityStudioError(`${device}: short read of the superblock`, 'EIO');
  } catch (e) {
    if (e instanceof IntegrityStudioError) throw e;
    throw new IntegrityStudioError(`cannot read the superblock of ${device}: ${(e as Error).message}`, errnoCode(e));
  } finally {
    fs.closeSync(fd);
  }
  const sb = decodeSuperblock(Buffer.from(buf.subarray(byte - start, byte - start + SB_SECTORS * SECTOR_SIZE)));
  return {
    version: sb.version,
    flags: sb.flags,
    flag_names: flagNames(sb.flags),
    provided_data_sectors: sb.provided_data_sectors,
    recalculating: !!(sb.flags & SB_FLAG_RECALCULATING),
    recalc_sector: sb.recalc_sector,
    dirty_bitmap: !!(sb.flags & SB_FLAG_DIRTY_BITMAP),
    integrity_tag_size: sb.integrity_tag_size,
    log2_sectors_per_block: sb.log2_sectors_per_block,
    log2_blocks_per_bitmap_bit: sb.log2_blocks_per_bitmap_bit,
    journal_sections: sb.journal_sections,
    volume_id: volumeIdOf(sb),
  };
}
