// Inline mode (superblock v6, SB_FLAG_INLINE) read through the device under it, when that device is itself a
// dm-integrity volume without internal hash (mode D, the device with per-sector metadata that inline mode can
// use in the kernel; T10-DIF profiles such as scsi_debug's are refused: "Integrity profile not supported").
// The lower volume's data holds the inline superblock at sector 0 and the inline data from sector 8 on
// (SB_SECTORS, no journal); each inline block's tag is the first tag_size bytes of the lower volume's tag for
// the same block (the bio integrity payload, dm_integrity_map_inline). Tags follow the usual rule
// (integrity_sector_checksum: [salt under fix_hmac] ‖ le64(inline logical sector) ‖ block).
import { IntegrityStudioError } from '../errors.js';
import { decodeSuperblock, SB_FLAG_INLINE, SECTOR_SIZE, type Superblock } from '../layout/superblock.js';
import { hasherFor, openVolume, type VolumeOptions } from '../volume.js';

const SB_SECTORS = 8;
const RUN_BLOCKS = 2048;

export interface InlineVerifyResult {
  superblock: Superblock;
  /** the inline volume's size, in 512-byte sectors */
  provided_data_sectors: number;
  block_size: number;
  checked_blocks: number;
  bad_blocks: number;
  /** [first, end) in the inline volume's sectors */
  bad_ranges: Array<[number, number]>;
}

/**
 * Verifies every block of the inline volume stacked on the dm-integrity image `lowerPath` (opened read-only with
 * external tags: its tags are the inline volume's). `out`, when given, receives the inline volume's data.
 */
export function verifyInlineStack(
  lowerPath: string,
  o: Pick<VolumeOptions, 'integrity' | 'integrityKey'> = {},
  out?: (sector: number, data: Buffer) => void,
): InlineVerifyResult {
  const lower = openVolume(lowerPath, { externalTags: true, readOnly: true, mode: 'direct' });
  try {
    const lt = lower.target;
    const lspb = lower.geometry.sectors_per_block;
    const sbBuf = Buffer.alloc(SB_SECTORS * SECTOR_SIZE);
    lt.readRaw(0, SB_SECTORS, sbBuf, 0, Buffer.alloc((SB_SECTORS / lspb) * lower.geometry.tag_size), 0);
    let sb: Superblock;
    try {
      sb = decodeSuperblock(sbBuf);
    } catch (e) {
      throw new IntegrityStudioError(`${lowerPath}: the volume on it holds no dm-integrity superblock (${(e as Error).message})`, 'EFORMAT');
    }
    if (!(sb.flags & SB_FLAG_INLINE))
      throw new IntegrityStudioError(`${lowerPath}: the volume on it is not in inline mode (superblock version ${sb.version})`, 'EFORMAT');
    const spb = 1 << sb.log2_sectors_per_block;
    if (spb !== lspb)
      throw new IntegrityStudioError(
        `the inline volume's ${spb * SECTOR_SIZE}-byte blocks differ from the ${lspb * SECTOR_SIZE}-byte blocks of the device under it`,
      );
    if (sb.integrity_tag_size > lower.geometry.tag_size)
      throw new IntegrityStudioError(
        `the inline volume's ${sb.integrity_tag_size}-byte tags do not fit the ${lower.geometry.tag_size} bytes of metadata per block under it`,
      );
    const P = sb.provided_data_sectors;
    if (SB_SECTORS + P > lower.geometry.provided_data_sectors)
      throw new IntegrityStudioError(`the inline volume (${P} sectors) is larger than the device under it`);
    const hasher = hasherFor(sb, o);
    const bs = spb * SECTOR_SIZE,
      lts = lower.geometry.tag_size,
      ts = sb.integrity_tag_size;
    const r: InlineVerifyResult = { superblock: sb, provided_data_sectors: P, block_size: bs, checked_blocks: 0, bad_blocks: 0, bad_ranges: [] };
    const data = Buffer.alloc(RUN_BLOCKS * bs),
      tags = Buffer.alloc(RUN_BLOCKS * lts),
      want = Buffer.alloc(ts);
    for (let s = 0; s < P; ) {
      const n = Math.min(RUN_BLOCKS * spb, P - s);
      lt.readRaw(SB_SECTORS + s, n, data, 0, tags, 0);
      for (let b = 0; b < n / spb; b++) {
        const sector = s + b * spb;
        hasher.tag(sector, data.subarray(b * bs, (b + 1) * bs), want, 0);
        r.checked_blocks++;
        if (!want.equals(tags.subarray(b * lts, b * lts + ts))) {
          r.bad_blocks++;
          const last = r.bad_ranges.at(-1);
          if (last && last[1] === sector) last[1] = sector + spb;
          else r.bad_ranges.push([sector, sector + spb]);
        }
      }
      out?.(s, data.subarray(0, n * SECTOR_SIZE));
      s += n;
    }
    return r;
  } finally {
    lower.close();
  }
}
